package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/scoring"
	"github.com/tickcast/tickcast/stream"
	"github.com/tickcast/tickcast/xgboost"
)

const (
	ethPair  = "ETH/USDT"
	ethSlug  = "ETH-USDT"
	adminKey = "s3cret-admin-key"
	// realRows real ETH/USDT candles are read: enough for warm rows
	// (market.FeatureWindow) and a tiny training set.
	realRows   = 1200
	trainUntil = 900
)

// realData is the feature rows of the first realRows real Binance ETH/USDT
// 1-minute candles, and the candles, read once per test binary.
type realData struct {
	candles []market.Candle
	rows    []market.FeatureRow
}

func loadReal(tb testing.TB) realData {
	tb.Helper()
	d := realfeatures.BinanceKlines(tb, realdata.BinanceETH90d, ethPair, realRows)
	return realData{d.Candles, d.Rows}
}

var (
	artOnce sync.Once
	art     []byte
)

// artifact is a tiny real XGBoost model of ETH/USDT h1, trained once on the
// real rows before trainUntil (the layout of activities' training, via ml).
func artifact(tb testing.TB) []byte {
	tb.Helper()
	d := loadReal(tb)
	artOnce.Do(func() {
		ds, err := ml.Build(d.rows[:trainUntil], d.candles, 1)
		if err != nil {
			tb.Fatal(err)
		}
		x, y := ds.Float32(0, ds.Len())
		var zero float32
		m, err := xgboost.NewMatrix(x, ds.Len(), ds.Cols, zero/zero)
		if err != nil {
			tb.Fatal(err)
		}
		defer m.Close()
		if err := m.SetLabels(y); err != nil {
			tb.Fatal(err)
		}
		b, _, err := xgboost.Train(xgboost.Params{"objective": "reg:squarederror", "base_score": "0", "tree_method": "hist",
			"max_depth": "3", "eta": "0.3", "nthread": "1", "seed": "1"}, m, xgboost.TrainOptions{Rounds: 10})
		if err != nil {
			tb.Fatal(err)
		}
		defer b.Close()
		if art, err = b.Save("ubj"); err != nil {
			tb.Fatal(err)
		}
	})
	if art == nil {
		tb.Fatal("training the test model failed")
	}
	return art
}

// fixture is a real Server over a temp registry, real online stores fed
// with real feature rows, a real scorer and hub.
type fixture struct {
	t       testing.TB
	dir     string
	reg     *registry.Registry
	latest  *online.Latest
	candles *online.Candles
	clock   *predict.MarketClock
	pred    *predict.Service
	scorer  *scoring.Scorer
	hub     *stream.Hub
	srv     *Server
	data    realData
	next    int // index of the next real row to feed
}

type fixtureOpts struct {
	noBaseline bool    // leave the registry empty
	noRows     bool    // feed no feature rows
	speed      float64 // market clock speed (0: 1)
	timeout    time.Duration
	adminKey   *string // nil: adminKey
	dashboard  http.Handler
	maxAge     time.Duration // predict.Config.ModelMaxAge
	wall       predict.Clock // predict.Config.Wall
}

func newFixture(tb testing.TB, o fixtureOpts) *fixture {
	tb.Helper()
	f := &fixture{t: tb, dir: tb.TempDir(), latest: &online.Latest{}, candles: &online.Candles{}, data: loadReal(tb)}
	ctx := context.Background()
	var err error
	if f.reg, err = registry.Open(f.dir); err != nil {
		tb.Fatal(err)
	}
	if !o.noBaseline {
		if _, err := f.reg.EnsureBaseline(ctx, ethPair, 1); err != nil {
			tb.Fatal(err)
		}
	}
	if o.speed == 0 {
		o.speed = 1
	}
	log := testLogger(tb)
	f.clock = predict.NewMarketClock(o.speed)
	f.pred, err = predict.New(predict.Config{Registry: f.reg, Features: f.latest, Clock: f.clock, Speed: o.speed,
		ModelMaxAge: o.maxAge, Wall: o.wall, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.pred.Close() })
	if f.scorer, err = scoring.New(scoring.Config{Logger: log}); err != nil {
		tb.Fatal(err)
	}
	f.hub = stream.NewHub(stream.Config{Logger: log})
	tb.Cleanup(f.hub.Close)
	key := adminKey
	if o.adminKey != nil {
		key = *o.adminKey
	}
	f.srv, err = New(Config{Predictions: f.pred, Scores: f.scorer, Hub: f.hub, Registry: f.reg, Candles: f.candles,
		DataDir: f.dir, AdminKey: key, RequestTimeout: o.timeout, Dashboard: o.dashboard,
		Links: Links{TemporalUI: "http://localhost:8233"}, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	f.next = trainUntil
	if !o.noRows {
		f.feed(1)
	}
	return f
}

// feed puts the next n real rows (and their candles) into the online stores
// and the market clock, as the pipeline would, and returns the last.
func (f *fixture) feed(n int) market.FeatureRow {
	f.t.Helper()
	var r market.FeatureRow
	for range n {
		r = f.data.rows[f.next]
		f.candles.Put(f.data.candles[f.next])
		f.latest.Put(r)
		f.clock.Observe(r.TS)
		f.next++
	}
	return r
}

// register adds the real test model as the next version of ETH/USDT h1.
func (f *fixture) register() registry.Meta {
	f.t.Helper()
	m, err := f.reg.Register(context.Background(), registry.Meta{Pair: ethPair, Horizon: 1, Name: "xgboost",
		Params: map[string]string{"max_depth": "3"}, Metrics: map[string]float64{"model_mae": 0.001}}, artifact(f.t))
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// do sends a request to the server in process.
func (f *fixture) do(method, target string, hdr ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// get sends a GET, checks the status and decodes the JSON body into v.
func (f *fixture) get(target string, want int, v any, hdr ...string) {
	f.t.Helper()
	rec := f.do(http.MethodGet, target, hdr...)
	decode(f.t, rec.Result(), want, v)
}

func decode(tb testing.TB, res *http.Response, want int, v any) {
	tb.Helper()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		tb.Fatalf("%s %s: status %d, want %d; body %s", res.Request.Method, res.Request.URL, res.StatusCode, want, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Fatalf("content type %q, want JSON; body %s", ct, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			tb.Fatalf("decode %s: %v", b, err)
		}
	}
}

// testLogger logs to the test output when -v and TICKCAST_TEST_LOG=1.
func testLogger(tb testing.TB) *slog.Logger {
	if os.Getenv("TICKCAST_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(b []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
