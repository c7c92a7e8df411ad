package market

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Wire encodings of trades, candles and feature rows: JSON objects and CSV
// records whose keys/columns are the names of architecture.md "Records", in
// the same order.
//
// Numbers are formatted once for both encodings, as encoding/json and
// JavaScript do: the shortest decimal that parses back to the same float64,
// in plain notation ("10749.4", "0.004") unless |v| < 1e-6 or >= 1e21, which
// use an exponent ("1e-7"). NaN (and ±Inf, which no valid record holds) is
// null in JSON and an empty field in CSV; only feature values may be NaN.
//
// Trade timestamps have exactly 6 fractional digits (µs, the trade
// precision): "2019-07-01T00:00:03.172000Z". Candle and feature times are
// RFC 3339 in UTC with only the fractional digits needed: "2019-07-01T00:01:00Z".
//
// Decoders accept any RFC 3339 offset (converted to UTC), keys in any order,
// and ignore unknown keys whose values are scalars; they reject duplicate
// keys, wrong types and records that break the domain's rules, with errors
// wrapping ErrInvalid. Trade ts is truncated to the microsecond; side "" is
// SideUnknown as ord_type "" is OrdUnknown. Candles and feature rows need
// every key; trades may omit trade_id (0), ord_type ("") and source ("").

const (
	tradeTimeLayout  = "2006-01-02T15:04:05.000000Z07:00"
	recordTimeLayout = time.RFC3339Nano
)

// Trade keys, in wire order.
const (
	tkPair = iota
	tkTradeID
	tkPrice
	tkQty
	tkSide
	tkOrdType
	tkTS
	tkSource
	numTradeKeys
)

// tradeKeys are the trade keys in wire order.
var tradeKeys = [numTradeKeys]string{"pair", "trade_id", "price", "qty", "side", "ord_type", "ts", "source"}

// TradeCSVHeader is the header of trade CSV files: the JSON keys in order.
var TradeCSVHeader = slices.Clone(tradeKeys[:])

// Candle keys, in wire order.
const (
	ckPair = iota
	ckStart
	ckEnd
	ckOpen
	ckHigh
	ckLow
	ckClose
	ckVolume
	ckVWAP
	ckTrades
	ckBuyVolume
	ckSellVolume
	ckFirstTradeID
	ckLastTradeID
	ckComplete
	ckRepaired
	ckRevision
	numCandleKeys
)

// candleKeys are the candle keys in wire order.
var candleKeys = [numCandleKeys]string{
	"pair", "start", "end", "open", "high", "low", "close", "volume", "vwap", "trades",
	"buy_volume", "sell_volume", "first_trade_id", "last_trade_id", "complete", "repaired", "revision",
}

// CandleCSVHeader is the header of candle CSV files: the JSON keys in order.
var CandleCSVHeader = slices.Clone(candleKeys[:])

// Feature row keys before the features, in wire order.
const (
	fkPair = iota
	fkTS
	fkSchemaVersion
	fkWarm
	fkClose
	fkComplete
	fkRevision
	numFeatureHeadKeys
	numFeatureKeys = numFeatureHeadKeys + NumFeatures
)

// featureHeadKeys are the feature row keys before one key per FeatureNames entry.
var featureHeadKeys = [numFeatureHeadKeys]string{"pair", "ts", "schema_version", "warm", "close", "complete", "revision"}

// FeatureCSVHeader returns the header of feature CSV files: the JSON keys in order.
func FeatureCSVHeader() []string {
	keys := featureKeys()
	return keys[:]
}

func featureKeys() (keys [numFeatureKeys]string) {
	copy(keys[:], featureHeadKeys[:])
	copy(keys[numFeatureHeadKeys:], FeatureNames[:])
	return keys
}

// Required keys: trades may omit trade_id, ord_type and source; candles and
// rows written before revisions existed omit revision (and rows complete).
const (
	tradeRequired   = 1<<tkPair | 1<<tkPrice | 1<<tkQty | 1<<tkSide | 1<<tkTS
	candleRequired  = (1<<numCandleKeys - 1) &^ (1 << ckRevision)
	featureRequired = (1<<numFeatureKeys - 1) &^ (1<<fkComplete | 1<<fkRevision)
)

// ---- JSON encoding ----

