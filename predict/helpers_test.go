package predict

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/xgboost"
)

// binanceETH is the real Binance ETH/USDT 1-minute kline file (90 days, no gaps).
const binanceETH = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"

const (
	ethPair    = "ETH/USDT"
	realRows   = 4000 // candles read: ~2.8 days
	trainUntil = 3000 // rows [0, trainUntil) train the test models
)

// realData is the feature rows of the first realRows real ETH/USDT candles,
// and the candles, read once per test binary.
type realData struct {
	candles []market.Candle
	rows    []market.FeatureRow
}

func loadReal(tb testing.TB) realData {
	tb.Helper()
	d := realfeatures.BinanceKlines(tb, binanceETH, ethPair, realRows)
	return realData{candles: d.Candles, rows: d.Rows}
}

// warmRow is a real warm ETH/USDT row after the training rows.
func warmRow(tb testing.TB, i int) market.FeatureRow {
	tb.Helper()
	d := loadReal(tb)
	r := d.rows[trainUntil+i]
	if !r.Warm {
		tb.Fatalf("row %d not warm", trainUntil+i)
	}
	return r
}

// trainArtifact trains a small XGBoost model on the real training rows
// (horizon h, the layout of activities' training) and returns it as UBJ.
func trainArtifact(tb testing.TB, h int, depth string, rounds int) []byte {
	tb.Helper()
	return trainBooster(tb, h, xgboost.Params{"objective": "reg:squarederror", "base_score": "0", "max_depth": depth}, rounds, false)
}

// trainBooster trains an XGBoost model with params (beside the common
// hist, eta 0.3, one thread, seed 1) on the real training rows at horizon
// h and returns it as UBJ; up labels each row 1 when its return is
// positive, 0 otherwise, instead of the return.
func trainBooster(tb testing.TB, h int, params xgboost.Params, rounds int, up bool) []byte {
	tb.Helper()
	d := loadReal(tb)
	ds, err := ml.Build(d.rows[:trainUntil], d.candles, h)
	if err != nil {
		tb.Fatal(err)
	}
	x, y := ds.Float32(0, ds.Len())
	if up {
		for i := range y {
			y[i] = float32(map[bool]int{true: 1, false: 0}[y[i] > 0])
		}
	}
	m, err := xgboost.NewMatrix(x, ds.Len(), ds.Cols, nan32())
	if err != nil {
		tb.Fatal(err)
	}
	defer m.Close()
	if err := m.SetLabels(y); err != nil {
		tb.Fatal(err)
	}
	all := xgboost.Params{"tree_method": "hist", "eta": "0.3", "nthread": "1", "seed": "1"}
	maps.Copy(all, params)
	b, _, err := xgboost.Train(all, m, xgboost.TrainOptions{Rounds: rounds})
	if err != nil {
		tb.Fatal(err)
	}
	defer b.Close()
	art, err := b.Save("ubj")
	if err != nil {
		tb.Fatal(err)
	}
	return art
}

func nan32() float32 {
	var z float32
	return z / z
}

// Two real models, trained once per test binary.
var (
	artOnce sync.Once
	artA    []byte // depth 3, 20 rounds
	artB    []byte // depth 5, 40 rounds
)

func artifacts(tb testing.TB) (a, b []byte) {
	tb.Helper()
	loadReal(tb)
	artOnce.Do(func() {
		artA = trainArtifact(tb, 1, "3", 20)
		artB = trainArtifact(tb, 1, "5", 40)
	})
	if artA == nil || artB == nil {
		tb.Fatal("training the test models failed")
	}
	return artA, artB
}

// directPredict is the model's prediction for row, straight from XGBoost.
func directPredict(tb testing.TB, art []byte, row market.FeatureRow) float64 {
	tb.Helper()
	b, err := xgboost.Load(art)
	if err != nil {
		tb.Fatal(err)
	}
	defer b.Close()
	x := make([]float32, market.NumFeatures)
	for i, v := range row.Values {
		x[i] = float32(v)
	}
	out, err := b.PredictDense(x, 1, market.NumFeatures)
	if err != nil {
		tb.Fatal(err)
	}
	return float64(out[0])
}

func openRegistry(tb testing.TB) *registry.Registry {
	tb.Helper()
	reg, err := registry.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

// registerChampion registers art as the next xgboost version of (pair, h)
// and makes it champion.
func registerChampion(tb testing.TB, reg *registry.Registry, pair string, h int, art []byte) registry.Meta {
	tb.Helper()
	ctx := context.Background()
	if _, err := reg.EnsureBaseline(ctx, pair, h); err != nil {
		tb.Fatal(err)
	}
	m, err := reg.Register(ctx, registry.Meta{Pair: pair, Horizon: h, Name: "xgboost"}, art)
	if err != nil {
		tb.Fatal(err)
	}
	if err := reg.SetAlias(ctx, pair, h, registry.Champion, m.Version, "test"); err != nil {
		tb.Fatal(err)
	}
	return m
}

// testClock is a market clock the test sets.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func newLatest(rows ...market.FeatureRow) *online.Latest {
	l := &online.Latest{}
	for _, r := range rows {
		l.Put(r)
	}
	return l
}

func newService(tb testing.TB, cfg Config) *Service {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
