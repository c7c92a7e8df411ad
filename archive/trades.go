package archive

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/market"
)

// TradeSource is the Source recorded on trades read by ReadTrades: they come
// from an archive file, not from a live or REST feed.
const TradeSource = "archive"

// maxUnix is 9999-12-31T23:59:59Z: later times have no RFC3339 form.
const maxUnix = 253402300799

// ReadTrades reads the trade file at path (KrakenTrades or
// KrakenTimeAndSales, .gz transparently) as ReadTradesCSV does, for pair ("" =
// DefaultPair(path)), and records TradeSource on every trade.
func ReadTrades(path string, f Format, pair string, firstID int64) ([]market.Trade, error) {
	if f != KrakenTrades && f != KrakenTimeAndSales {
		return nil, fmt.Errorf("archive: read trades %s: format %q holds no trades: %w", path, f, market.ErrInvalid)
	}
	pair, err := pairFor(path, pair)
	if err != nil {
		return nil, err
	}
	rc, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	ts, err := ReadTradesCSV(rc, pair, firstID)
	if err != nil {
		return nil, fmt.Errorf("archive: %s: %w", path, err)
	}
	for i := range ts {
		ts[i].Source = TradeSource
	}
	return ts, nil
}

// rowParser turns one CSV record into a trade (pair and id still unset).
type rowParser func(rec []string) (market.Trade, error)

// ReadTradesCSV reads real trades of pair, in time order, and numbers them
// firstID, firstID+1, ... as Kraken's per-pair trade_id would. Two formats:
//
//   - with a header (KrakenTrades), columns found by name: a time (time_ms in
//     Unix milliseconds, timestamp_utc/timestamp in RFC3339, or time/unix in
//     Unix seconds), price, volume (or qty) and an optional side. This is the
//     format of shared/data/kraken/trades: time_ms,timestamp_utc,price,volume,side.
//   - without a header, Kraken's Time and Sales archive (KrakenTimeAndSales):
//     unix_seconds[.fraction],price,volume[,side].
//
// A missing side stays market.SideUnknown. Trades carry market.SourceReplay.
// Times are truncated to microseconds, the wire's precision. A bad row fails
// the read with its line number.
func ReadTradesCSV(r io.Reader, pair string, firstID int64) ([]market.Trade, error) {
	tr, err := NewTradeReader(r, pair, firstID)
	if err != nil {
		return nil, err
	}
	var trades []market.Trade
	for {
		t, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return trades, nil
		}
		if err != nil {
			return nil, err
		}
		trades = append(trades, t)
	}
}

// TradeReader reads the trades of ReadTradesCSV one at a time, holding one
// row, so that a replay of a file of any size takes constant memory.
type TradeReader struct {
	cr     *csv.Reader
	pair   string
	nextID int64
	parse  rowParser
	tcol   int       // the time column
	tname  string    // and its name
	prev   time.Time // the previous trade's time
	line   int       // the current row's line
	pline  int       // the previous trade's line
	n      int64     // trades read
}

// NewTradeReader returns a reader of the trades of pair in r, numbered from
// firstID, in the formats of ReadTradesCSV.
func NewTradeReader(r io.Reader, pair string, firstID int64) (*TradeReader, error) {
	p, err := market.NormalizePair(pair)
	if err != nil {
		return nil, fmt.Errorf("read trades: %w", err)
	}
	if firstID < 0 {
		return nil, fmt.Errorf("read trades %s: negative first trade_id %d", p, firstID)
	}
	return &TradeReader{cr: newCSVReader(r), pair: p, nextID: firstID}, nil
}

// Next returns the next trade, or io.EOF after the last one. A bad row
// fails with its line number.
func (l *TradeReader) Next() (market.Trade, error) {
	for {
		rec, err := l.cr.Read()
		if errors.Is(err, io.EOF) {
			return market.Trade{}, io.EOF
		}
		if err != nil {
			return market.Trade{}, fmt.Errorf("read trades %s: %w", l.pair, err)
		}
		l.line, _ = l.cr.FieldPos(0)
		t, ok, err := l.row(rec)
		if err != nil {
			return market.Trade{}, fmt.Errorf("read trades %s: %w", l.pair, atLine(err, l.line))
		}
		if ok {
			return t, nil
		}
	}
}

func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord, cr.TrimLeadingSpace, cr.ReuseRecord = -1, true, true
	return cr
}

// row parses one record; ok is false for the header.
func (l *TradeReader) row(rec []string) (t market.Trade, ok bool, err error) {
	if l.parse == nil {
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
		if isHeader(rec) {
			c, err := headerColumns(rec)
			l.parse, l.tcol, l.tname = c.parse, c.timeCol, c.timeName
			return t, false, err
		}
		l.parse, l.tcol, l.tname = headerless, 0, "unix_seconds"
	}
	if t, err = l.parse(rec); err != nil {
		return t, false, err
	}
	return l.number(t)
}

// number gives t its pair, id and source and checks it against the previous trade.
func (l *TradeReader) number(t market.Trade) (market.Trade, bool, error) {
	if l.nextID < 0 { // wrapped past MaxInt64
		return t, false, errors.New("trade_id overflows int64")
	}
	t.Pair, t.TradeID, t.Source = l.pair, l.nextID, market.SourceReplay
	t.TS = t.TS.Truncate(time.Microsecond)
	if t.Validate() != nil { // a backstop: the fields were checked one by one
		return t, false, errors.New("not a trade: want a positive time and price, a volume not negative")
	}
	if l.n > 0 && t.TS.Before(l.prev) {
		return t, false, colErr(l.tcol, l.tname, "time goes backwards: before the trade on line %d", l.pline)
	}
	l.prev, l.pline, l.n = t.TS, l.line, l.n+1
	l.nextID++
	return t, true, nil
}

