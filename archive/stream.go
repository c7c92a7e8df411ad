package archive

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tickcast/tickcast/market"
)

// CandleReader reads the candles of ParseCandles one at a time, holding one
// row, for replays of files of any size. Unlike ParseCandles it needs the
// interval up front (OpenTrades finds it).
type CandleReader struct {
	cr    *csv.Reader
	bars  barReader
	pair  string
	iv    time.Duration
	secs  int64
	line  int
	pline int // the previous bar's line
	count int
}

// NewCandleReader reads candles of format f for pair from r, each
// [open time, open time + iv); iv must be a valid candle interval.
func NewCandleReader(r io.Reader, f Format, pair string, iv time.Duration) (*CandleReader, error) {
	if !f.HasCandles() {
		return nil, fmt.Errorf("read candles: format %q holds no candles: %w", f, market.ErrInvalid)
	}
	p, err := market.NormalizePair(pair)
	if err != nil {
		return nil, fmt.Errorf("read candles: %w", err)
	}
	if err := checkInterval(iv); err != nil {
		return nil, err
	}
	return &CandleReader{cr: newCSVReader(r), bars: barReader{format: f}, pair: p, iv: iv, secs: int64(iv / time.Second)}, nil
}

// Next returns the next candle, or io.EOF after the last one; the checks
// and errors are those of ParseCandles.
func (c *CandleReader) Next() (market.Candle, error) {
	for {
		rec, err := c.cr.Read()
		if errors.Is(err, io.EOF) {
			return market.Candle{}, io.EOF
		}
		if err != nil {
			return market.Candle{}, fmt.Errorf("read candles %s: %w", c.pair, err)
		}
		c.line, _ = c.cr.FieldPos(0)
		bar, ok, err := c.row(rec)
		if err != nil {
			return market.Candle{}, fmt.Errorf("read candles %s: %w", c.pair, atLine(err, c.line))
		}
		if ok {
			return bar, nil
		}
	}
}

// row parses one record into a bar, checked against the previous one; ok
// is false for a header.
func (c *CandleReader) row(rec []string) (bar market.Candle, ok bool, err error) {
	b := &c.bars
	if b.cols == nil {
		if b.cols, err = newBarColumns(b.format, rec); err != nil || isHeader(rec) {
			return bar, false, err
		}
	}
	if bar, err = b.cols.parse(rec); err != nil {
		return bar, false, err
	}
	switch {
	case c.count > 0 && !bar.Start.After(b.prev):
		return bar, false, b.cols.timeErr("not after the bar on line %d", c.pline)
	case bar.Start.Unix()%c.secs != 0 || bar.Start.Nanosecond() != 0:
		return bar, false, b.cols.timeErr("not aligned to the %s interval", c.iv)
	case c.count > 0 && bar.Start.Sub(b.prev) < c.iv:
		return bar, false, b.cols.timeErr("within the %s bar on line %d", c.iv, c.pline)
	}
	b.prev, c.pline, c.count = bar.Start, c.line, c.count+1
	bar.Pair, bar.End = c.pair, bar.Start.Add(c.iv)
	return bar, true, nil
}

// TradeStream yields trades in time order, one at a time; Next returns
// io.EOF after the last one. Close releases the file.
type TradeStream interface {
	Next() (market.Trade, error)
	Close() error
}

// OpenTrades streams the trades of the file at path (.gz transparently),
// numbered from firstID, for pair ("" = DefaultPair(path)): the rows of a
// trade file (ReadTradesCSV), or trades rebuilt from the bars of a candle
// file (ReconstructedTrades) — placeholders labelled
// market.SourceReconstructed, not data. A candle file's interval comes from
// its name (NameInterval), else from a first pass over it.
func OpenTrades(path, pair string, firstID int64) (TradeStream, error) {
	f, err := Detect(path)
	if err != nil {
		return nil, err
	}
	if pair, err = pairFor(path, pair); err != nil {
		return nil, err
	}
	rc, err := Open(path)
	if err != nil {
		return nil, err
	}
	src, err := newTradeSource(rc, path, f, pair, firstID)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("archive: %s: %w", path, err)
	}
	return src, nil
}

func newTradeSource(rc io.ReadCloser, path string, f Format, pair string, firstID int64) (TradeStream, error) {
	if !f.HasCandles() {
		tr, err := NewTradeReader(rc, pair, firstID)
		return fileTrades{tr, path, rc}, err
	}
	iv, ok := NameInterval(path)
	if !ok {
		var err error
		if iv, err = fileStep(path, f, pair); err != nil {
			return nil, err
		}
	}
	cr, err := NewCandleReader(rc, f, pair, iv)
	if err != nil {
		return nil, err
	}
	return fileTrades{NewReconstructedTrades(cr, firstID), path, rc}, nil
}

// fileTrades is a stream of trades over an open file; its errors name the file.
type fileTrades struct {
	src  interface{ Next() (market.Trade, error) }
	path string
	io.Closer
}

func (t fileTrades) Next() (market.Trade, error) {
	tr, err := t.src.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("archive: %s: %w", t.path, err)
	}
	return tr, err
}

// fileStep is the smallest step between consecutive bars of the file at
// path, read in one pass that holds one row.
func fileStep(path string, f Format, pair string) (time.Duration, error) {
	rc, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	cr, err := NewCandleReader(rc, f, pair, time.Second)
	if err != nil {
		return 0, err
	}
	cr.secs = 1 // alignment and spacing are checked in the second pass
	var prev market.Candle
	var step time.Duration
	for n := 0; ; n++ {
		c, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		if d := c.Start.Sub(prev.Start); n > 0 && (step == 0 || d < step) {
			step = d
		}
		prev = c
	}
	if step == 0 {
		return 0, errors.New("one bar and a file name without an interval (<PAIR>_<minutes>...): interval unknown")
	}
	return step, checkInterval(step)
}
