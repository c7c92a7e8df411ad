package predict

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
)

// rulesFixture: ETH/USDT has an xgboost champion at h1 and the baseline at
// h5 and real features; BTC/USDT has (real ETH) features but no model;
// XRP/USDT has a model but no features; nothing knows SOL/USDT.
type rulesFixture struct {
	reg   *registry.Registry
	row   market.FeatureRow
	art   []byte
	clock *testClock
}

func newRulesFixture(t *testing.T) rulesFixture {
	t.Helper()
	art, _ := artifacts(t)
	reg := openRegistry(t)
	ctx := context.Background()
	registerChampion(t, reg, ethPair, 1, art)
	for _, s := range []struct {
		pair string
		h    int
	}{{ethPair, 5}, {"XRP/USDT", 1}} {
		if _, err := reg.EnsureBaseline(ctx, s.pair, s.h); err != nil {
			t.Fatal(err)
		}
	}
	row := warmRow(t, 0)
	return rulesFixture{reg: reg, row: row, art: art, clock: &testClock{now: row.TS.Add(30 * time.Second)}}
}

func TestPredictRules(t *testing.T) {
	f := newRulesFixture(t)
	btc := f.row
	btc.Pair = "BTC/USDT"
	cold := loadReal(t).rows[50]
	future := func(d time.Duration) func(*testClock, *market.FeatureRow) {
		return func(c *testClock, _ *market.FeatureRow) { c.Set(f.row.TS.Add(d)) }
	}
	tests := []struct {
		name    string
		pair    string
		horizon int
		opt     Options
		setup   func(*testClock, *market.FeatureRow)
		code    string
		msg     string // in the error message
		check   func(*testing.T, Prediction)
	}{
		{name: "xgboost", pair: "ETH-USDT", horizon: 1, check: func(t *testing.T, p Prediction) {
			want := directPredict(t, f.art, f.row)
			if p.PredictedReturn != want || p.Model.Name != "xgboost" || p.Model.Version != 1 || p.Model.TrainedAt.IsZero() || !p.Model.UpdatedAt.Equal(p.Model.TrainedAt) || p.Stale || p.Cached {
				t.Errorf("got %+v, want return %g from xgboost v1", p, want)
			}
			if p.PredictedReturn == 0 {
				t.Error("a trained model predicted exactly 0")
			}
		}},
		{name: "baseline predicts zero", pair: "eth/usdt", horizon: 5, check: func(t *testing.T, p Prediction) {
			if p.PredictedReturn != 0 || p.PredictedPrice != f.row.Close || p.Model != (ModelRef{Name: registry.BaselineName}) {
				t.Errorf("got %+v", p)
			}
		}},
		{name: "concatenated spelling", pair: "ETHUSDT", horizon: 1},
		{name: "unparseable pair", pair: "ETH", horizon: 1, code: CodeBadRequest},
		{name: "empty pair", pair: "", horizon: 1, code: CodeBadRequest},
		{name: "pair with junk", pair: "ETH-USDT<script>", horizon: 1, code: CodeBadRequest},
		{name: "horizon 0", pair: "ETH-USDT", horizon: 0, code: CodeBadRequest},
		{name: "horizon negative", pair: "ETH-USDT", horizon: -1, code: CodeBadRequest},
		{name: "horizon too far", pair: "ETH-USDT", horizon: market.MaxHorizon + 1, code: CodeBadRequest},
		{name: "no model at horizon", pair: "ETH-USDT", horizon: 7, code: CodeNoModel, msg: "horizons with one: 1, 5"},
		{name: "max horizon no model", pair: "ETH-USDT", horizon: market.MaxHorizon, code: CodeNoModel},
		{name: "features but no model", pair: "BTC-USDT", horizon: 1, code: CodeNoModel, msg: "any horizon"},
		{name: "unknown pair", pair: "SOL-USDT", horizon: 1, code: CodeUnknownPair},
		{name: "no features", pair: "XRP-USDT", horizon: 1, code: CodeNoFeatures},
		{name: "warming up", pair: "ETH-USDT", horizon: 1, code: CodeWarmingUp,
			setup: func(_ *testClock, r *market.FeatureRow) { *r = cold }},
		{name: "age at the budget is fresh", pair: "ETH-USDT", horizon: 1, setup: future(2 * time.Minute)},
		{name: "stale", pair: "ETH-USDT", horizon: 1, setup: future(2*time.Minute + time.Millisecond), code: CodeStale, msg: "budget of 2 candles"},
		{name: "stale allowed", pair: "ETH-USDT", horizon: 1, opt: Options{AllowStale: true}, setup: future(10 * time.Minute),
			check: func(t *testing.T, p Prediction) {
				if !p.Stale || p.FeatureAgeMS != (10*time.Minute).Milliseconds() {
					t.Errorf("got stale %v, age %d ms", p.Stale, p.FeatureAgeMS)
				}
			}},
		{name: "row schema mismatch", pair: "ETH-USDT", horizon: 1, code: CodeModel, msg: "schema",
			setup: func(_ *testClock, r *market.FeatureRow) { r.SchemaVersion++ }},
		{name: "baseline ignores the schema", pair: "ETH-USDT", horizon: 5,
			setup: func(_ *testClock, r *market.FeatureRow) { r.SchemaVersion++ }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{now: f.clock.Now()}
			row := f.row
			if tc.setup != nil {
				tc.setup(clock, &row)
			}
			s := newService(t, Config{Registry: f.reg, Features: newLatest(row, btc), Clock: clock})
			p, err := s.Predict(context.Background(), tc.pair, tc.horizon, tc.opt)
			if got := CodeOf(err); got != tc.code {
				t.Fatalf("code %q (err %v), want %q", got, err, tc.code)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("message %q lacks %q", err, tc.msg)
				}
				return
			}
			checkShape(t, p, row, tc.horizon)
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}

// checkShape checks the fields every prediction has.
func checkShape(t *testing.T, p Prediction, row market.FeatureRow, h int) {
	t.Helper()
	if p.Pair != market.PairSlug(row.Pair) || !p.AsOf.Equal(row.TS) || p.Horizon != h ||
		!p.TargetTime.Equal(row.TS.Add(time.Duration(h)*time.Minute)) || p.LastPrice != row.Close {
		t.Errorf("prediction %+v does not match row %s %s close %g", p, row.Pair, row.TS, row.Close)
	}
	if math.Abs(p.PredictedPrice-p.LastPrice*math.Exp(p.PredictedReturn)) > 1e-9*p.LastPrice {
		t.Errorf("price %g ≠ %g·exp(%g)", p.PredictedPrice, p.LastPrice, p.PredictedReturn)
	}
	if p.AsOf.Location() != time.UTC || p.TargetTime.Location() != time.UTC {
		t.Errorf("times not UTC: %v %v", p.AsOf, p.TargetTime)
	}
}

func TestNotReady(t *testing.T) {
	row := warmRow(t, 0)
	s := newService(t, Config{Registry: openRegistry(t), Features: newLatest(row)})
	if _, err := s.Predict(context.Background(), "ETH-USDT", 1, Options{}); CodeOf(err) != CodeNotReady {
		t.Errorf("empty registry: %v, want %s", err, CodeNotReady)
	}
	if ok, reason := s.Ready(); ok || !strings.Contains(reason, "no champion") {
		t.Errorf("Ready = %v %q", ok, reason)
	}
	if _, err := s.Predict(context.Background(), "nope", 1, Options{}); CodeOf(err) != CodeBadRequest {
		t.Errorf("bad pair on an empty registry: %v", err)
	}
}

func TestReady(t *testing.T) {
	f := newRulesFixture(t)
	clock := &testClock{now: f.row.TS.Add(time.Minute)}
	feats := newLatest()
	s := newService(t, Config{Registry: f.reg, Features: feats, Clock: clock})
	if ok, reason := s.Ready(); ok || !strings.Contains(reason, "no feature rows") {
		t.Errorf("no rows: Ready = %v %q", ok, reason)
	}
	if _, ok := s.FeatureAge("ETH-USDT"); ok {
		t.Error("FeatureAge without a row")
	}
	feats.Put(f.row)
	if ok, reason := s.Ready(); !ok {
		t.Errorf("fresh row: Ready = %v %q", ok, reason)
	}
	if age, ok := s.FeatureAge("ETH-USDT"); !ok || age != time.Minute {
		t.Errorf("FeatureAge = %s %v, want 1m", age, ok)
	}
	clock.Set(f.row.TS.Add(5 * time.Minute))
	if ok, reason := s.Ready(); ok || !strings.Contains(reason, "ETH-USDT 5m0s old") {
		t.Errorf("stale row: Ready = %v %q", ok, reason)
	}
	if _, ok := s.FeatureAge("???"); ok {
		t.Error("FeatureAge of a bad pair")
	}
}

func TestChampionsAndHorizons(t *testing.T) {
	f := newRulesFixture(t)
	s := newService(t, Config{Registry: f.reg, Features: newLatest(f.row)})
	var got []string
	for _, c := range s.Champions() {
		got = append(got, c.Pair+" "+c.Meta.Name)
		if c.LoadedAt.IsZero() || c.Meta.Status != registry.Champion {
			t.Errorf("champion %+v", c)
		}
	}
	if want := "ETH/USDT xgboost,ETH/USDT zero-return,XRP/USDT zero-return"; strings.Join(got, ",") != want {
		t.Errorf("champions %v, want %s", got, want)
	}
	for pair, want := range map[string]string{"ETH-USDT": "[1 5]", "ETH/USDT": "[1 5]", "ethusdt": "[1 5]", "XRP-USDT": "[1]", "SOL-USDT": "[]", "x": "[]"} {
		if got := fmt.Sprint(s.Horizons(pair)); got != want {
			t.Errorf("Horizons(%s) = %s, want %s", pair, got, want)
		}
	}
}

func TestPredictAll(t *testing.T) {
	f := newRulesFixture(t)
	s := newService(t, Config{Registry: f.reg, Features: newLatest(f.row), Clock: f.clock})
	ctx := context.Background()
	preds, errs := s.PredictAll(ctx, 0, Options{})
	if len(preds) != 2 || preds[0].Horizon != 1 || preds[1].Horizon != 5 || len(errs) != 1 {
		t.Fatalf("all horizons: %+v, errors %v", preds, errs)
	}
	var pe *PairError
	if !errors.As(errs[0], &pe) || pe.Pair != "XRP-USDT" || pe.Horizon != 1 || CodeOf(errs[0]) != CodeNoFeatures {
		t.Errorf("error %v", errs[0])
	}
	preds, errs = s.PredictAll(ctx, 5, Options{})
	if len(preds) != 1 || preds[0].Horizon != 5 || len(errs) != 0 {
		t.Errorf("h5: %+v, errors %v", preds, errs)
	}
	preds, errs = s.PredictAll(ctx, 9, Options{})
	if preds == nil || len(preds) != 0 || len(errs) != 0 {
		t.Errorf("h9: %+v, errors %v", preds, errs)
	}
	if _, errs = s.PredictAll(ctx, -3, Options{}); len(errs) != 1 || CodeOf(errs[0]) != CodeBadRequest {
		t.Errorf("h-3: errors %v", errs)
	}
}

func TestPredictRowCaches(t *testing.T) {
	f := newRulesFixture(t)
	old := warmRow(t, 0)
	next := warmRow(t, 1)
	feats := newLatest(old)
	clock := &testClock{now: next.TS.Add(time.Second)}
	s := newService(t, Config{Registry: f.reg, Features: feats, Clock: clock})
	ctx := context.Background()
	p, err := s.PredictRow(ctx, next, 1)
	if err != nil || p.Cached || !p.AsOf.Equal(next.TS) || p.PredictedReturn != directPredict(t, f.art, next) {
		t.Fatalf("PredictRow = %+v, %v", p, err)
	}
	// Computed again each time, never served from the cache.
	if p, err := s.PredictRow(ctx, next, 1); err != nil || p.Cached {
		t.Fatalf("PredictRow again = %+v, %v", p, err)
	}
	feats.Put(next)
	got, err := s.Predict(ctx, "ETH-USDT", 1, Options{})
	if err != nil || !got.Cached || got.PredictedReturn != p.PredictedReturn {
		t.Errorf("Predict after PredictRow = %+v, %v; want the cached push", got, err)
	}
	for _, tc := range []struct {
		name string
		row  func(market.FeatureRow) market.FeatureRow
		h    int
		code string
	}{
		{"bad horizon", func(r market.FeatureRow) market.FeatureRow { return r }, 0, CodeBadRequest},
		{"no model", func(r market.FeatureRow) market.FeatureRow { return r }, 3, CodeNoModel},
		{"bad pair", func(r market.FeatureRow) market.FeatureRow { r.Pair = "?"; return r }, 1, CodeBadRequest},
		{"cold", func(r market.FeatureRow) market.FeatureRow { r.Warm = false; return r }, 1, CodeWarmingUp},
		{"stale", func(r market.FeatureRow) market.FeatureRow { r.TS = r.TS.Add(-time.Hour); return r }, 1, CodeStale},
	} {
		if _, err := s.PredictRow(ctx, tc.row(next), tc.h); CodeOf(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
}

func TestNewValidates(t *testing.T) {
	reg := openRegistry(t)
	for _, cfg := range []Config{
		{Features: newLatest()},
		{Registry: reg},
		{Registry: reg, Features: newLatest(), Interval: -time.Second},
		{Registry: reg, Features: newLatest(), StaleAfter: -1},
		{Registry: reg, Features: newLatest(), Speed: math.Inf(1)},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// TestReplayClock: with a MarketClock, a replayed row of 2025 is fresh as
// long as the replay keeps up, whatever the wall clock says.
func TestReplayClock(t *testing.T) {
	f := newRulesFixture(t)
	clock := NewMarketClock(0)
	s := newService(t, Config{Registry: f.reg, Features: newLatest(f.row), Clock: clock})
	ctx := context.Background()
	if _, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); CodeOf(err) != CodeStale {
		t.Errorf("before any Observe (wall clock): %v, want %s", err, CodeStale)
	}
	clock.Observe(f.row.TS.Add(-time.Minute)) // another pair's older row: the clock lags this one
	if p, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil || p.FeatureAgeMS != 0 {
		t.Errorf("clock behind the row: %+v, %v", p, err)
	}
	clock.Observe(f.row.TS.Add(90 * time.Second))
	if p, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil || p.FeatureAgeMS != 90_000 {
		t.Errorf("replayed row: %+v, %v", p, err)
	}
	if ok, reason := s.Ready(); !ok {
		t.Errorf("Ready = false: %s", reason)
	}
	clock.Observe(f.row.TS.Add(3 * time.Minute))
	if _, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); CodeOf(err) != CodeStale {
		t.Errorf("replay moved on: %v, want %s", err, CodeStale)
	}
}
