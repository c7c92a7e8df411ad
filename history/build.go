package history

import (
	"context"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"path/filepath"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// The kinds of source BuildChunk builds from.
const (
	KindTrades  = "trades"  // candles from the stored trades, via market.Aggregator
	KindCandles = "candles" // the stored archive candles, missing bars filled
)

// BuildStats counts what BuildChunk wrote for a chunk: Trades read, Candles
// of the chunk (for candle sources the stored ones included), Features
// rows, Empty candles (no trades and no volume: the filled windows), and
// Last, the end of the chunk's last candle (zero without one). A rerun
// gives the same counts.
type BuildStats struct {
	Trades, Candles, Features, Empty int
	Last                             time.Time
}

// checkEvery is how many rows pass between checks of the context.
const checkEvery = 1 << 12

// BuildChunk computes the candles (from the stored trades for kind
// "trades", from the stored candles with the missing bars filled for kind
// "candles") and the feature rows of chunk c, writes them to st, flushes,
// and returns counts; see the package documentation for the rules at the
// chunk's edges. Build a pair's chunks in time order, after importing them.
// Building a chunk again rewrites identical files. dataDir, when set, must
// be the directory whose parquet/ st writes to.
func BuildChunk(ctx context.Context, st *parquet.Store, dataDir string, c Chunk, kind string, interval time.Duration) (BuildStats, error) {
	b, err := newBuilder(st, dataDir, c, interval)
	if err != nil {
		return BuildStats{}, fmt.Errorf("build %s: %w", c, err)
	}
	stats, err := b.build(ctx, kind)
	if err != nil {
		return BuildStats{}, fmt.Errorf("build %s %s: %w", kind, c, err)
	}
	return stats, nil
}

// builder holds one chunk's bounds, rounded up to the interval.
type builder struct {
	st       *parquet.Store
	root     string
	pair     string
	iv       time.Duration
	from, to time.Time
}

func newBuilder(st *parquet.Store, dataDir string, c Chunk, iv time.Duration) (*builder, error) {
	if err := (market.AggregatorConfig{Interval: iv}).Validate(); err != nil {
		return nil, err
	}
	pair, err := market.NormalizePair(c.Pair)
	if err != nil {
		return nil, err
	}
	if !c.To.After(c.From) {
		return nil, fmt.Errorf("empty chunk: %w", market.ErrInvalid)
	}
	if err := checkDataDir(st, dataDir); err != nil {
		return nil, err
	}
	return &builder{st: st, root: st.Root(), pair: pair, iv: iv, from: alignUp(c.From, iv), to: alignUp(c.To, iv)}, nil
}

// checkDataDir catches a store opened somewhere other than dataDir/parquet.
func checkDataDir(st *parquet.Store, dataDir string) error {
	if dataDir == "" {
		return nil
	}
	abs, err := filepath.Abs(datadir.Parquet(dataDir))
	if err != nil {
		return err
	}
	if abs != st.Root() {
		return fmt.Errorf("store %s is not the store of data dir %s: %w", st.Root(), dataDir, market.ErrInvalid)
	}
	return nil
}

// alignUp rounds t up to a multiple of iv (which divides a day).
func alignUp(t time.Time, iv time.Duration) time.Time {
	a := t.UTC().Truncate(iv)
	if a.Before(t) {
		a = a.Add(iv)
	}
	return a
}

func (b *builder) build(ctx context.Context, kind string) (BuildStats, error) {
	var (
		cs, write []market.Candle
		stats     BuildStats
		err       error
	)
	switch kind {
	case KindTrades:
		cs, stats.Trades, err = b.fromTrades(ctx)
		write = cs
	case KindCandles:
		cs, write, err = b.fromCandles()
	default:
		err = fmt.Errorf("kind %q: want %q or %q: %w", kind, KindTrades, KindCandles, market.ErrInvalid)
	}
	if err != nil {
		return BuildStats{}, err
	}
	rows, err := b.features(ctx, cs)
	if err != nil {
		return BuildStats{}, err
	}
	if err := b.write(ctx, write, rows); err != nil {
		return BuildStats{}, err
	}
	stats.Candles, stats.Features, stats.Empty = len(cs), len(rows), countEmpty(cs)
	if n := len(cs); n > 0 {
		stats.Last = cs[n-1].End
	}
	return stats, nil
}

func (b *builder) write(ctx context.Context, cs []market.Candle, rows []market.FeatureRow) error {
	if err := b.st.AddCandles(cs); err != nil {
		return err
	}
	if err := b.st.AddFeatures(rows); err != nil {
		return err
	}
	return b.st.Flush(ctx)
}

func countEmpty(cs []market.Candle) int {
	n := 0
	for i := range cs {
		if cs[i].Trades == 0 && cs[i].Volume == 0 {
			n++
		}
	}
	return n
}

// previous returns the stored candle ending at b.from: when there is one,
// the chunk continues the pair's stream.
func (b *builder) previous() (market.Candle, bool, error) {
	cs, err := parquet.ReadCandles(b.root, b.pair, b.from.Add(-b.iv), b.from)
	if err != nil {
		return market.Candle{}, false, err
	}
	for _, c := range cs {
		if c.End.Equal(b.from) && c.End.Sub(c.Start) == b.iv {
			return c, true, nil
		}
	}
	return market.Candle{}, false, nil
}

// fromTrades runs the aggregator over the chunk's trades, between the last
// trade before it (when the chunk continues the stream) and the first after
// it, and keeps the windows the chunk owns.
func (b *builder) fromTrades(ctx context.Context) ([]market.Candle, int, error) {
	trades, err := parquet.ReadTrades(b.root, b.pair, b.from, b.to)
	if err != nil {
		return nil, 0, err
	}
	prev, cont, err := b.previous()
	if err != nil {
		return nil, 0, err
	}
	before, after, err := b.neighbours(cont)
	if err != nil {
		return nil, 0, err
	}
	cs, err := b.aggregate(ctx, before, trades, after)
	if err != nil {
		return nil, 0, err
	}
	if cont && len(before) == 0 { // the previous candle came from a candle archive
		cs = b.leadingFill(prev, cs, len(after) > 0)
	}
	return cs, len(trades), nil
}

// neighbours returns the last stored trade before the chunk (only when it
// continues the stream) and the first at or after its end, each 0 or 1 long.
func (b *builder) neighbours(cont bool) (before, after []market.Trade, err error) {
	if cont {
		t, ok, err := lastBefore(b.root, parquet.DatasetTrades, parquet.ReadTrades, b.pair, b.from)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			before = []market.Trade{t}
		}
	}
	t, ok, err := firstFrom(b.root, parquet.DatasetTrades, parquet.ReadTrades, b.pair, b.to)
	if ok {
		after = []market.Trade{t}
	}
	return before, after, err
}

