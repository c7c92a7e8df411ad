package predict

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/xgboost"
)

func ensureIn(tb testing.TB, reg *registry.Registry, h int, products ...string) {
	tb.Helper()
	for _, p := range products {
		if _, err := reg.EnsureBaselineIn(context.Background(), registry.Series{Pair: ethPair, Horizon: h, Product: p}); err != nil {
			tb.Fatal(err)
		}
	}
}

// registerProduct registers m (with art) and makes it the champion of its series.
func registerProduct(tb testing.TB, reg *registry.Registry, m registry.Meta, art []byte) registry.Meta {
	tb.Helper()
	ctx := context.Background()
	m.Pair = ethPair
	if _, err := reg.EnsureBaselineIn(ctx, m.Series()); err != nil {
		tb.Fatal(err)
	}
	got, err := reg.Register(ctx, m, art)
	if err != nil {
		tb.Fatal(err)
	}
	if err := reg.SetAliasIn(ctx, got.Series(), registry.Champion, got.Version, "test"); err != nil {
		tb.Fatal(err)
	}
	return got
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// The products' baselines (version 0, no data) forecast from the row
// alone: last-rv, last-rv-gaussian as prices, climatology's 0.5.
func TestProductBaselines(t *testing.T) {
	reg := openRegistry(t)
	for _, h := range []int{1, 5} {
		ensureIn(t, reg, h, "", registry.ProductVol, registry.ProductQuantiles, registry.ProductPUp)
	}
	row := warmRow(t, 0)
	s := newService(t, Config{Registry: reg, Features: newLatest(row), Clock: &testClock{now: row.TS}})
	for _, tc := range []struct {
		h  int
		rv float64
	}{{1, math.Abs(row.Values[market.FRet1])}, {5, row.Values[market.FRVol5]}} {
		p, err := s.Predict(context.Background(), ethPair, tc.h, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Vol == nil || p.Vol.Value != tc.rv || p.Vol.Model != (ModelRef{Name: "last-rv"}) {
			t.Errorf("h%d vol %+v, want last-rv %g", tc.h, p.Vol, tc.rv)
		}
		q := p.Quantiles
		if q == nil || q.Model != (ModelRef{Name: "last-rv-gaussian"}) || !near(q.P10, row.Close*math.Exp(ml.NormInv(0.1)*tc.rv)) ||
			q.P50 != row.Close || !near(q.P90, row.Close*math.Exp(ml.NormInv(0.9)*tc.rv)) || !(q.P10 < q.P50 && q.P50 < q.P90) {
			t.Errorf("h%d quantiles %+v (close %g, σ %g)", tc.h, q, row.Close, tc.rv)
		}
		if p.PUp == nil || p.PUp.Value != 0.5 || p.PUp.Model != (ModelRef{Name: "climatology"}) {
			t.Errorf("h%d p_up %+v", tc.h, p.PUp)
		}
		if p.Model != (ModelRef{Name: registry.BaselineName}) || p.Degraded {
			t.Errorf("h%d return %+v degraded %v %q", tc.h, p.Model, p.Degraded, p.DegradedReason)
		}
	}
	if cs := s.Champions(); len(cs) != 8 || cs[1].Product != registry.ProductVol || cs[3].Product != registry.ProductPUp {
		t.Errorf("champions %+v", cs)
	}
}

// trainLogistic is a small binary:logistic booster on the real rows (up at h).
func trainLogistic(tb testing.TB, h int) []byte {
	tb.Helper()
	return trainBooster(tb, h, xgboost.Params{"objective": "binary:logistic", "max_depth": "3"}, 10, true)
}

// Trained products serve by the artifact contract: vol = exp(output) ×
// vol_scale, quantiles = last close × exp(z · vol), p_up the logistic output;
// fitted baselines from their params (HAR).
func TestProductModels(t *testing.T) {
	reg := openRegistry(t)
	artA, _ := artifacts(t) // a booster whose output stands in for ln vol
	logit := trainLogistic(t, 1)
	registerChampion(t, reg, ethPair, 1, artA)
	volParams := map[string]string{"vol_target": "log", "vol_scale": "2"}
	v := registerProduct(t, reg, registry.Meta{Horizon: 1, Product: registry.ProductVol, Name: "xgboost", Params: volParams}, artA)
	qParams := map[string]string{"vol_target": "log", "vol_scale": "2", "z10": "-1.5", "z50": "0.1", "z90": "1.4"}
	q := registerProduct(t, reg, registry.Meta{Horizon: 1, Product: registry.ProductQuantiles, Name: "xgboost-vol-z", Params: qParams}, artA)
	pu := registerProduct(t, reg, registry.Meta{Horizon: 1, Product: registry.ProductPUp, Name: "xgboost"}, logit)
	har := ml.HAR{H: 5, Windows: []int{5, 60, 240}, Coef: []float64{1e-4, 0.5, 0.3, 0.1}}
	registerProduct(t, reg, registry.Meta{Horizon: 5, Product: registry.ProductVol, Name: ml.BaselineHAR, Params: har.Params()}, nil)
	hg := har.Params()
	hg["z10"], hg["z50"], hg["z90"] = "-1.3", "0", "1.3"
	registerProduct(t, reg, registry.Meta{Horizon: 5, Product: registry.ProductQuantiles, Name: ml.BaselineHARGaussian, Params: hg}, nil)
	registerProduct(t, reg, registry.Meta{Horizon: 5, Product: registry.ProductPUp, Name: "climatology", Params: map[string]string{"p_up": "0.53"}}, nil)
	ensureIn(t, reg, 5, "")

	row := warmRow(t, 1)
	s := newService(t, Config{Registry: reg, Features: newLatest(row), Clock: &testClock{now: row.TS}})
	p, err := s.Predict(context.Background(), ethPair, 1, Options{Product: registry.ProductQuantiles})
	if err != nil {
		t.Fatal(err)
	}
	vol := math.Exp(directPredict(t, artA, row)) * 2
	if p.Vol == nil || !near(p.Vol.Value, vol) || p.Vol.Model != NewModelRef(v) {
		t.Errorf("vol %+v, want %g", p.Vol, vol)
	}
	if p.Quantiles == nil || !near(p.Quantiles.P10, row.Close*math.Exp(-1.5*vol)) || !near(p.Quantiles.P50, row.Close*math.Exp(0.1*vol)) ||
		!near(p.Quantiles.P90, row.Close*math.Exp(1.4*vol)) || p.Quantiles.Model != NewModelRef(q) {
		t.Errorf("quantiles %+v", p.Quantiles)
	}
	if up := directPredict(t, logit, row); p.PUp == nil || !near(p.PUp.Value, up) || !(up > 0 && up < 1) || p.PUp.Model.Version != pu.Version {
		t.Errorf("p_up %+v, want %g", p.PUp, up)
	}
	p5, err := s.Predict(context.Background(), ethPair, 5, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hv, ok := har.PredictRow(row.Values[:])
	if !ok || p5.Vol == nil || !near(p5.Vol.Value, hv) || p5.Vol.Model.Name != ml.BaselineHAR ||
		p5.Quantiles == nil || !near(p5.Quantiles.P90, row.Close*math.Exp(1.3*hv)) || p5.PUp == nil || p5.PUp.Value != 0.53 {
		t.Errorf("h5: vol %+v (HAR %g), quantiles %+v, p_up %+v", p5.Vol, hv, p5.Quantiles, p5.PUp)
	}
	// A cached answer carries the products too.
	if c, err := s.Predict(context.Background(), ethPair, 1, Options{}); err != nil || !c.Cached || c.Vol == nil || *c.Vol != *p.Vol {
		t.Errorf("cached %+v, %v", c, err)
	}
}

// A product champion that cannot load — an older feature schema, a corrupt
// file — falls back to its product's baseline, and /readyz's Degraded says
// why; the other products and the return model serve on.
func TestProductFallback(t *testing.T) {
	reg := openRegistry(t)
	artA, _ := artifacts(t)
	registerChampion(t, reg, ethPair, 1, artA)
	old := registerProduct(t, reg, registry.Meta{Horizon: 1, Product: registry.ProductVol, Name: "xgboost", FeatureSchemaVersion: 1,
		Params: map[string]string{"vol_target": "log"}}, artA)
	ensureIn(t, reg, 1, registry.ProductPUp)
	ensureIn(t, reg, 7, "", registry.ProductVol) // last-rv has no feature over 7 candles
	row := warmRow(t, 0)
	s := newService(t, Config{Registry: reg, Features: newLatest(row), Clock: &testClock{now: row.TS}})
	p, err := s.Predict(context.Background(), ethPair, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Vol == nil || p.Vol.Model != (ModelRef{Name: "last-rv"}) || p.Model.Name != "xgboost" || p.PUp == nil {
		t.Errorf("vol %+v, return %+v, p_up %+v", p.Vol, p.Model, p.PUp)
	}
	if !p.Degraded || !strings.HasPrefix(p.DegradedReason, "vol: v"+strconv.Itoa(old.Version)+": feature schema 1, this build computes") {
		t.Errorf("degraded %v %q", p.Degraded, p.DegradedReason)
	}
	ds := s.Degraded()
	if len(ds) != 2 || ds[0].Product != registry.ProductVol || ds[0].Serving != 0 || ds[0].Wanted != old.Version ||
		ds[1].Horizon != 7 || ds[1].Serving != -1 || !strings.Contains(ds[1].Reason, "last-rv cannot serve horizon 7") {
		t.Errorf("degraded %+v", ds)
	}
	p7, err := s.Predict(context.Background(), ethPair, 7, Options{})
	if err != nil || p7.Vol != nil || !p7.Degraded {
		t.Errorf("h7: %+v, %v", p7, err)
	}
	_, err = s.Predict(context.Background(), ethPair, 7, Options{Product: registry.ProductVol})
	if CodeOf(err) != CodeNoProduct || !strings.Contains(err.Error(), "no vol champion for ETH-USDT at horizon 7; products at horizon 7: return; horizons with vol: 1") {
		t.Errorf("h7 vol: %v", err)
	}
	_, err = s.Predict(context.Background(), ethPair, 1, Options{Product: registry.ProductQuantiles})
	if CodeOf(err) != CodeNoProduct || !strings.Contains(err.Error(), "products at horizon 1: return, vol, p_up; horizons with quantiles: none") {
		t.Errorf("h1 quantiles: %v", err)
	}
}

// A row with ±Inf, or NaN in a required feature, is refused and counted
// once however often it is asked for; NaN where a feature may be missing
// is XGBoost's missing value and serves.
func TestBadFeatureRows(t *testing.T) {
	reg := openRegistry(t)
	artA, _ := artifacts(t)
	registerChampion(t, reg, ethPair, 1, artA)
	row := warmRow(t, 2)
	feats := newLatest(row)
	s := newService(t, Config{Registry: reg, Features: feats, Clock: &testClock{now: row.TS}})
	for i, bad := range []struct {
		feature int
		v       float64
	}{{market.FRSI14, math.NaN()}, {market.FTradeCount, math.Inf(1)}} {
		r := row
		r.TS = row.TS.Add(time.Duration(i) * time.Minute) // a candle of its own: counted on its own
		r.Values[bad.feature] = bad.v
		feats.Put(r)
		for range 3 {
			_, err := s.Predict(context.Background(), ethPair, 1, Options{})
			if CodeOf(err) != CodeBadFeatures || !strings.Contains(err.Error(), market.FeatureNames[bad.feature]) {
				t.Errorf("%s = %g: %v", market.FeatureNames[bad.feature], bad.v, err)
			}
		}
		if _, err := s.PredictRow(context.Background(), r, 1); CodeOf(err) != CodeBadFeatures {
			t.Errorf("PredictRow: %v", err)
		}
		if n := s.RejectedRows(); n != uint64(i+1) {
			t.Errorf("rejected %d rows, want %d", n, i+1)
		}
	}
	r := row
	r.TS = row.TS.Add(2 * time.Minute)
	r.Values[market.FRVol1440], r.Values[market.FTradeCount] = math.NaN(), math.NaN()
	feats.Put(r)
	p, err := s.Predict(context.Background(), ethPair, 1, Options{NoCache: true})
	if err != nil {
		t.Fatalf("missing-by-design NaN: %v", err)
	}
	x := directPredict(t, artA, r)
	if !near(p.PredictedReturn, x) {
		t.Errorf("predicted %g, XGBoost with NaN as missing %g", p.PredictedReturn, x)
	}
}

// Swapping a product's champion while predictions run on it never fails
// one: each answers with the old model or the new, and the old booster is
// closed once its last prediction is done.
func TestProductHotSwap(t *testing.T) {
	reg := openRegistry(t)
	artA, artB := artifacts(t)
	registerChampion(t, reg, ethPair, 1, artA)
	params := map[string]string{"vol_target": "log"}
	v1 := registerProduct(t, reg, registry.Meta{Horizon: 1, Product: registry.ProductVol, Name: "xgboost", Params: params}, artA)
	v2 := registerProduct(t, reg, registry.Meta{Horizon: 1, Product: registry.ProductVol, Name: "xgboost", Params: params}, artB)
	row := warmRow(t, 3)
	s := newService(t, Config{Registry: reg, Features: newLatest(row), Clock: &testClock{now: row.TS}})
	ctx := context.Background()
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				p, err := s.Predict(ctx, ethPair, 1, Options{NoCache: true, Product: registry.ProductVol})
				if err == nil && p.Vol.Model.Version != v1.Version && p.Vol.Model.Version != v2.Version {
					err = fmt.Errorf("vol by v%d", p.Vol.Model.Version)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	vs := registry.Series{Pair: ethPair, Horizon: 1, Product: registry.ProductVol}
	for i := range 20 {
		v := []int{v1.Version, v2.Version}[i%2]
		if err := reg.SetAliasIn(ctx, vs, registry.Champion, v, "swap"); err != nil {
			t.Fatal(err)
		}
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
