package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// defaultReplaySpan is how much of the end of a candle file streams live
// when --replay-from is not given; what comes before is the backfill's.
const defaultReplaySpan = 24 * time.Hour

// replayItem is one pair's files as --replay names them.
type replayItem struct {
	pair  string
	files []string
}

// replaySource is what one pair replays: the trades the fake Kraken streams
// (real, or reconstructed from candles and labelled so) and, for candle
// files, the split: candles before it are the backfill's, the rest stream.
// The trades are never all in memory: open streams them from the files
// (the candles of candle files are held, some 40 times fewer than the
// trades they make), and one pass at load keeps what the plan needs.
type replaySource struct {
	pair    string
	files   []string // absolute paths
	candles bool     // the files hold candles, not trades
	// open starts a new stream of the trades, for the fake Kraken.
	open func() (fakekraken.TradeSource, error)
	// head is the first snapshotMax+1 trades (snapshotSizes), count all
	// of them, firstTS and lastTS the first's and the last's times.
	head            []market.Trade
	count           int
	firstTS, lastTS time.Time
	// split is the start of the first streamed candle (candle files only);
	// backfill says whether the files hold candles before it.
	split    time.Time
	backfill bool
}

func (s *replaySource) first() time.Time { return s.firstTS }
func (s *replaySource) last() time.Time  { return s.lastTS }

// scan reads the stream once for head, count and times, checking that
// time never goes backwards (across files too).
func (s *replaySource) scan() error {
	src, err := s.open()
	if err != nil {
		return err
	}
	defer closeSource(src)
	for {
		t, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("replay %s: %w", s.pair, err)
		}
		if s.count > 0 && t.TS.Before(s.lastTS) {
			return fmt.Errorf("replay %s: trade %d at %s before the previous one (files out of order?)", s.pair, t.TradeID, t.TS.Format(time.RFC3339Nano))
		}
		if len(s.head) <= snapshotMax {
			s.head = append(s.head, t)
		}
		if s.count == 0 {
			s.firstTS = t.TS
		}
		s.count, s.lastTS = s.count+1, t.TS
	}
	if s.count == 0 {
		return fmt.Errorf("replay %s: no trades in %s", s.pair, strings.Join(s.files, ","))
	}
	return nil
}

func closeSource(src fakekraken.TradeSource) {
	if c, ok := src.(io.Closer); ok {
		c.Close()
	}
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

// parseReplayList reads --replay: a comma list of FILE or PAIR=FILE items.
// Files without a pair replay, concatenated, under each pair of --pair when
// it was given, else under the pair their name tells (BTC/USD when none).
// Items keep the order of their first appearance.
func parseReplayList(list, pairFlag string, pairSet bool) ([]replayItem, error) {
	var (
		items    []replayItem
		unpaired []string
	)
	add := func(pair, file string) {
		for i := range items {
			if items[i].pair == pair {
				items[i].files = append(items[i].files, file)
				return
			}
		}
		items = append(items, replayItem{pair: pair, files: []string{file}})
	}
	for raw := range strings.SplitSeq(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if k, v, ok := strings.Cut(raw, "="); ok {
			if p, err := market.NormalizePair(k); err == nil {
				if strings.TrimSpace(v) == "" {
					return nil, fmt.Errorf("replay %q: no file after %s=", raw, k)
				}
				add(p, strings.TrimSpace(v))
				continue
			}
		}
		unpaired = append(unpaired, raw)
	}
	if len(unpaired) == 0 {
		if len(items) == 0 {
			return nil, errors.New("replay: no file")
		}
		return items, nil
	}
	if pairSet {
		pairs, err := splitPairList(pairFlag)
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			for _, f := range unpaired {
				add(p, f)
			}
		}
		return items, nil
	}
	for _, f := range unpaired {
		p, err := archive.DefaultPair(f)
		if err != nil || p == "" {
			p, _ = market.NormalizePair(pairFlag)
		}
		add(p, f)
	}
	return items, nil
}

