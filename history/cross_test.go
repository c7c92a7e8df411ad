package history_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// crossDays is how many days of each real Binance file the cross tests use.
const crossDays = 6

// twoPairs is the real Binance BTC/USDT and ETH/USDT minute candles of the
// first crossDays days, ETH/USDT from the second day's noon only (its
// first chunk starts a new stream mid-day; the first day and a half have
// BTC/USDT alone); start and end are the union's bounds.
type twoPairs struct {
	btc, eth   []market.Candle
	start, end time.Time
}

func realTwoPairs(tb testing.TB) twoPairs {
	tb.Helper()
	btc := realfeatures.BinanceKlines(tb, realdata.BinanceBTC90d, "BTC/USDT", crossDays*1440).Candles
	eth := realfeatures.BinanceKlines(tb, realdata.BinanceETH90d, "ETH/USDT", crossDays*1440).Candles
	start := btc[0].Start
	end := btc[len(btc)-1].End
	if e := eth[len(eth)-1].End; e.Before(end) {
		end = e
	}
	return twoPairs{btc: between(btc, start, end), eth: between(eth, start.Add(36*time.Hour), end), start: start, end: end}
}

// between is the candles of cs starting in [from, to).
func between(cs []market.Candle, from, to time.Time) []market.Candle {
	return slices.DeleteFunc(slices.Clone(cs), func(c market.Candle) bool { return c.Start.Before(from) || !c.Start.Before(to) })
}

// backfill imports and builds both pairs in chunks of size, as the
// Backfill workflow's first two phases do.
func (d twoPairs) backfill(tb testing.TB, st *parquet.Store, dataDir string, size time.Duration) {
	tb.Helper()
	for _, p := range []struct {
		pair string
		cs   []market.Candle
	}{{"BTC/USDT", d.btc}, {"ETH/USDT", d.eth}} {
		chunks := history.Chunks(p.pair, p.cs[0].Start, p.cs[len(p.cs)-1].End, size)
		importCandles(tb, st, p.cs, shuffled(chunks, 5))
		buildAll(tb, st, dataDir, chunks, history.KindCandles, time.Minute)
	}
}

// cross runs CrossFeatures over both pairs, in chunks of size.
func (d twoPairs) cross(tb testing.TB, st *parquet.Store, dataDir string, size time.Duration) history.CrossStats {
	tb.Helper()
	var sum history.CrossStats
	for _, c := range history.Chunks("", d.start, d.end, size) {
		s, err := history.CrossFeatures(context.Background(), st, dataDir, []string{"eth-usdt", "BTC/USDT"}, c.From, c.To, time.Minute)
		if err != nil {
			tb.Fatal(err)
		}
		sum.Pairs = max(sum.Pairs, s.Pairs)
		sum.Features += s.Features
		sum.Crossed += s.Crossed
	}
	return sum
}

// reference is what the live pipeline's code computes: each pair's base
// rows from one Features run over all its candles (missing minutes filled),
// then market.CrossFill of every row with the other pair's rows.
func (d twoPairs) reference(tb testing.TB) (btc, eth []market.FeatureRow) {
	tb.Helper()
	bb, eb := featuresOf(tb, withEmptyMinutes(d.btc)), featuresOf(tb, withEmptyMinutes(d.eth))
	return crossWith(bb, eb), crossWith(eb, bb)
}

func crossWith(rows, others []market.FeatureRow) []market.FeatureRow {
	at := make(map[time.Time]market.FeatureRow, len(others))
	for _, o := range others {
		at[o.TS] = o
	}
	out := make([]market.FeatureRow, len(rows))
	for i, r := range rows {
		var os []market.FeatureRow
		if o, ok := at[r.TS]; ok {
			os = append(os, o)
		}
		out[i] = market.CrossFill(r, os)
	}
	return out
}

