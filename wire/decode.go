package wire

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"time"

	"github.com/tickcast/tickcast/market"
)

// ---- decoding ----

// DecodeTrade decodes a trade JSON object, normalizing its pair and
// validating it.
func DecodeTrade(b []byte) (market.Trade, error) {
	var buf [numTradeKeys + 4]wireField
	fs, err := parseFlatObject(b, buf[:0])
	if err != nil {
		return market.Trade{}, fmt.Errorf("decode trade: %w", err)
	}
	return tradeFromFields(fs)
}

// DecodeTradeCSV decodes a record in TradeCSVHeader order.
func DecodeTradeCSV(rec []string) (market.Trade, error) {
	var buf [numTradeKeys]wireField
	fs, err := csvRecordFields(rec, tradeKeys[:], buf[:0])
	if err != nil {
		return market.Trade{}, fmt.Errorf("decode trade: %w", err)
	}
	return tradeFromFields(fs)
}

// DecodeCandle decodes a candle JSON object and checks its invariants.
func DecodeCandle(b []byte) (market.Candle, error) {
	var buf [numCandleKeys + 4]wireField
	fs, err := parseFlatObject(b, buf[:0])
	if err != nil {
		return market.Candle{}, fmt.Errorf("decode candle: %w", err)
	}
	return candleFromFields(fs)
}

// DecodeCandleCSV decodes a record in CandleCSVHeader order.
func DecodeCandleCSV(rec []string) (market.Candle, error) {
	var buf [numCandleKeys]wireField
	fs, err := csvRecordFields(rec, candleKeys[:], buf[:0])
	if err != nil {
		return market.Candle{}, fmt.Errorf("decode candle: %w", err)
	}
	return candleFromFields(fs)
}

// DecodeFeatureRow decodes a feature row JSON object (null features are
// NaN); it rejects rows of another schema version, whose keys differ.
func DecodeFeatureRow(b []byte) (market.FeatureRow, error) {
	var buf [numFeatureKeys + 4]wireField
	fs, err := parseFlatObject(b, buf[:0])
	if err != nil {
		return market.FeatureRow{}, fmt.Errorf("decode feature row: %w", err)
	}
	return featureRowFromFields(fs)
}

// DecodeFeatureRowCSV decodes a record in FeatureCSVHeader order (empty
// features are NaN).
func DecodeFeatureRowCSV(rec []string) (market.FeatureRow, error) {
	var buf [numFeatureKeys]wireField
	fs, err := csvRecordFields(rec, featureKeys[:], buf[:0])
	if err != nil {
		return market.FeatureRow{}, fmt.Errorf("decode feature row: %w", err)
	}
	return featureRowFromFields(fs)
}

func tradeFromFields(fs []wireField) (market.Trade, error) {
	var t market.Trade
	err := decodeFields(fs, tradeKeys[:], tradeRequired, func(k int, v wireValue) error {
		return setTradeField(&t, k, v)
	})
	if err == nil {
		err = t.Validate()
	}
	if err != nil {
		return market.Trade{}, fmt.Errorf("decode trade: %w", err)
	}
	return t, nil
}

func setTradeField(t *market.Trade, k int, v wireValue) (err error) {
	switch k {
	case tkPair:
		t.Pair, err = v.pair()
	case tkTradeID:
		t.TradeID, err = v.int()
	case tkPrice:
		t.Price, err = v.float()
	case tkQty:
		t.Qty, err = v.float()
	case tkSide:
		err = v.parse(func(s string) (err error) { t.Side, err = parseWireSide(s); return err })
	case tkOrdType:
		err = v.parse(func(s string) (err error) { t.OrdType, err = market.ParseOrdType(s); return err })
	case tkTS:
		t.TS, err = v.time()
		t.TS = t.TS.Truncate(time.Microsecond)
	case tkSource:
		t.Source, err = v.str()
	}
	return err
}

// parseWireSide is ParseSide that also reads "" (how SideUnknown encodes,
// as in the Parquet store) back as SideUnknown, so that every valid trade
// round-trips.
func parseWireSide(s string) (market.Side, error) {
	if s == "" {
		return market.SideUnknown, nil
	}
	return market.ParseSide(s)
}

func candleFromFields(fs []wireField) (market.Candle, error) {
	var c market.Candle
	err := decodeFields(fs, candleKeys[:], candleRequired, func(k int, v wireValue) error {
		return setCandleField(&c, k, v)
	})
	if err == nil {
		err = checkCandle(c)
	}
	if err != nil {
		return market.Candle{}, fmt.Errorf("decode candle: %w", err)
	}
	return c, nil
}