// AppendJSON appends t as a JSON object.
func (t Trade) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"pair":`...)
	dst = appendJSONString(dst, t.Pair)
	dst = append(dst, `,"trade_id":`...)
	dst = strconv.AppendInt(dst, t.TradeID, 10)
	dst = appendJSONKeyNumber(dst, `,"price":`, t.Price)
	dst = appendJSONKeyNumber(dst, `,"qty":`, t.Qty)
	dst = append(dst, `,"side":"`...)
	dst = append(dst, t.Side.String()...)
	dst = append(dst, `","ord_type":"`...)
	dst = append(dst, t.OrdType.String()...)
	dst = append(dst, `","ts":"`...)
	dst = appendTime(dst, t.TS, true)
	dst = append(dst, `","source":`...)
	dst = appendJSONString(dst, t.Source)
	return append(dst, '}')
}

// AppendJSON appends c as a JSON object.
func (c Candle) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"pair":`...)
	dst = appendJSONString(dst, c.Pair)
	dst = appendJSONKeyTime(dst, `,"start":"`, c.Start)
	dst = appendJSONKeyTime(dst, `,"end":"`, c.End)
	dst = appendJSONKeyNumber(dst, `,"open":`, c.Open)
	dst = appendJSONKeyNumber(dst, `,"high":`, c.High)
	dst = appendJSONKeyNumber(dst, `,"low":`, c.Low)
	dst = appendJSONKeyNumber(dst, `,"close":`, c.Close)
	dst = appendJSONKeyNumber(dst, `,"volume":`, c.Volume)
	dst = appendJSONKeyNumber(dst, `,"vwap":`, c.VWAP)
	dst = append(dst, `,"trades":`...)
	dst = strconv.AppendInt(dst, c.Trades, 10)
	dst = appendJSONKeyNumber(dst, `,"buy_volume":`, c.BuyVolume)
	dst = appendJSONKeyNumber(dst, `,"sell_volume":`, c.SellVolume)
	dst = append(dst, `,"first_trade_id":`...)
	dst = strconv.AppendInt(dst, c.FirstTradeID, 10)
	dst = append(dst, `,"last_trade_id":`...)
	dst = strconv.AppendInt(dst, c.LastTradeID, 10)
	dst = append(dst, `,"complete":`...)
	dst = strconv.AppendBool(dst, c.Complete)
	dst = append(dst, `,"repaired":`...)
	dst = strconv.AppendBool(dst, c.Repaired)
	dst = append(dst, `,"revision":`...)
	dst = strconv.AppendInt(dst, int64(c.Revision), 10)
	return append(dst, '}')
}

// AppendJSON appends r as a JSON object, NaN features as null.
func (r FeatureRow) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"pair":`...)
	dst = appendJSONString(dst, r.Pair)
	dst = appendJSONKeyTime(dst, `,"ts":"`, r.TS)
	dst = append(dst, `,"schema_version":`...)
	dst = strconv.AppendInt(dst, int64(r.SchemaVersion), 10)
	dst = append(dst, `,"warm":`...)
	dst = strconv.AppendBool(dst, r.Warm)
	dst = appendJSONKeyNumber(dst, `,"close":`, r.Close)
	dst = append(dst, `,"complete":`...)
	dst = strconv.AppendBool(dst, r.Complete)
	dst = append(dst, `,"revision":`...)
	dst = strconv.AppendInt(dst, int64(r.Revision), 10)
	for i, v := range r.Values {
		dst = append(dst, ',', '"')
		dst = append(dst, FeatureNames[i]...) // plain ASCII names: no escaping
		dst = append(dst, '"', ':')
		dst = appendJSONNumber(dst, v)
	}
	return append(dst, '}')
}

// appendJSONKeyTime appends key (which ends with the opening quote) and t.
func appendJSONKeyTime(dst []byte, key string, t time.Time) []byte {
	dst = append(dst, key...)
	dst = appendTime(dst, t, false)
	return append(dst, '"')
}

func appendJSONKeyNumber(dst []byte, key string, v float64) []byte {
	return appendJSONNumber(append(dst, key...), v)
}

// appendJSONNumber appends v, or null when v is not finite.
func appendJSONNumber(dst []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	return appendNumber(dst, v)
}

