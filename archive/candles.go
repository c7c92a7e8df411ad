package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Source describes one archive file that records came from, so that the
// store can say where its rows were imported from.
type Source struct {
	Exchange string // "binance" | "kraken"
	Kind     string // the Format
	File     string // absolute path
	SHA256   string // of the file's bytes as stored (compressed if it is)
	Rows     int    // records read from it
	// Notes say how candle fields the format lacks were set.
	Notes []string
}

// The notes on fields a candle format lacks (see the package documentation).
const (
	NoteVWAP   = "vwap: (high+low+close)/3, the file has no vwap"
	NoteTrades = "trades: 0, the file has no trade count"
	NoteSides  = "buy_volume, sell_volume: 0, the file has no taker side"
)

// ReadCandles reads the candle file at path (BinanceKlines or KrakenOHLCVT,
// .gz transparently) for pair ("" = DefaultPair(path)), with the interval
// its name gives (NameInterval), else the data's smallest step. Bars the file
// lacks are not filled in. The Source describes the file.
func ReadCandles(path string, f Format, pair string) ([]market.Candle, Source, error) {
	pair, err := pairFor(path, pair)
	if err != nil {
		return nil, Source{}, err
	}
	iv, _ := NameInterval(path)
	file, err := os.Open(path)
	if err != nil {
		return nil, Source{}, fmt.Errorf("archive: %w", err)
	}
	h := sha256.New()
	tee := io.TeeReader(file, h) // hash the bytes as stored while parsing them
	rc, err := decompress(tee, file)
	if err != nil {
		return nil, Source{}, fmt.Errorf("archive: %s: %w", path, err)
	}
	defer rc.Close()
	cs, notes, err := parseCandles(rc, f, pair, iv)
	if err == nil {
		_, err = io.Copy(io.Discard, tee) // the bytes after the data, for the hash
	}
	if err != nil {
		return nil, Source{}, fmt.Errorf("archive: %s: %w", path, err)
	}
	src, err := newSource(path, f, hex.EncodeToString(h.Sum(nil)), len(cs))
	src.Notes = notes
	return cs, src, err
}

// FileSource describes the file at path, of format f, from which rows
// records were read; it reads the whole file to hash it.
func FileSource(path string, f Format, rows int) (Source, error) {
	file, err := os.Open(path)
	if err != nil {
		return Source{}, fmt.Errorf("archive: %w", err)
	}
	defer file.Close()
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		return Source{}, fmt.Errorf("archive: hash %s: %w", path, err)
	}
	return newSource(path, f, hex.EncodeToString(h.Sum(nil)), rows)
}

func newSource(path string, f Format, sum string, rows int) (Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Source{}, fmt.Errorf("archive: %s: %w", path, err)
	}
	return Source{Exchange: f.Exchange(), Kind: string(f), File: abs, SHA256: sum, Rows: rows}, nil
}

// ParseCandles reads candles of format f (BinanceKlines or KrakenOHLCVT) for
// pair from r. Each bar becomes a Complete candle [open time, open time +
// interval); interval 0 means the smallest step between consecutive bars.
// Bars must be aligned to the interval and in strictly increasing time; a
// bad row fails the read with its line number.
func ParseCandles(r io.Reader, f Format, pair string, interval time.Duration) ([]market.Candle, error) {
	cs, _, err := parseCandles(r, f, pair, interval)
	return cs, err
}

func parseCandles(r io.Reader, f Format, pair string, iv time.Duration) ([]market.Candle, []string, error) {
	if !f.HasCandles() {
		return nil, nil, fmt.Errorf("read candles: format %q holds no candles: %w", f, market.ErrInvalid)
	}
	p, err := market.NormalizePair(pair)
	if err != nil {
		return nil, nil, fmt.Errorf("read candles: %w", err)
	}
	if iv != 0 {
		if err := checkInterval(iv); err != nil {
			return nil, nil, err
		}
	}
	br := barReader{format: f}
	if err := br.read(r); err != nil {
		return nil, nil, fmt.Errorf("read candles %s: %w", p, err)
	}
	if err := br.finish(p, iv); err != nil {
		return nil, nil, fmt.Errorf("read candles %s: %w", p, err)
	}
	return br.bars, br.cols.notes(), nil
}

func checkInterval(iv time.Duration) error {
	if err := (market.AggregatorConfig{Interval: iv}).Validate(); err != nil {
		return fmt.Errorf("read candles: %w", err)
	}
	return nil
}

// barReader collects the bars of one file and the line of each. Bars go
// into blocks, joined once at the end: growing one slice of 100k+ candles
// would copy it many times over.
type barReader struct {
	format Format
	cols   *barColumns
	blocks [][]market.Candle
	cur    []market.Candle
	prev   time.Time // the last bar's open time
	lines  []int
	bars   []market.Candle // set by finish
}

