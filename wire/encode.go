package wire

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tickcast/tickcast/market"
)

// ---- JSON encoding ----

// AppendJSON appends t as a JSON object.
func appendTradeJSON(dst []byte, t market.Trade) []byte {
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
func appendCandleJSON(dst []byte, c market.Candle) []byte {
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
func appendFeatureRowJSON(dst []byte, r market.FeatureRow) []byte {
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
		dst = append(dst, market.FeatureNames[i]...) // plain ASCII names: no escaping
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
func appendTradeCSV(rec []string, t market.Trade) []string {
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
func appendCandleCSV(rec []string, c market.Candle) []string {
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
func appendFeatureRowCSV(rec []string, r market.FeatureRow) []string {
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