// appendNumber formats a finite v as described in the package codec comment.
func appendNumber(dst []byte, v float64) []byte {
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, v, format, -1, 64)
	if format == 'e' { // e-07 → e-7, as in JavaScript
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendTime appends t in UTC as tradeTimeLayout when micro, else as
// recordTimeLayout: what AppendFormat writes, twice as fast.
func appendTime(dst []byte, t time.Time, micro bool) []byte {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 { // no RFC 3339 form: as AppendFormat does
		layout := recordTimeLayout
		if micro {
			layout = tradeTimeLayout
		}
		return t.AppendFormat(dst, layout)
	}
	dst = appendDateTime(dst, t)
	ns := t.Nanosecond()
	switch {
	case micro:
		dst = appendDigits(append(dst, '.'), ns/1000, 6)
	case ns != 0:
		n := len(dst) + 1
		dst = appendDigits(append(dst, '.'), ns, 9)
		for len(dst) > n && dst[len(dst)-1] == '0' {
			dst = dst[:len(dst)-1]
		}
	}
	return append(dst, 'Z')
}

// appendDateTime appends 2006-01-02T15:04:05.
func appendDateTime(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	dst = appendDigits(dst, y, 4)
	dst = appendDigits(append(dst, '-'), int(mo), 2)
	dst = appendDigits(append(dst, '-'), d, 2)
	dst = appendDigits(append(dst, 'T'), h, 2)
	dst = appendDigits(append(dst, ':'), mi, 2)
	return appendDigits(append(dst, ':'), sec, 2)
}

// appendDigits appends v >= 0 zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var b [9]byte
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:width]...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted, escaping what JSON requires; invalid
// UTF-8 becomes U+FFFD so that the output is always valid JSON.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = appendEscapedByte(append(dst, s[start:i]...), c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendEscapedByte(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// ---- CSV encoding ----

// AppendCSV appends the CSV fields of t, in TradeCSVHeader order.
func (t Trade) AppendCSV(rec []string) []string {
	var f csvBuilder
	f.str(t.Pair)
	f.int(t.TradeID)
	f.num(t.Price)
	f.num(t.Qty)
	f.str(t.Side.String())
	f.str(t.OrdType.String())
	f.time(t.TS, true)
	f.str(t.Source)
	return f.appendTo(rec)
}

// AppendCSV appends the CSV fields of c, in CandleCSVHeader order.
func (c Candle) AppendCSV(rec []string) []string {
	var f csvBuilder
	f.str(c.Pair)
	f.time(c.Start, false)
	f.time(c.End, false)
	for _, v := range [...]float64{c.Open, c.High, c.Low, c.Close, c.Volume, c.VWAP} {
		f.num(v)
	}
	f.int(c.Trades)
	f.num(c.BuyVolume)
	f.num(c.SellVolume)
	f.int(c.FirstTradeID)
	f.int(c.LastTradeID)
	f.bool(c.Complete)
	f.bool(c.Repaired)
	f.int(int64(c.Revision))
	return f.appendTo(rec)
}

// AppendCSV appends the CSV fields of r, in FeatureCSVHeader order, NaN
// features as empty fields.
func (r FeatureRow) AppendCSV(rec []string) []string {
	var f csvBuilder
	f.str(r.Pair)
	f.time(r.TS, false)
	f.int(int64(r.SchemaVersion))
	f.bool(r.Warm)
	f.num(r.Close)
	f.bool(r.Complete)
	f.int(int64(r.Revision))
	for _, v := range r.Values {
		f.num(v)
	}
	return f.appendTo(rec)
}

// csvBuilder writes a record's fields into one buffer so that AppendCSV
// allocates one string per record rather than one per field.
type csvBuilder struct {
	bytes [512]byte
	ends  [numFeatureKeys]int
	buf   []byte
	n     int
}

func (f *csvBuilder) end(b []byte) {
	f.buf = b
	f.ends[f.n] = len(b)
	f.n++
}

func (f *csvBuilder) init() []byte {
	if f.buf == nil {
		f.buf = f.bytes[:0]
	}
	return f.buf
}

func (f *csvBuilder) str(s string)                 { f.end(append(f.init(), s...)) }
func (f *csvBuilder) int(v int64)                  { f.end(strconv.AppendInt(f.init(), v, 10)) }
func (f *csvBuilder) bool(v bool)                  { f.end(strconv.AppendBool(f.init(), v)) }
func (f *csvBuilder) time(t time.Time, micro bool) { f.end(appendTime(f.init(), t, micro)) }

// num writes v, or an empty field when v is not finite.
func (f *csvBuilder) num(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		f.end(f.init())
		return
	}
	f.end(appendNumber(f.init(), v))
}

func (f *csvBuilder) appendTo(rec []string) []string {
	s := string(f.buf)
	start := 0
	for _, e := range f.ends[:f.n] {
		rec = append(rec, s[start:e])
		start = e
	}
	return rec
}