func isHeader(rec []string) bool {
	_, err := strconv.ParseFloat(rec[0], 64)
	return err != nil
}

// columns are the positions of the named columns, -1 when absent, and
// the time column the rows' time comes from: its name and parser.
type columns struct {
	price, qty, side int
	timeCol          int
	timeName         string
	timeParse        func(string) (time.Time, error)
}

func headerColumns(header []string) (columns, error) {
	c := columns{price: -1, qty: -1, side: -1, timeCol: -1, timeParse: unixSeconds}
	timeMS, timeISO, timeSec := -1, -1, -1
	for i, name := range header {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "time_ms":
			timeMS = i
		case "timestamp_utc", "timestamp":
			timeISO = i
		case "time", "unix", "unix_seconds":
			timeSec = i
		case "price":
			c.price = i
		case "volume", "qty":
			c.qty = i
		case "side":
			c.side = i
		}
	}
	if c.price < 0 || c.qty < 0 || max(timeMS, timeISO, timeSec) < 0 {
		return c, errors.New("the header lacks a time (time_ms, timestamp_utc or time), price or volume column")
	}
	switch {
	case timeMS >= 0:
		c.timeCol, c.timeName, c.timeParse = timeMS, "time_ms", unixMillis
	case timeISO >= 0:
		c.timeCol, c.timeName, c.timeParse = timeISO, "timestamp", isoTime
	default:
		c.timeCol, c.timeName, c.timeParse = timeSec, "time", unixSeconds
	}
	return c, nil
}

func (c columns) parse(rec []string) (market.Trade, error) {
	ts, err := timeField(rec, c.timeCol, c.timeName, c.timeParse)
	if err != nil {
		return market.Trade{}, err
	}
	t := market.Trade{TS: ts}
	return t, fill(&t, rec, c.price, c.qty, c.side)
}

func headerless(rec []string) (market.Trade, error) {
	if len(rec) != 3 && len(rec) != 4 {
		return market.Trade{}, fmt.Errorf("%d fields, want unix_seconds,price,volume[,side]", len(rec))
	}
	ts, err := timeField(rec, 0, "unix_seconds", unixSeconds)
	if err != nil {
		return market.Trade{}, err
	}
	t := market.Trade{TS: ts}
	return t, fill(&t, rec, 1, 2, 3)
}

// field is rec[i], or "" when the row is short.
func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// fill sets the trade's price, volume and side from columns price, qty and
// side (-1 or beyond the row: no side).
func fill(t *market.Trade, rec []string, price, qty, side int) error {
	var err error
	if t.Price, err = number(rec, price, "price"); err != nil {
		return err
	}
	if !(t.Price > 0) {
		return colErr(price, "price", "not positive")
	}
	if t.Qty, err = number(rec, qty, "volume"); err != nil {
		return err
	}
	if t.Qty < 0 {
		return colErr(qty, "volume", "negative")
	}
	if s := field(rec, side); s != "" {
		if t.Side, err = market.ParseSide(s); err != nil {
			return colErr(side, "side", "want buy, sell, b or s") // ParseSide's error quotes the field
		}
	}
	return nil
}

// number is column i as a plain decimal number.
func number(rec []string, i int, name string) (float64, error) {
	f, err := decimal(field(rec, i))
	if err != nil {
		return 0, colErr(i, name, "%w", err)
	}
	return f, nil
}

// decimal accepts finite plain decimal numbers only (no hex, NaN or Inf,
// which strconv.ParseFloat would take). Its errors never quote s.
func decimal(s string) (float64, error) {
	if s == "" || strings.Trim(s, "0123456789.eE+-") != "" {
		return 0, errors.New("not a decimal number")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil { // strconv's error would quote s
		return 0, errors.New("not a finite decimal number")
	}
	return f, nil
}

// timeField is column i parsed by parse, an error naming the column.
func timeField(rec []string, i int, name string, parse func(string) (time.Time, error)) (time.Time, error) {
	t, err := parse(field(rec, i))
	if err != nil {
		return t, colErr(i, name, "%w", err)
	}
	return t, nil
}

func unixMillis(s string) (time.Time, error) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 || ms/1000 > maxUnix {
		return time.Time{}, errors.New("not a positive Unix time in milliseconds")
	}
	return time.UnixMilli(ms).UTC(), nil
}

func isoTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil { // time's error would quote s
		return time.Time{}, errors.New("not an RFC 3339 time")
	}
	if t.Unix() <= 0 || t.Unix() > maxUnix {
		return time.Time{}, errors.New("out of range")
	}
	return t.UTC(), nil
}

// unixSeconds parses "1561939203.172" exactly: a float64 would turn .172
// into .171999..., one microsecond off after truncation.
func unixSeconds(s string) (time.Time, error) {
	whole, frac, _ := strings.Cut(s, ".")
	bad := errors.New("not positive Unix seconds")
	if whole == "" || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return time.Time{}, bad
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec > maxUnix {
		return time.Time{}, bad
	}
	frac = (frac + "000000000")[:9]
	ns, _ := strconv.ParseInt(frac, 10, 64) // nine digits: cannot fail
	if sec == 0 && ns == 0 {
		return time.Time{}, bad
	}
	return time.Unix(sec, ns).UTC(), nil
}