// TestCrossFeaturesTwoRealPairs backfills two real pairs in 2-day chunks,
// then runs the cross step day by day: every stored row of both pairs
// equals market.CrossFill of the base rows one Features run computes, bit
// for bit and revisions included. Running the step again, over one range,
// rewrites identical files; a backfill in other chunks crossed in one range
// writes identical files too.
func TestCrossFeaturesTwoRealPairs(t *testing.T) {
	d := realTwoPairs(t)
	dataDir, st := newStore(t)
	d.backfill(t, st, dataDir, 2*day)
	s := d.cross(t, st, dataDir, day)

	wantB, wantE := d.reference(t)
	_, gotB := stored(t, st, "BTC/USDT")
	_, gotE := stored(t, st, "ETH/USDT")
	checkRows(t, gotB, wantB)
	checkRows(t, gotE, wantE)
	if want := (history.CrossStats{Pairs: 2, Features: len(wantB) + len(wantE), Crossed: 2 * len(wantE)}); s != want {
		t.Errorf("stats %+v, want %+v", s, want)
	}
	r := gotE[len(gotE)/2]
	b := gotB[slices.IndexFunc(gotB, func(b market.FeatureRow) bool { return b.TS.Equal(r.TS) })]
	if r.Revision != 1 || b.Revision != 1 || math.IsNaN(b.Values[market.FRet1]) || r.Values[market.FXRet1] != b.Values[market.FRet1] {
		t.Errorf("ETH/USDT at %s: revisions %d and %d, xp_ret_1 %g; want 1 and BTC/USDT's ret_1 %g", r.TS, r.Revision, b.Revision, r.Values[market.FXRet1], b.Values[market.FRet1])
	}

	before := treeHash(t, dataDir)
	if again := d.cross(t, st, dataDir, 10*day); again != s {
		t.Errorf("stats of the rerun %+v, first %+v", again, s)
	}
	sameTree(t, before, treeHash(t, dataDir))

	otherDir, other := newStore(t)
	d.backfill(t, other, otherDir, 3*day)
	d.cross(t, other, otherDir, 10*day)
	sameTree(t, treeHash(t, filepath.Join(dataDir, "parquet")), treeHash(t, filepath.Join(otherDir, "parquet")))
}

// TestCrossFeaturesOnePair: with a single pair the rows stay BuildChunk's
// (xp_* missing, revisions unchanged), files included.
func TestCrossFeaturesOnePair(t *testing.T) {
	d := realTwoPairs(t)
	dataDir, st := newStore(t)
	chunks := history.Chunks("BTC/USDT", d.start, d.end, 2*day)
	importCandles(t, st, d.btc, chunks)
	buildAll(t, st, dataDir, chunks, history.KindCandles, time.Minute)
	before := treeHash(t, dataDir)
	s, err := history.CrossFeatures(context.Background(), st, dataDir, []string{"BTC/USDT"}, d.start, d.end, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pairs != 1 || s.Crossed != 0 || s.Features != len(withEmptyMinutes(d.btc)) {
		t.Errorf("stats %+v", s)
	}
	sameTree(t, before, treeHash(t, dataDir))
}

func TestCrossFeaturesRefuses(t *testing.T) {
	dataDir, st := newStore(t)
	ctx := context.Background()
	from := at("2025-05-20T00:00:00Z")
	for name, call := range map[string]func() error{
		"no pairs": func() error {
			_, err := history.CrossFeatures(ctx, st, dataDir, nil, from, from.Add(day), time.Minute)
			return err
		},
		"empty range": func() error {
			_, err := history.CrossFeatures(ctx, st, dataDir, []string{"BTC/USD"}, from, from, time.Minute)
			return err
		},
		"interval": func() error {
			_, err := history.CrossFeatures(ctx, st, dataDir, []string{"BTC/USD"}, from, from.Add(day), 7*time.Minute)
			return err
		},
		"other data dir": func() error {
			_, err := history.CrossFeatures(ctx, st, t.TempDir(), []string{"BTC/USD"}, from, from.Add(day), time.Minute)
			return err
		},
	} {
		if err := call(); !errors.Is(err, market.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := history.CrossFeatures(ctx, st, dataDir, []string{"nope"}, from, from.Add(day), time.Minute); err == nil {
		t.Error("a bad pair was accepted")
	}
}

// TestRebuildFeaturesCrossesThePairs: the two real pairs backfilled and
// crossed; their feature rows replaced by schema-1 ones; RebuildFeatures
// over the store's pairs writes the fresh backfill's files again, xp_*
// and revisions included.
func TestRebuildFeaturesCrossesThePairs(t *testing.T) {
	d := realTwoPairs(t)
	dataDir, st := newStore(t)
	d.backfill(t, st, dataDir, 2*day)
	d.cross(t, st, dataDir, day)
	want := treeHash(t, dataDir)

	for _, p := range []string{"BTC/USDT", "ETH/USDT"} {
		_, rows := stored(t, st, p)
		for i := range rows {
			rows[i].SchemaVersion, rows[i].Revision = 1, 7
			rows[i].Values[market.FXRet1] = 0
		}
		if err := st.AddFeatures(rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	pairs, err := parquet.Pairs(st.Root(), parquet.DatasetCandles)
	if err != nil {
		t.Fatal(err)
	}
	res, err := history.RebuildFeatures(context.Background(), st, dataDir, pairs, time.Minute, 7*day, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pairs) != 2 || res.Cross.Pairs != 2 || res.Cross.Features != res.Pairs[0].Features+res.Pairs[1].Features || res.Cross.Crossed == 0 {
		t.Errorf("result %+v", res)
	}
	sameTree(t, want, treeHash(t, dataDir))
}