// barBlock is the number of bars per block.
const barBlock = 1 << 13

func (b *barReader) read(r io.Reader) error {
	cr := newCSVReader(r)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		if err := b.row(rec, line); err != nil {
			return atLine(err, line)
		}
	}
}

func (b *barReader) row(rec []string, line int) error {
	if b.cols == nil {
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
		var err error
		if b.cols, err = newBarColumns(b.format, rec); err != nil || isHeader(rec) {
			return err
		}
	}
	c, err := b.cols.parse(rec)
	if err != nil {
		return err
	}
	if len(b.lines) > 0 && !c.Start.After(b.prev) {
		return b.cols.timeErr("not after the bar on line %d", b.lines[len(b.lines)-1])
	}
	if len(b.cur) == cap(b.cur) {
		if len(b.cur) > 0 {
			b.blocks = append(b.blocks, b.cur)
		}
		b.cur = make([]market.Candle, 0, barBlock)
	}
	b.cur, b.prev, b.lines = append(b.cur, c), c.Start, append(b.lines, line)
	return nil
}

// finish sets each bar's pair and end once the interval is known.
func (b *barReader) finish(pair string, iv time.Duration) error {
	if len(b.lines) == 0 {
		return nil
	}
	b.bars = slices.Concat(append(b.blocks, b.cur)...)
	b.blocks, b.cur = nil, nil
	if iv == 0 {
		var err error
		if iv, err = smallestStep(b.bars); err != nil {
			return err
		}
	}
	secs := int64(iv / time.Second)
	for i := range b.bars {
		c := &b.bars[i]
		if c.Start.Unix()%secs != 0 || c.Start.Nanosecond() != 0 {
			return atLine(b.cols.timeErr("not aligned to the %s interval", iv), b.lines[i])
		}
		if i > 0 && c.Start.Sub(b.bars[i-1].Start) < iv {
			return atLine(b.cols.timeErr("within the %s bar on line %d", iv, b.lines[i-1]), b.lines[i])
		}
		c.Pair, c.End = pair, c.Start.Add(iv)
	}
	return nil
}

func smallestStep(bars []market.Candle) (time.Duration, error) {
	if len(bars) < 2 {
		return 0, errors.New("one bar and a file name without an interval (<PAIR>_<minutes>...): interval unknown")
	}
	iv := bars[1].Start.Sub(bars[0].Start)
	for i := 2; i < len(bars); i++ {
		iv = min(iv, bars[i].Start.Sub(bars[i-1].Start))
	}
	return iv, checkInterval(iv)
}

// lastBarUnix is the latest open time accepted, in Unix seconds: windows
// are computed in int64 Unix nanoseconds elsewhere (up to 2262), as by the
// aggregator; a day less leaves room for the bar's end.
const lastBarUnix = math.MaxInt64/int64(time.Second) - 24*60*60

// barColumns are the positions of a bar's fields in a record (-1: absent).
type barColumns struct {
	fields                          int // records need at least this many
	exact                           bool
	ts, open, high, low, close, vol int
	trades, takerBuy                int
	time                            func(string) (time.Time, error)
}

// newBarColumns reads a Binance header, or gives the fixed columns of a
// headerless file judging by its first record.
func newBarColumns(f Format, rec []string) (*barColumns, error) {
	switch {
	case isHeader(rec) && f == BinanceKlines:
		return klineHeader(rec)
	case isHeader(rec):
		return nil, colErr(0, "open time", "%s files have no header, and this is no time", f)
	case f == KrakenOHLCVT:
		return &barColumns{fields: 7, exact: true, ts: 0, open: 1, high: 2, low: 3, close: 4, vol: 5, trades: 6, takerBuy: -1, time: wholeSeconds}, nil
	}
	// data.binance.vision: open_time, o, h, l, c, volume, close_time,
	// quote_volume, trades, taker_buy_base_volume, taker_buy_quote_volume, ignore.
	return &barColumns{fields: binanceColumns, exact: true, ts: 0, open: 1, high: 2, low: 3, close: 4, vol: 5, trades: 8, takerBuy: 9, time: binanceTime}, nil
}