func (b *builder) aggregate(ctx context.Context, before, trades, after []market.Trade) ([]market.Candle, error) {
	// Grace 0: history is complete and in order; the aggregator still drops duplicates.
	agg, err := market.NewAggregator(market.AggregatorConfig{Interval: b.iv})
	if err != nil {
		return nil, err
	}
	var out []market.Candle
	for i, batch := range [][]market.Trade{before, trades, after} {
		for j := range batch {
			if j%checkEvery == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if out, _, err = agg.Add(batch[j], out); err != nil {
				return nil, fmt.Errorf("trade %d of part %d: %w", j, i, err)
			}
		}
	}
	if len(after) == 0 {
		out = agg.Flush(out) // the end of the pair's data: close its last window
	}
	return b.owned(out), nil
}

// owned keeps the candles starting in [from, to).
func (b *builder) owned(cs []market.Candle) []market.Candle {
	out := cs[:0]
	for _, c := range cs {
		if !c.Start.Before(b.from) && c.Start.Before(b.to) {
			out = append(out, c)
		}
	}
	return out
}

// leadingFill puts empty candles after prev before cs: up to cs's first
// window, or up to the chunk's end when it has no candle but data follows.
func (b *builder) leadingFill(prev market.Candle, cs []market.Candle, more bool) []market.Candle {
	until := b.to
	switch {
	case len(cs) > 0:
		until = cs[0].Start
	case !more:
		return cs
	}
	return append(b.fill(prev, until), cs...)
}

// fill returns the empty iv windows from prev's end to until, each
// repeating prev's close, as the aggregator emits a window without trades.
func (b *builder) fill(prev market.Candle, until time.Time) []market.Candle {
	iv := b.iv
	var out []market.Candle
	for s := prev.End; s.Before(until); s = s.Add(iv) {
		p := prev.Close
		out = append(out, market.Candle{Pair: prev.Pair, Start: s, End: s.Add(iv),
			Open: p, High: p, Low: p, Close: p, VWAP: p, Complete: true})
	}
	return out
}

// fromCandles returns the chunk's candles, stored and filled, and the
// filled ones (those to write).
func (b *builder) fromCandles() (all, filled []market.Candle, err error) {
	stored, err := parquet.ReadCandles(b.root, b.pair, b.from, b.to)
	if err != nil {
		return nil, nil, err
	}
	if err := checkBars(stored, b.iv); err != nil {
		return nil, nil, err
	}
	prev, cont, err := b.previous()
	if err != nil {
		return nil, nil, err
	}
	_, more, err := firstFrom(b.root, parquet.DatasetCandles, parquet.ReadCandles, b.pair, b.to)
	if err != nil {
		return nil, nil, err
	}
	var last *market.Candle
	if cont {
		last = &prev
	}
	for i := range stored {
		if last != nil {
			gap := b.fill(*last, stored[i].Start)
			filled, all = append(filled, gap...), append(all, gap...)
		}
		all, last = append(all, stored[i]), &stored[i]
	}
	if more && last != nil {
		tail := b.fill(*last, b.to)
		filled, all = append(filled, tail...), append(all, tail...)
	}
	return all, filled, nil
}