func setCandleField(c *market.Candle, k int, v wireValue) (err error) {
	switch k {
	case ckPair:
		c.Pair, err = v.pair()
	case ckStart:
		c.Start, err = v.time()
	case ckEnd:
		c.End, err = v.time()
	case ckOpen:
		c.Open, err = v.float()
	case ckHigh:
		c.High, err = v.float()
	case ckLow:
		c.Low, err = v.float()
	case ckClose:
		c.Close, err = v.float()
	case ckVolume:
		c.Volume, err = v.float()
	case ckVWAP:
		c.VWAP, err = v.float()
	case ckTrades:
		c.Trades, err = v.int()
	case ckBuyVolume:
		c.BuyVolume, err = v.float()
	case ckSellVolume:
		c.SellVolume, err = v.float()
	case ckFirstTradeID:
		c.FirstTradeID, err = v.int()
	case ckLastTradeID:
		c.LastTradeID, err = v.int()
	case ckComplete:
		c.Complete, err = v.bool()
	case ckRepaired:
		c.Repaired, err = v.bool()
	case ckRevision:
		c.Revision, err = revision(v)
	}
	return err
}

// checkCandle rejects candles that no aggregation can produce.
func checkCandle(c market.Candle) error {
	prices := c.Open > 0 && c.High > 0 && c.Low > 0 && c.Close > 0 && c.VWAP > 0
	switch {
	case c.Start.IsZero() || !c.End.After(c.Start):
		return fmt.Errorf("window [%v, %v): %w", c.Start, c.End, market.ErrInvalid)
	case !prices:
		return fmt.Errorf("prices must be positive: %w", market.ErrInvalid)
	case c.Low > min(c.Open, c.Close) || c.High < max(c.Open, c.Close):
		return fmt.Errorf("low %v / high %v do not bound open %v / close %v: %w", c.Low, c.High, c.Open, c.Close, market.ErrInvalid)
	case c.Volume < 0 || c.BuyVolume < 0 || c.SellVolume < 0 || c.Trades < 0:
		return fmt.Errorf("negative volume or trades: %w", market.ErrInvalid)
	case c.FirstTradeID < 0 || c.FirstTradeID > c.LastTradeID:
		return fmt.Errorf("trade ids %d..%d: %w", c.FirstTradeID, c.LastTradeID, market.ErrInvalid)
	}
	return nil
}

func featureRowFromFields(fs []wireField) (market.FeatureRow, error) {
	var r market.FeatureRow
	err := decodeFields(fs, featureKeys[:], featureRequired, func(k int, v wireValue) error {
		return setFeatureField(&r, k, v)
	})
	if err == nil {
		err = checkFeatureRow(r)
	}
	if err != nil {
		return market.FeatureRow{}, fmt.Errorf("decode feature row: %w", err)
	}
	return r, nil
}

func setFeatureField(r *market.FeatureRow, k int, v wireValue) (err error) {
	switch k {
	case fkPair:
		r.Pair, err = v.pair()
	case fkTS:
		r.TS, err = v.time()
	case fkSchemaVersion:
		var n int64
		n, err = v.int()
		r.SchemaVersion = int(n)
	case fkWarm:
		r.Warm, err = v.bool()
	case fkClose:
		r.Close, err = v.float()
	case fkComplete:
		r.Complete, err = v.bool()
	case fkRevision:
		r.Revision, err = revision(v)
	default:
		r.Values[k-numFeatureHeadKeys], err = v.floatOrNaN()
	}
	return err
}

// revision reads a non-negative revision number.
func revision(v wireValue) (int, error) {
	n, err := v.int()
	if err == nil && (n < 0 || n > math.MaxInt32) {
		err = fmt.Errorf("revision %d: %w", n, market.ErrInvalid)
	}
	return int(n), err
}

func checkFeatureRow(r market.FeatureRow) error {
	switch {
	case r.SchemaVersion != market.FeatureSchemaVersion:
		return fmt.Errorf("schema_version %d, want %d: %w", r.SchemaVersion, market.FeatureSchemaVersion, market.ErrInvalid)
	case r.TS.IsZero():
		return fmt.Errorf("zero ts: %w", market.ErrInvalid)
	case !(r.Close > 0):
		return fmt.Errorf("close %v: %w", r.Close, market.ErrInvalid)
	}
	return nil
}

