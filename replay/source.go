package replay

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/market"
)

// DefaultSpan is how much of the end of a candle file streams live when
// no start is given; what comes before is the backfill's.
const DefaultSpan = 24 * time.Hour

// Trades yields one pair's trades in time order, one at a time; Next
// returns io.EOF after the last. A stream that is also an io.Closer holds
// a file (what the fake Kraken's TradeSource expects).
type Trades interface {
	Next() (market.Trade, error)
}

// Source is what one pair replays: the trades the fake Kraken streams
// (real, or reconstructed from candles and labelled so) and, for candle
// files, the split: candles before it are the backfill's, the rest stream.
// The trades are never all in memory: Open streams them from the files
// (the candles of candle files are held, some 40 times fewer than the
// trades they make), and one pass at Load keeps what the plan needs.
type Source struct {
	Pair    string
	Files   []string // absolute paths
	Candles bool     // the files hold candles, not trades
	Count   int      // trades streamed
	// Split is the start of the first streamed candle (candle files only);
	// Backfill says whether the files hold candles before it.
	Split    time.Time
	Backfill bool

	open func() (Trades, error)
	// head is the first SnapshotMax+1 trades (Group.SnapshotSizes),
	// firstTS and lastTS the first's and the last's times.
	head            []market.Trade
	firstTS, lastTS time.Time
}

// Open starts a new stream of the trades, for the fake Kraken.
func (s *Source) Open() (Trades, error) { return s.open() }

// First and Last are the times of the first and the last streamed trade.
func (s *Source) First() time.Time { return s.firstTS }
func (s *Source) Last() time.Time  { return s.lastTS }

// scan reads the stream once for head, count and times, checking that
// time never goes backwards (across files too).
func (s *Source) scan() error {
	src, err := s.open()
	if err != nil {
		return err
	}
	defer closeTrades(src)
	for {
		t, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("replay %s: %w", s.Pair, err)
		}
		if s.Count > 0 && t.TS.Before(s.lastTS) {
			return fmt.Errorf("replay %s: trade %d at %s before the previous one (files out of order?)", s.Pair, t.TradeID, t.TS.Format(time.RFC3339Nano))
		}
		if len(s.head) <= SnapshotMax {
			s.head = append(s.head, t)
		}
		if s.Count == 0 {
			s.firstTS = t.TS
		}
		s.Count, s.lastTS = s.Count+1, t.TS
	}
	if s.Count == 0 {
		return fmt.Errorf("replay %s: no trades in %s", s.Pair, strings.Join(s.Files, ","))
	}
	return nil
}

func closeTrades(src Trades) {
	if c, ok := src.(io.Closer); ok {
		c.Close()
	}
}

// Load reads an item's files. Trade files replay whole; candle files are
// split at from (zero: span before the end of the last candle).
func Load(it Item, from time.Time, span time.Duration) (*Source, error) {
	src := &Source{Pair: it.Pair}
	kinds := map[bool]bool{}
	for _, f := range it.Files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		format, err := archive.Detect(abs)
		if err != nil {
			return nil, fmt.Errorf("replay %s: %w", f, err)
		}
		kinds[format.HasCandles()] = true
		src.Files = append(src.Files, abs)
	}
	if len(kinds) > 1 {
		return nil, fmt.Errorf("replay %s: mixes trade and candle files", it.Pair)
	}
	src.Candles = kinds[true]
	if !src.Candles {
		src.open = func() (Trades, error) {
			return &fileChain{files: src.Files, pair: it.Pair, nextID: 1}, nil
		}
		return src, src.scan()
	}
	candles, err := ReadCandleFiles(src.Files, it.Pair)
	if err != nil {
		return nil, err
	}
	if len(candles) == 0 {
		return nil, fmt.Errorf("replay %s: no candles in %s", it.Pair, strings.Join(it.Files, ","))
	}
	if from.IsZero() {
		from = candles[len(candles)-1].End.Add(-span)
	}
	i, _ := slices.BinarySearchFunc(candles, from, func(c market.Candle, t time.Time) int { return c.Start.Compare(t) })
	if i == len(candles) {
		return nil, fmt.Errorf("replay %s: no candle at or after %s (the files end %s)", it.Pair,
			from.UTC().Format(time.RFC3339), candles[len(candles)-1].End.UTC().Format(time.RFC3339))
	}
	src.Split, src.Backfill = candles[i].Start, i > 0
	streamed := slices.Clone(candles[i:]) // the backfill's candles are not kept
	src.open = func() (Trades, error) {
		return archive.NewReconstructedTrades(&archive.CandleSlice{Candles: streamed}, 1), nil
	}
	if err := src.scan(); err != nil {
		return nil, fmt.Errorf("replay %s: no candle with volume after %s: %w", it.Pair, src.Split.Format(time.RFC3339), err)
	}
	return src, nil
}

// ReadCandleFiles reads real candle files as pair, in time order; files
// that overlap are refused.
func ReadCandleFiles(files []string, pair string) ([]market.Candle, error) {
	var candles []market.Candle
	for _, p := range files {
		format, err := archive.Detect(p)
		if err != nil {
			return nil, fmt.Errorf("history candles: %w", err)
		}
		if !format.HasCandles() {
			return nil, fmt.Errorf("history candles %s: %s holds trades, not candles: use --replay", p, format)
		}
		cs, _, err := archive.ReadCandles(p, format, pair)
		if err != nil {
			return nil, fmt.Errorf("history candles: %w", err)
		}
		candles = append(candles, cs...)
	}
	slices.SortStableFunc(candles, func(a, b market.Candle) int { return a.Start.Compare(b.Start) })
	for i := 1; i < len(candles); i++ {
		if !candles[i].Start.After(candles[i-1].Start) {
			return nil, fmt.Errorf("history candles %s: two candles at %s (overlapping files?)", strings.Join(files, ","), candles[i].Start)
		}
	}
	return candles, nil
}

// fileChain streams trade files one after the other, ids continuing.
type fileChain struct {
	files  []string
	pair   string
	nextID int64
	cur    archive.TradeStream
}

func (c *fileChain) Next() (market.Trade, error) {
	for {
		if c.cur == nil {
			if len(c.files) == 0 {
				return market.Trade{}, io.EOF
			}
			cur, err := archive.OpenTrades(c.files[0], c.pair, c.nextID)
			if err != nil {
				return market.Trade{}, err
			}
			c.cur, c.files = cur, c.files[1:]
		}
		t, err := c.cur.Next()
		if errors.Is(err, io.EOF) {
			c.Close()
			continue
		}
		if err != nil {
			return t, err
		}
		c.nextID = t.TradeID + 1
		return t, nil
	}
}

func (c *fileChain) Close() error {
	if c.cur == nil {
		return nil
	}
	err := c.cur.Close()
	c.cur = nil
	return err
}
