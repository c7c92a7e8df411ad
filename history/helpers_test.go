package history_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// newStore opens a store at dataDir/parquet, closed at the end of the test.
func newStore(tb testing.TB) (string, *parquet.Store) {
	tb.Helper()
	dataDir := tb.TempDir()
	st, err := parquet.Open(filepath.Join(dataDir, "parquet"), parquet.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close(context.Background()) })
	return dataDir, st
}

// treeHash maps every file under dir (lock files aside) to its SHA-256.
func treeHash(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "lock") {
			return err
		}
		b, err := os.ReadFile(p)
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = hex.EncodeToString(sum[:])
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func sameTree(tb testing.TB, a, b map[string]string) {
	tb.Helper()
	if len(a) != len(b) {
		tb.Fatalf("%d files, then %d", len(a), len(b))
	}
	for p, h := range a {
		if b[p] != h {
			tb.Errorf("%s differs", p)
		}
	}
}

// oneShot is the reference: one aggregator (grace 0, then Flush) over all
// the trades and one Features over all its candles, as a replay through the
// live pipeline's code would compute them.
func oneShot(tb testing.TB, trades []market.Trade, iv time.Duration) ([]market.Candle, []market.FeatureRow) {
	tb.Helper()
	agg, err := market.NewAggregator(market.AggregatorConfig{Interval: iv})
	if err != nil {
		tb.Fatal(err)
	}
	var cs []market.Candle
	for _, t := range trades {
		if cs, _, err = agg.Add(t, cs); err != nil {
			tb.Fatal(err)
		}
	}
	cs = agg.Flush(cs)
	return cs, featuresOf(tb, cs)
}

func featuresOf(tb testing.TB, cs []market.Candle) []market.FeatureRow {
	tb.Helper()
	f := market.NewFeatures()
	rows := make([]market.FeatureRow, len(cs))
	for i, c := range cs {
		var err error
		if rows[i], err = f.Update(c); err != nil {
			tb.Fatal(err)
		}
	}
	return rows
}

func checkCandles(tb testing.TB, got, want []market.Candle) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%d candles, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			tb.Fatalf("candle %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// checkRows compares feature rows bit for bit (NaN equal to NaN), revisions included.
func checkRows(tb testing.TB, got, want []market.FeatureRow) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%d feature rows, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		same := g.Pair == w.Pair && g.TS.Equal(w.TS) && g.Warm == w.Warm && g.Close == w.Close && g.SchemaVersion == w.SchemaVersion &&
			g.Complete == w.Complete && g.Revision == w.Revision
		for k := range g.Values {
			same = same && math.Float64bits(g.Values[k]) == math.Float64bits(w.Values[k])
		}
		if !same {
			tb.Fatalf("feature row %d = %+v\nwant %+v", i, g, w)
		}
	}
}

// shuffled returns the chunks in a random (seeded) order.
func shuffled(cs []history.Chunk, seed uint64) []history.Chunk {
	out := append([]history.Chunk(nil), cs...)
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func importTrades(tb testing.TB, st *parquet.Store, trades []market.Trade, chunks []history.Chunk) {
	tb.Helper()
	for _, c := range chunks {
		if _, err := history.ImportTrades(context.Background(), st, trades, c); err != nil {
			tb.Fatal(err)
		}
	}
}

func importCandles(tb testing.TB, st *parquet.Store, cs []market.Candle, chunks []history.Chunk) int {
	tb.Helper()
	total := 0
	for _, c := range chunks {
		n, err := history.ImportCandles(context.Background(), st, cs, c)
		if err != nil {
			tb.Fatal(err)
		}
		total += n
	}
	return total
}

// buildAll builds the chunks in order and sums their stats.
func buildAll(tb testing.TB, st *parquet.Store, dataDir string, chunks []history.Chunk, kind string, iv time.Duration) history.BuildStats {
	tb.Helper()
	var sum history.BuildStats
	for _, c := range chunks {
		s, err := history.BuildChunk(context.Background(), st, dataDir, c, kind, iv)
		if err != nil {
			tb.Fatal(err)
		}
		sum.Trades, sum.Candles, sum.Features, sum.Empty = sum.Trades+s.Trades, sum.Candles+s.Candles, sum.Features+s.Features, sum.Empty+s.Empty
		if !s.Last.IsZero() {
			sum.Last = s.Last
		}
	}
	return sum
}

// stored reads back every candle and feature row of pair.
func stored(tb testing.TB, st *parquet.Store, pair string) ([]market.Candle, []market.FeatureRow) {
	tb.Helper()
	cs, err := parquet.ReadCandles(st.Root(), pair, time.Time{}, time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	rows, err := parquet.ReadFeatures(st.Root(), pair, time.Time{}, time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	return cs, rows
}