// decodeFields calls set once for each field with a known key (unknown keys
// are skipped for forward compatibility) and checks the required ones came.
func decodeFields(fs []wireField, keys []string, required uint64, set func(k int, v wireValue) error) error {
	var seen uint64
	for _, f := range fs {
		k := indexOf(keys, f.key)
		if k < 0 {
			continue
		}
		if seen&(1<<k) != 0 {
			return fmt.Errorf("duplicate key %q: %w", f.key, market.ErrInvalid)
		}
		seen |= 1 << k
		if err := set(k, f.val); err != nil {
			return fmt.Errorf("%s: %w", f.key, err)
		}
	}
	if missing := required &^ seen; missing != 0 {
		return fmt.Errorf("missing key %q: %w", keys[bits.TrailingZeros64(missing)], market.ErrInvalid)
	}
	return nil
}

func indexOf(keys []string, key []byte) int {
	for i, k := range keys {
		if k == string(key) {
			return i
		}
	}
	return -1
}

// ---- values ----

// wireKind is the type of a scalar value: a JSON one or, from CSV, untyped
// text that each field reads as its own type.
type wireKind uint8

const (
	kindString wireKind = iota
	kindNumber
	kindTrue
	kindFalse
	kindNull
	kindCSV
)

// wireValue is a scalar value; raw is the unescaped string, the number text
// or the CSV field.
type wireValue struct {
	kind wireKind
	raw  []byte
}

type wireField struct {
	key []byte
	val wireValue
}

func (v wireValue) str() (string, error) {
	if v.kind != kindString && v.kind != kindCSV {
		return "", fmt.Errorf("want a string: %w", market.ErrInvalid)
	}
	return string(v.raw), nil
}

func (v wireValue) parse(fn func(string) error) error {
	s, err := v.str()
	if err != nil {
		return err
	}
	return fn(s)
}

func (v wireValue) pair() (string, error) {
	s, err := v.str()
	if err != nil {
		return "", err
	}
	return market.NormalizePair(s)
}

// time parses RFC 3339 (any offset, any fraction) into UTC, in years 1..9999
// so that it formats back.
func (v wireValue) time() (time.Time, error) {
	s, err := v.str()
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", err, market.ErrInvalid)
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("time %q: year %d out of range: %w", s, y, market.ErrInvalid)
	}
	return t, nil
}

// number returns the number text, or ok=false for null (an empty CSV field).
func (v wireValue) number() (raw string, ok bool, err error) {
	switch {
	case v.kind == kindNull || (v.kind == kindCSV && len(v.raw) == 0):
		return "", false, nil
	case v.kind == kindNumber || (v.kind == kindCSV && validNumber(v.raw)):
		return string(v.raw), true, nil
	}
	return "", false, fmt.Errorf("want a number: %w", market.ErrInvalid)
}

func (v wireValue) floatOrNaN() (float64, error) {
	raw, ok, err := v.number()
	if err != nil || !ok {
		return math.NaN(), err
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil { // out of range: ±Inf
		return 0, fmt.Errorf("%w: %w", err, market.ErrInvalid)
	}
	return f, nil
}

func (v wireValue) float() (float64, error) {
	f, err := v.floatOrNaN()
	if err == nil && math.IsNaN(f) {
		return 0, fmt.Errorf("want a number, not null: %w", market.ErrInvalid)
	}
	return f, err
}

func (v wireValue) int() (int64, error) {
	raw, ok, err := v.number()
	if err == nil && !ok {
		err = fmt.Errorf("want an integer, not null: %w", market.ErrInvalid)
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer: %w: %w", err, market.ErrInvalid)
	}
	return n, nil
}

func (v wireValue) bool() (bool, error) {
	switch {
	case v.kind == kindTrue || (v.kind == kindCSV && string(v.raw) == "true"):
		return true, nil
	case v.kind == kindFalse || (v.kind == kindCSV && string(v.raw) == "false"):
		return false, nil
	}
	return false, fmt.Errorf("want true or false: %w", market.ErrInvalid)
}

// csvRecordFields pairs the fields of rec with the header's keys.
func csvRecordFields(rec, header []string, fs []wireField) ([]wireField, error) {
	if len(rec) != len(header) {
		return nil, fmt.Errorf("%d fields, want %d: %w", len(rec), len(header), market.ErrInvalid)
	}
	for i, s := range rec {
		fs = append(fs, wireField{key: []byte(header[i]), val: wireValue{kind: kindCSV, raw: []byte(s)}})
	}
	return fs, nil
}

// validNumber reports whether b is a JSON number (strconv would also take
// "Inf", "0x1p3" or "1_0").
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		if j := skipDigits(b, i+1); j > i+1 {
			i = j
		} else {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(b)
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