func klineHeader(header []string) (*barColumns, error) {
	c := barColumns{ts: -1, open: -1, high: -1, low: -1, close: -1, vol: -1, trades: -1, takerBuy: -1, time: binanceTime}
	names := map[string]*int{
		"open_time": &c.ts, "open_time_ms": &c.ts, "open": &c.open, "high": &c.high, "low": &c.low,
		"close": &c.close, "volume": &c.vol, "trades": &c.trades, "number_of_trades": &c.trades,
		"taker_buy_volume": &c.takerBuy, "taker_buy_base_volume": &c.takerBuy,
	}
	for i, n := range header {
		n = strings.ToLower(strings.TrimSpace(n))
		if p, ok := names[n]; ok {
			*p = i
		}
		if n == "open_time_ms" {
			c.time = binanceMillis
		}
	}
	if min(c.ts, c.open, c.high, c.low, c.close, c.vol) < 0 {
		return nil, errors.New("the header lacks one of open_time_ms, open, high, low, close, volume")
	}
	c.fields = max(c.ts, c.open, c.high, c.low, c.close, c.vol, c.trades, c.takerBuy) + 1
	return &c, nil
}

// notes lists the candle fields the columns cannot give.
func (b *barColumns) notes() []string {
	if b == nil {
		return nil
	}
	notes := []string{NoteVWAP}
	if b.trades < 0 {
		notes = append(notes, NoteTrades)
	}
	if b.takerBuy < 0 {
		notes = append(notes, NoteSides)
	}
	return notes
}

func (b *barColumns) parse(rec []string) (market.Candle, error) {
	if len(rec) < b.fields || (b.exact && len(rec) != b.fields) {
		return market.Candle{}, fmt.Errorf("%d fields, want %d", len(rec), b.fields)
	}
	start, err := timeField(rec, b.ts, "open time", b.time)
	if err != nil {
		return market.Candle{}, err
	}
	if start.Unix() > lastBarUnix {
		return market.Candle{}, b.timeErr("after 2262")
	}
	c := market.Candle{Start: start, Complete: true}
	if err := b.values(&c, rec); err != nil {
		return c, err
	}
	// Typical price: what the features use for a candle without VWAP, and a
	// positive price as the candle codec requires (see the package doc).
	c.VWAP = (c.High + c.Low + c.Close) / 3
	return c, b.check(c)
}

// timeErr is an error of the open time column.
func (b *barColumns) timeErr(format string, args ...any) error {
	return colErr(b.ts, "open time", format, args...)
}

func (b *barColumns) values(c *market.Candle, rec []string) error {
	names := [...]string{"open", "high", "low", "close", "volume"}
	cols := [...]int{b.open, b.high, b.low, b.close, b.vol}
	dsts := [...]*float64{&c.Open, &c.High, &c.Low, &c.Close, &c.Volume}
	for i, name := range names {
		var err error
		if *dsts[i], err = number(rec, cols[i], name); err != nil {
			return err
		}
	}
	if b.trades >= 0 {
		n, err := strconv.ParseInt(field(rec, b.trades), 10, 64)
		if err != nil || n < 0 {
			return colErr(b.trades, "trades", "not a count")
		}
		c.Trades = n
	}
	if b.takerBuy >= 0 {
		buy, err := decimal(field(rec, b.takerBuy))
		if err != nil || buy < 0 || buy > c.Volume {
			return colErr(b.takerBuy, "taker buy volume", "not a number within [0, volume]")
		}
		c.BuyVolume, c.SellVolume = buy, c.Volume-buy
	}
	return nil
}

// check rejects bars that no market can produce; its errors name the
// columns, not their values.
func (b *barColumns) check(c market.Candle) error {
	names := [...]string{"open", "high", "low", "close"}
	cols := [...]int{b.open, b.high, b.low, b.close}
	for i, p := range [...]float64{c.Open, c.High, c.Low, c.Close} {
		if !(p > 0) {
			return colErr(cols[i], names[i], "prices must be positive")
		}
	}
	switch {
	case c.Low > min(c.Open, c.Close):
		return colErr(b.low, "low", "low above open or close")
	case c.High < max(c.Open, c.Close):
		return colErr(b.high, "high", "high below open or close")
	case c.Volume < 0:
		return colErr(b.vol, "volume", "negative volume")
	}
	return nil
}

// wholeSeconds is Kraken's bar time: whole Unix seconds.
func wholeSeconds(s string) (time.Time, error) {
	t, err := unixSeconds(s)
	if err == nil && t.Nanosecond() != 0 {
		err = errors.New("not whole Unix seconds")
	}
	return t, err
}

// binanceTime is an open time in Unix milliseconds, or microseconds from
// 1e14 on (Binance's spot files switched to microseconds in 2025; 1e14 ms
// would be the year 5138).
func binanceTime(s string) (time.Time, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return time.Time{}, errors.New("not a positive Unix time in ms or µs")
	}
	if v < 1e14 {
		return binanceMillis(s)
	}
	if v/1e6 > maxUnix {
		return time.Time{}, errors.New("out of range")
	}
	return time.UnixMicro(v).UTC(), nil
}

func binanceMillis(s string) (time.Time, error) { return unixMillis(s) }