// ---- decoding ----

// DecodeTrade decodes a trade JSON object, normalizing its pair and
// validating it.
func DecodeTrade(b []byte) (Trade, error) {
	var buf [numTradeKeys + 4]wireField
	fs, err := parseFlatObject(b, buf[:0])
	if err != nil {
		return Trade{}, fmt.Errorf("decode trade: %w", err)
	}
	return tradeFromFields(fs)
}

// DecodeTradeCSV decodes a record in TradeCSVHeader order.
func DecodeTradeCSV(rec []string) (Trade, error) {
	var buf [numTradeKeys]wireField
	fs, err := csvRecordFields(rec, tradeKeys[:], buf[:0])
	if err != nil {
		return Trade{}, fmt.Errorf("decode trade: %w", err)
	}
	return tradeFromFields(fs)
}

// DecodeCandle decodes a candle JSON object and checks its invariants.
func DecodeCandle(b []byte) (Candle, error) {
	var buf [numCandleKeys + 4]wireField
	fs, err := parseFlatObject(b, buf[:0])
	if err != nil {
		return Candle{}, fmt.Errorf("decode candle: %w", err)
	}
	return candleFromFields(fs)
}

// DecodeCandleCSV decodes a record in CandleCSVHeader order.
func DecodeCandleCSV(rec []string) (Candle, error) {
	var buf [numCandleKeys]wireField
	fs, err := csvRecordFields(rec, candleKeys[:], buf[:0])
	if err != nil {
		return Candle{}, fmt.Errorf("decode candle: %w", err)
	}
	return candleFromFields(fs)
}

// DecodeFeatureRow decodes a feature row JSON object (null features are
// NaN); it rejects rows of another schema version, whose keys differ.
func DecodeFeatureRow(b []byte) (FeatureRow, error) {
	var buf [numFeatureKeys + 4]wireField
	fs, err := parseFlatObject(b, buf[:0])
	if err != nil {
		return FeatureRow{}, fmt.Errorf("decode feature row: %w", err)
	}
	return featureRowFromFields(fs)
}

// DecodeFeatureRowCSV decodes a record in FeatureCSVHeader order (empty
// features are NaN).
func DecodeFeatureRowCSV(rec []string) (FeatureRow, error) {
	var buf [numFeatureKeys]wireField
	keys := featureKeys()
	fs, err := csvRecordFields(rec, keys[:], buf[:0])
	if err != nil {
		return FeatureRow{}, fmt.Errorf("decode feature row: %w", err)
	}
	return featureRowFromFields(fs)
}

func tradeFromFields(fs []wireField) (Trade, error) {
	var t Trade
	err := decodeFields(fs, tradeKeys[:], tradeRequired, func(k int, v wireValue) error {
		return setTradeField(&t, k, v)
	})
	if err == nil {
		err = t.Validate()
	}
	if err != nil {
		return Trade{}, fmt.Errorf("decode trade: %w", err)
	}
	return t, nil
}