// loadReplaySource reads an item's files. Trade files replay whole; candle
// files are split at from (zero: span before the end of the last candle).
func loadReplaySource(it replayItem, from time.Time, span time.Duration) (*replaySource, error) {
	src := &replaySource{pair: it.pair}
	kinds := map[bool]bool{}
	for _, f := range it.files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		format, err := archive.Detect(abs)
		if err != nil {
			return nil, fmt.Errorf("replay %s: %w", f, err)
		}
		kinds[format.HasCandles()] = true
		src.files = append(src.files, abs)
	}
	if len(kinds) > 1 {
		return nil, fmt.Errorf("replay %s: mixes trade and candle files", it.pair)
	}
	src.candles = kinds[true]
	if !src.candles {
		src.open = func() (fakekraken.TradeSource, error) {
			return &fileChain{files: src.files, pair: it.pair, nextID: 1}, nil
		}
		return src, src.scan()
	}
	candles, err := readCandleFiles(src.files, it.pair)
	if err != nil {
		return nil, err
	}
	if len(candles) == 0 {
		return nil, fmt.Errorf("replay %s: no candles in %s", it.pair, strings.Join(it.files, ","))
	}
	if from.IsZero() {
		from = candles[len(candles)-1].End.Add(-span)
	}
	i, _ := slices.BinarySearchFunc(candles, from, func(c market.Candle, t time.Time) int { return c.Start.Compare(t) })
	if i == len(candles) {
		return nil, fmt.Errorf("replay %s: no candle at or after %s (the files end %s)", it.pair,
			from.UTC().Format(time.RFC3339), candles[len(candles)-1].End.UTC().Format(time.RFC3339))
	}
	src.split, src.backfill = candles[i].Start, i > 0
	streamed := slices.Clone(candles[i:]) // the backfill's candles are not kept
	src.open = func() (fakekraken.TradeSource, error) { return fakekraken.NewReconstructSource(streamed, 1), nil }
	if err := src.scan(); err != nil {
		return nil, fmt.Errorf("replay %s: no candle with volume after %s: %w", it.pair, src.split.Format(time.RFC3339), err)
	}
	return src, nil
}

// replayGroup holds sources whose replays overlap in market time: they
// start together, on one market clock. Each source still gets its own fake
// Kraken and pipeline (see snapshotSizes).
type replayGroup struct {
	sources []*replaySource
}

func (g *replayGroup) pairs() []string {
	var out []string
	for _, s := range g.sources {
		out = append(out, s.pair)
	}
	return out
}

func (g *replayGroup) last() time.Time {
	var last time.Time
	for _, s := range g.sources {
		if s.last().After(last) {
			last = s.last()
		}
	}
	return last
}

// snapshotDefault is Kraken's snapshot size, and snapshotMax a bound that
// keeps a snapshot message far below the client's 4 MiB frame limit.
const (
	snapshotDefault = 50
	snapshotMax     = 10000
)

// snapshotSizes aligns the group's replays. A fake Kraken publishes its
// first SnapshotSize trades at once and replays the rest from the last of
// them; a subscriber's snapshot holds only the last SnapshotSize published
// trades. One fake serving several pairs would align them on the latest of
// their snapshot ends and publish more than SnapshotSize trades of the
// others, which the snapshot then drops: their first candles would go
// missing (and warm start with them). So each source gets its own fake, with
// a snapshot of exactly its trades up to the group's common start: they all
// begin at that market time and nothing is lost.
func (g *replayGroup) snapshotSizes() (sizes []int, start time.Time) {
	for _, s := range g.sources {
		if ts := s.head[min(snapshotDefault, len(s.head))-1].TS; ts.After(start) {
			start = ts
		}
	}
	for _, s := range g.sources {
		// head holds snapshotMax+1 trades: n beyond it is capped below anyway.
		n, _ := slices.BinarySearchFunc(s.head, start, func(t market.Trade, ts time.Time) int {
			if t.TS.After(ts) {
				return 1
			}
			return -1
		})
		sizes = append(sizes, min(max(n, 1), snapshotMax))
	}
	return sizes, start
}

// groupReplays puts sources whose [first, last] trade spans overlap in one group.
func groupReplays(srcs []*replaySource) []*replayGroup {
	sorted := slices.Clone(srcs)
	slices.SortStableFunc(sorted, func(a, b *replaySource) int { return a.first().Compare(b.first()) })
	var groups []*replayGroup
	for _, s := range sorted {
		if n := len(groups); n > 0 && !s.first().After(groups[n-1].last()) {
			groups[n-1].sources = append(groups[n-1].sources, s)
			continue
		}
		groups = append(groups, &replayGroup{sources: []*replaySource{s}})
	}
	return groups
}

// defaultOfflineReplay is the offline demo: the two real 90-day Binance
// kline files, ETH/USDT and BTC/USDT.
func defaultOfflineReplay() (string, error) {
	dir, ok := realdata.Dir()
	if !ok {
		return "", errors.New("offline and no real data found: pass --replay FILE or set " + realdata.EnvDir)
	}
	return "ETH/USDT=" + filepath.Join(dir, realdata.BinanceETH90d) + ",BTC/USDT=" + filepath.Join(dir, realdata.BinanceBTC90d), nil
}
