package training

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
)

// realDataset writes the 90 real days of Binance ETH/USDT minutes as a
// horizon-1 dataset (~130k rows, ~22 MB) with 3 CV folds, as BuildDataset
// would, and returns its path and splits.
func realDataset(tb testing.TB) (string, Splits) {
	tb.Helper()
	candles, _, err := archive.ReadCandles(realdata.Path(tb, realdata.BinanceETH90d), archive.BinanceKlines, "ETH/USDT")
	if err != nil {
		tb.Fatal(err)
	}
	f := market.NewFeatures()
	rows := make([]market.FeatureRow, 0, len(candles))
	for _, c := range candles {
		r, err := f.Update(c)
		if err != nil {
			tb.Fatal(err)
		}
		rows = append(rows, r)
	}
	ds, err := ml.Build(rows, candles, 1)
	if err != nil {
		tb.Fatal(err)
	}
	sp, err := Split(ds, 3)
	if err != nil {
		tb.Fatal(err)
	}
	path, _, err := WriteDataset(tb.TempDir(), ds, sp)
	if err != nil {
		tb.Fatal(err)
	}
	return path, sp
}

// BenchmarkTrials runs small tuning trials (3 folds of 2000 training rows,
// 10 rounds) over the real 90-day dataset: one cache for all trials, as one
// worker runs a tuning run, and a new cache per trial (every trial decodes
// the file).
func BenchmarkTrials(b *testing.B) {
	path, sp := realDataset(b)
	in := TrialRequest{Folds: sp.Folds, Params: ml.SampleParams(rand.New(rand.NewPCG(1, 2))), MaxRows: 2000, Rounds: 10, Threads: 1}
	trials := func(b *testing.B, worker func() *DatasetCache) {
		for b.Loop() {
			ds, _, err := worker().ReadDataset(path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := RunTrial(b.Context(), ds, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	shared := &DatasetCache{}
	b.Run("one-worker", func(b *testing.B) { trials(b, func() *DatasetCache { return shared }) })
	b.Run("worker-per-trial", func(b *testing.B) { trials(b, func() *DatasetCache { return &DatasetCache{} }) })
}

// smallDataset writes an n-row dataset whose labels are all y.
func smallDataset(t *testing.T, path string, n int, y float64) {
	t.Helper()
	ds := ml.Dataset{Pair: "ETH/USDT", Horizon: 1, Interval: time.Minute, Names: []string{"a", "b"}, Cols: 2}
	t0 := time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC)
	for i := range n {
		ds.TS = append(ds.TS, t0.Add(time.Duration(i)*time.Minute))
		ds.X = append(ds.X, float64(i), -float64(i))
		ds.Y = append(ds.Y, y)
		ds.Close = append(ds.Close, 100)
	}
	if err := ml.WriteDatasetFile(path, ds); err != nil {
		t.Fatal(err)
	}
}

func readCached(t *testing.T, c *DatasetCache, path string) ml.Dataset {
	t.Helper()
	ds, err := c.read(path)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// sameArrays reports whether a and b share their decoded arrays: one decode.
func sameArrays(a, b ml.Dataset) bool { return &a.X[0] == &b.X[0] && &a.Y[0] == &b.Y[0] }

func TestDatasetCacheDecodesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), datasetFile)
	smallDataset(t, path, 10, 0.5)
	var c DatasetCache
	got := make([]ml.Dataset, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			var err error
			if got[i], err = c.read(path); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, ds := range got {
		if ds.Len() != 10 || !sameArrays(ds, got[0]) {
			t.Fatalf("concurrent first reads decoded more than once (%d rows)", ds.Len())
		}
	}
	if again := readCached(t, &c, path); !sameArrays(again, got[0]) {
		t.Error("second read decoded again")
	}
	if ds := got[0]; cap(ds.X) != len(ds.X) || cap(ds.Y) != len(ds.Y) || cap(ds.Names) != len(ds.Names) {
		t.Error("shared slices not clipped: an append would write into them")
	}
}

func TestDatasetCacheRereadsRewrittenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), datasetFile)
	smallDataset(t, path, 10, 0.5)
	var c DatasetCache
	old := readCached(t, &c, path)
	smallDataset(t, path, 10, 0.25) // same size
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if ds := readCached(t, &c, path); sameArrays(ds, old) || ds.Y[0] != 0.25 || old.Y[0] != 0.5 {
		t.Errorf("rewritten file: y %v (was %v), want 0.25 from a new decode", ds.Y[0], old.Y[0])
	}
}

func TestDatasetCacheKeepsTwo(t *testing.T) {
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.bin"), filepath.Join(dir, "c.bin")}
	for _, p := range paths {
		smallDataset(t, p, 5, 1)
	}
	var c DatasetCache
	a := readCached(t, &c, paths[0])
	readCached(t, &c, paths[1])
	if !sameArrays(readCached(t, &c, paths[0]), a) { // a is now the most recent
		t.Fatal("a evicted too early")
	}
	b := readCached(t, &c, paths[1])
	readCached(t, &c, paths[2]) // evicts a, the least recently used
	if c.memo.Len() != cacheDatasets || !sameArrays(readCached(t, &c, paths[1]), b) {
		t.Errorf("%d entries, want %d with b kept", c.memo.Len(), cacheDatasets)
	}
	if sameArrays(readCached(t, &c, paths[0]), a) {
		t.Error("a kept beyond the bound")
	}
}

func TestDatasetCacheForgetsFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), datasetFile)
	if err := os.WriteFile(path, []byte("not a dataset"), 0o644); err != nil {
		t.Fatal(err)
	}
	var c DatasetCache
	if _, err := c.read(path); err == nil {
		t.Fatal("corrupt file read")
	}
	if _, err := c.read(filepath.Join(t.TempDir(), "missing.bin")); err == nil {
		t.Fatal("missing file read")
	}
	if c.memo.Len() != 0 {
		t.Errorf("%d failed entries kept", c.memo.Len())
	}
}