func setTradeField(t *Trade, k int, v wireValue) (err error) {
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
		err = v.parse(func(s string) (err error) { t.OrdType, err = ParseOrdType(s); return err })
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
func parseWireSide(s string) (Side, error) {
	if s == "" {
		return SideUnknown, nil
	}
	return ParseSide(s)
}

func candleFromFields(fs []wireField) (Candle, error) {
	var c Candle
	err := decodeFields(fs, candleKeys[:], candleRequired, func(k int, v wireValue) error {
		return setCandleField(&c, k, v)
	})
	if err == nil {
		err = checkCandle(c)
	}
	if err != nil {
		return Candle{}, fmt.Errorf("decode candle: %w", err)
	}
	return c, nil
}

func setCandleField(c *Candle, k int, v wireValue) (err error) {
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
func checkCandle(c Candle) error {
	prices := c.Open > 0 && c.High > 0 && c.Low > 0 && c.Close > 0 && c.VWAP > 0
	switch {
	case c.Start.IsZero() || !c.End.After(c.Start):
		return fmt.Errorf("window [%v, %v): %w", c.Start, c.End, ErrInvalid)
	case !prices:
		return fmt.Errorf("prices must be positive: %w", ErrInvalid)
	case c.Low > min(c.Open, c.Close) || c.High < max(c.Open, c.Close):
		return fmt.Errorf("low %v / high %v do not bound open %v / close %v: %w", c.Low, c.High, c.Open, c.Close, ErrInvalid)
	case c.Volume < 0 || c.BuyVolume < 0 || c.SellVolume < 0 || c.Trades < 0:
		return fmt.Errorf("negative volume or trades: %w", ErrInvalid)
	case c.FirstTradeID < 0 || c.FirstTradeID > c.LastTradeID:
		return fmt.Errorf("trade ids %d..%d: %w", c.FirstTradeID, c.LastTradeID, ErrInvalid)
	}
	return nil
}

func featureRowFromFields(fs []wireField) (FeatureRow, error) {
	var r FeatureRow
	keys := featureKeys()
	err := decodeFields(fs, keys[:], featureRequired, func(k int, v wireValue) error {
		return setFeatureField(&r, k, v)
	})
	if err == nil {
		err = checkFeatureRow(r)
	}
	if err != nil {
		return FeatureRow{}, fmt.Errorf("decode feature row: %w", err)
	}
	return r, nil
}

func setFeatureField(r *FeatureRow, k int, v wireValue) (err error) {
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
		err = fmt.Errorf("revision %d: %w", n, ErrInvalid)
	}
	return int(n), err
}

func checkFeatureRow(r FeatureRow) error {
	switch {
	case r.SchemaVersion != FeatureSchemaVersion:
		return fmt.Errorf("schema_version %d, want %d: %w", r.SchemaVersion, FeatureSchemaVersion, ErrInvalid)
	case r.TS.IsZero():
		return fmt.Errorf("zero ts: %w", ErrInvalid)
	case !(r.Close > 0):
		return fmt.Errorf("close %v: %w", r.Close, ErrInvalid)
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
			return fmt.Errorf("duplicate key %q: %w", f.key, ErrInvalid)
		}
		seen |= 1 << k
		if err := set(k, f.val); err != nil {
			return fmt.Errorf("%s: %w", f.key, err)
		}
	}
	if missing := required &^ seen; missing != 0 {
		return fmt.Errorf("missing key %q: %w", keys[bits.TrailingZeros64(missing)], ErrInvalid)
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
		return "", fmt.Errorf("want a string: %w", ErrInvalid)
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
	return NormalizePair(s)
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
		return time.Time{}, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("time %q: year %d out of range: %w", s, y, ErrInvalid)
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
	return "", false, fmt.Errorf("want a number: %w", ErrInvalid)
}

func (v wireValue) floatOrNaN() (float64, error) {
	raw, ok, err := v.number()
	if err != nil || !ok {
		return math.NaN(), err
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil { // out of range: ±Inf
		return 0, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return f, nil
}

func (v wireValue) float() (float64, error) {
	f, err := v.floatOrNaN()
	if err == nil && math.IsNaN(f) {
		return 0, fmt.Errorf("want a number, not null: %w", ErrInvalid)
	}
	return f, err
}

func (v wireValue) int() (int64, error) {
	raw, ok, err := v.number()
	if err == nil && !ok {
		err = fmt.Errorf("want an integer, not null: %w", ErrInvalid)
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer: %w: %w", err, ErrInvalid)
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
	return false, fmt.Errorf("want true or false: %w", ErrInvalid)
}

// csvRecordFields pairs the fields of rec with the header's keys.
func csvRecordFields(rec, header []string, fs []wireField) ([]wireField, error) {
	if len(rec) != len(header) {
		return nil, fmt.Errorf("%d fields, want %d: %w", len(rec), len(header), ErrInvalid)
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

// ---- JSON syntax ----

// maxFields bounds the keys of one object: records have at most 26.
const maxFields = 256

// parseFlatObject parses a JSON object whose values are all scalars into fs;
// keys and values alias b unless they hold escapes.
func parseFlatObject(b []byte, fs []wireField) ([]wireField, error) {
	s := jsonScanner{b: b}
	if !s.consume('{') {
		return nil, s.errorf("want '{'")
	}
	if s.consume('}') {
		return fs, s.end()
	}
	for len(fs) < maxFields {
		f, err := s.field()
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
		switch {
		case s.consume(','):
		case s.consume('}'):
			return fs, s.end()
		default:
			return nil, s.errorf("want ',' or '}'")
		}
	}
	return nil, s.errorf("more than %d keys", maxFields)
}

type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("json at offset %d: %s: %w", s.i, fmt.Sprintf(format, args...), ErrInvalid)
}

func (s *jsonScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips spaces and then c if it comes next.
func (s *jsonScanner) consume(c byte) bool {
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end checks that nothing but spaces follows the object.
func (s *jsonScanner) end() error {
	if s.skipSpace(); s.i != len(s.b) {
		return s.errorf("data after the object")
	}
	return nil
}

func (s *jsonScanner) field() (wireField, error) {
	if !s.consume('"') {
		return wireField{}, s.errorf("want a key")
	}
	key, err := s.stringBody()
	if err != nil {
		return wireField{}, err
	}
	if !s.consume(':') {
		return wireField{}, s.errorf("want ':'")
	}
	val, err := s.value()
	return wireField{key: key, val: val}, err
}

func (s *jsonScanner) value() (wireValue, error) {
	s.skipSpace()
	if s.i == len(s.b) {
		return wireValue{}, s.errorf("want a value")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		s.i++
		raw, err := s.stringBody()
		return wireValue{kind: kindString, raw: raw}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == '{' || c == '[':
		return wireValue{}, s.errorf("nested values are not supported")
	}
	for _, lit := range [...]struct {
		text string
		kind wireKind
	}{{"true", kindTrue}, {"false", kindFalse}, {"null", kindNull}} {
		if len(s.b)-s.i >= len(lit.text) && string(s.b[s.i:s.i+len(lit.text)]) == lit.text {
			s.i += len(lit.text)
			return wireValue{kind: lit.kind}, nil
		}
	}
	return wireValue{}, s.errorf("want a value")
}

func (s *jsonScanner) number() (wireValue, error) {
	start := s.i
	for s.i < len(s.b) && isNumberByte(s.b[s.i]) {
		s.i++
	}
	raw := s.b[start:s.i]
	if !validNumber(raw) {
		return wireValue{}, s.errorf("bad number %q", raw)
	}
	return wireValue{kind: kindNumber, raw: raw}, nil
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// stringBody reads a string after its opening quote. Without escapes the
// result aliases the input; invalid UTF-8 and raw control bytes are errors.
func (s *jsonScanner) stringBody() ([]byte, error) {
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !utf8.Valid(raw) {
				return nil, s.errorf("invalid UTF-8 in string")
			}
			return raw, nil
		case c == '\\':
			return s.unescape(append([]byte(nil), s.b[start:s.i]...))
		case c < 0x20:
			return nil, s.errorf("control character in string")
		}
	}
	return nil, s.errorf("unterminated string")
}

// unescape continues a string with escapes at s.i, appending to out.
func (s *jsonScanner) unescape(out []byte) ([]byte, error) {
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(out) {
				return nil, s.errorf("invalid UTF-8 in string")
			}
			return out, nil
		case c < 0x20:
			return nil, s.errorf("control character in string")
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		var err error
		if out, err = s.escape(out); err != nil {
			return nil, err
		}
	}
	return nil, s.errorf("unterminated string")
}

// escape decodes the escape sequence at s.i (a backslash) onto out.
func (s *jsonScanner) escape(out []byte) ([]byte, error) {
	if s.i+1 >= len(s.b) {
		return nil, s.errorf("unterminated escape")
	}
	c := s.b[s.i+1]
	s.i += 2
	if r, ok := simpleEscape(c); ok {
		return append(out, r), nil
	}
	if c != 'u' {
		return nil, s.errorf("bad escape \\%c", c)
	}
	r, err := s.escapedRune()
	if err != nil {
		return nil, err
	}
	return utf8.AppendRune(out, r), nil
}

func simpleEscape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// escapedRune reads the XXXX of \uXXXX at s.i, and the low half of a
// surrogate pair; lone surrogates are errors.
func (s *jsonScanner) escapedRune() (rune, error) {
	r, ok := s.hex4()
	switch {
	case !ok:
		return 0, s.errorf("bad \\u escape")
	case r >= 0xdc00 && r < 0xe000:
		return 0, s.errorf("lone surrogate")
	case r < 0xd800 || r >= 0xdc00:
		return r, nil
	}
	if s.i+1 >= len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
		return 0, s.errorf("lone surrogate")
	}
	s.i += 2
	lo, ok := s.hex4()
	if !ok || lo < 0xdc00 || lo >= 0xe000 {
		return 0, s.errorf("bad surrogate pair")
	}
	return 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00), nil
}

func (s *jsonScanner) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		d := strings.IndexByte(hexDigits, lower(c))
		if d < 0 {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	s.i += 4
	return r, true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
