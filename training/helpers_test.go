package training

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/xgboost"
)

// week is a store with the first 7 real days of Binance ETH/USDT, built once
// and copied into each test's directory.
var week struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if week.dir != "" {
		os.RemoveAll(week.dir)
	}
	os.Exit(code)
}

// weekStore is a new data directory whose store holds the real week.
func weekStore(t *testing.T) string {
	t.Helper()
	path := realdata.Path(t, realdata.BinanceETH90d)
	week.once.Do(func() { week.dir, week.err = buildWeek(t, path) })
	if week.err != nil {
		t.Fatal(week.err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(datadir.Parquet(dir), os.DirFS(datadir.Parquet(week.dir))); err != nil {
		t.Fatal(err)
	}
	return dir
}

func buildWeek(t *testing.T, path string) (string, error) {
	dir, err := os.MkdirTemp("", "tickcast-training-week-")
	if err != nil {
		return "", err
	}
	candles, _, err := archive.ReadCandles(path, archive.BinanceKlines, "ETH/USDT")
	if err != nil {
		return dir, err
	}
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		return dir, err
	}
	c := history.Chunk{Pair: "ETH/USDT", From: date("2025-05-20T00:00:00Z"), To: date("2025-05-27T00:00:00Z")}
	if _, err := history.ImportCandles(t.Context(), st, candles, c); err != nil {
		return dir, err
	}
	if _, err := history.BuildChunk(t.Context(), st, dir, c, history.KindCandles, time.Minute); err != nil {
		return dir, err
	}
	return dir, st.Close(t.Context())
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// weekDataset builds the horizon-1 dataset of the real week in a new data
// directory, and reads it back.
func weekDataset(t *testing.T) (string, DatasetInfo, ml.Dataset, Splits) {
	t.Helper()
	dir := weekStore(t)
	info, err := BuildDataset(t.Context(), dir, DatasetRequest{Pair: "ETH/USDT", Horizon: 1, Folds: 3})
	if err != nil {
		t.Fatal(err)
	}
	var c DatasetCache
	ds, sp, err := c.ReadDataset(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	return dir, info, ds, sp
}

// sampleParams is the first trial of a tuning run with seed 3
// (workflows.SampleTrials(1, 3)[0], which this package cannot import).
func sampleParams() ml.TrialParams {
	return ml.SampleParams(rand.New(rand.NewPCG(3, 0x7475_6e65)))
}

// trainModel fits XGBoost on rows [lo, hi) of the dataset with labels
// shifted by shift, and returns the model bytes.
func trainModel(t *testing.T, ds ml.Dataset, lo, hi, rounds int, shift float64) []byte {
	t.Helper()
	x, y := ds.Float32(lo, hi)
	for i := range y {
		y[i] += float32(shift)
	}
	m, err := xgboost.NewMatrix(x, hi-lo, ds.Cols, float32(math.NaN()))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.SetLabels(y); err != nil {
		t.Fatal(err)
	}
	p := sampleParams()
	p.MaxDepth, p.Eta, p.MinChildWeight, p.Subsample, p.ColsampleBytree = 8, 0.3, 1, 1, 1
	b, _, err := xgboost.Train(xgboost.Params(p.XGB()), m, xgboost.TrainOptions{Rounds: rounds})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	buf, err := b.Save("ubj")
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