// checkBars rejects stored candles that are not windows of the interval.
func checkBars(cs []market.Candle, iv time.Duration) error {
	for _, c := range cs {
		if c.End.Sub(c.Start) != iv || !c.Start.Equal(c.Start.Truncate(iv)) {
			return fmt.Errorf("stored candle [%s, %s) is not a %s window: %w",
				c.Start.Format(time.RFC3339), c.End.Format(time.RFC3339), iv, market.ErrInvalid)
		}
	}
	return nil
}

// features computes the base rows of cs (baseRows).
func (b *builder) features(ctx context.Context, cs []market.Candle) ([]market.FeatureRow, error) {
	return baseRows(ctx, b.root, b.pair, b.iv, cs)
}

// baseRows computes the base feature rows (xp_* missing) of cs, one pair's
// candles in time order: each contiguous run is seeded with the stored
// candles that lead contiguously up to its first candle (at most
// LongWindow, what the long features need), so the rows equal one Features
// run over all the pair's candles however the days are split. BuildChunk
// and CrossFeatures both compute a pair's base rows here.
func baseRows(ctx context.Context, root, pair string, iv time.Duration, cs []market.Candle) ([]market.FeatureRow, error) {
	rows := make([]market.FeatureRow, 0, len(cs))
	for len(cs) > 0 {
		n := contiguousRun(cs, iv)
		f, err := seeded(root, pair, iv, cs[0].Start)
		if err != nil {
			return nil, err
		}
		for i, c := range cs[:n] {
			if i%checkEvery == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r, err := f.Update(c)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r)
		}
		cs = cs[n:]
	}
	return rows, nil
}

// seeded returns a Features fed the stored candles of pair that lead
// contiguously up to first, at most LongWindow of them.
func seeded(root, pair string, iv time.Duration, first time.Time) (*market.Features, error) {
	seed, err := parquet.ReadCandles(root, pair, first.Add(-market.LongWindow*iv), first)
	if err != nil {
		return nil, err
	}
	f := market.NewFeatures()
	for _, c := range contiguousTail(seed, first, iv) {
		if _, err := f.Update(c); err != nil {
			return nil, fmt.Errorf("seed features: %w", err)
		}
	}
	return f, nil
}

// contiguousRun is the length of the run of cs (sorted by start, non-empty)
// that starts at cs[0] without a hole, each candle lasting iv.
func contiguousRun(cs []market.Candle, iv time.Duration) int {
	n := 1
	for n < len(cs) && cs[n].Start.Equal(cs[n-1].End) && cs[n].End.Sub(cs[n].Start) == iv {
		n++
	}
	return n
}

// contiguousTail is the run of cs (sorted by start) that ends at end without
// a hole, each candle lasting iv.
func contiguousTail(cs []market.Candle, end time.Time, iv time.Duration) []market.Candle {
	i := len(cs)
	for i > 0 && cs[i-1].End.Equal(end) && cs[i-1].End.Sub(cs[i-1].Start) == iv {
		i--
		end = cs[i].Start
	}
	return cs[i:]
}

// readFunc reads a dataset's rows of pair in [from, to), sorted by time.
type readFunc[T any] func(root, pair string, from, to time.Time) ([]T, error)

// lastBefore returns the last stored row of pair before t, walking the
// day files back from t's day.
func lastBefore[T any](root string, d parquet.Dataset, read readFunc[T], pair string, t time.Time) (T, bool, error) {
	var zero T
	parts, err := parquet.Partitions(root, d, pair, time.Time{}, t)
	if err != nil {
		return zero, false, err
	}
	for i := len(parts) - 1; i >= 0; i-- {
		rows, err := read(root, pair, parts[i].Day, earlier(parts[i].Day.Add(24*time.Hour), t))
		if err != nil || len(rows) > 0 {
			return lastOf(rows), len(rows) > 0, err
		}
	}
	return zero, false, nil
}

// firstFrom returns the first stored row of pair at or after t.
func firstFrom[T any](root string, d parquet.Dataset, read readFunc[T], pair string, t time.Time) (T, bool, error) {
	var zero T
	parts, err := parquet.Partitions(root, d, pair, t, time.Time{})
	if err != nil {
		return zero, false, err
	}
	for _, p := range parts {
		rows, err := read(root, pair, later(p.Day, t), p.Day.Add(24*time.Hour))
		if err != nil || len(rows) > 0 {
			return firstOf(rows), len(rows) > 0, err
		}
	}
	return zero, false, nil
}

func lastOf[T any](rows []T) (t T) {
	if len(rows) > 0 {
		t = rows[len(rows)-1]
	}
	return t
}

func firstOf[T any](rows []T) (t T) {
	if len(rows) > 0 {
		t = rows[0]
	}
	return t
}
