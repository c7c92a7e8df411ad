package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
)

// The products' champions answer beside the return one, each with its
// model; ?product demands one (404 naming what exists when it is missing);
// every answer validates against openapi.json.
func TestPredictionProducts(t *testing.T) {
	_, router := loadSpec(t)
	ctx := context.Background()
	f := newFixture(t, fixtureOpts{})
	for _, p := range []string{registry.ProductVol, registry.ProductQuantiles, registry.ProductPUp} {
		if _, err := f.reg.EnsureBaselineIn(ctx, registry.Series{Pair: ethPair, Horizon: 1, Product: p}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.pred.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	f.scorer.Observe(f.data.rows[f.next-1]) // the as-of row, as Follow does before predicting
	for _, target := range []string{"/v1/predictions/ETH-USDT", "/v1/predictions/ETH-USDT?product=vol", "/v1/predictions",
		"/v1/predictions/ETH-USDT?horizon=5&product=p_up", "/v1/predictions/ETH-USDT?product=sharpe", "/v1/info", "/v1/models?product=vol"} {
		req := httptest.NewRequest("GET", target, nil)
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		validateAgainstSpec(t, router, req, rec)
	}
	// The served predictions, products included, are the history's.
	req := httptest.NewRequest("GET", "/v1/predictions/ETH-USDT/history", nil)
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	validateAgainstSpec(t, router, req, rec)
	if !strings.Contains(rec.Body.String(), `"quantiles":{"p10":`) {
		t.Errorf("history without the products: %s", rec.Body)
	}
	var p predict.Prediction
	f.get("/v1/predictions/ETH-USDT?product=quantiles", http.StatusOK, &p)
	if p.Vol == nil || p.Vol.Model != (predict.ModelRef{Name: "last-rv"}) || !(p.Vol.Value > 0) {
		t.Errorf("vol %+v", p.Vol)
	}
	if q := p.Quantiles; q == nil || q.Model.Name != "last-rv-gaussian" || !(q.P10 < p.LastPrice && p.LastPrice < q.P90) {
		t.Errorf("quantiles %+v around %g", q, p.LastPrice)
	}
	if p.PUp == nil || p.PUp.Value != 0.5 || p.PUp.Model.Name != "climatology" || p.Model.Name != registry.BaselineName {
		t.Errorf("p_up %+v, return model %+v", p.PUp, p.Model)
	}
	var e errorBody
	f.get("/v1/predictions/ETH-USDT?horizon=5&product=vol", http.StatusNotFound, &e)
	if e.Error != "no_model" {
		t.Errorf("h5 (no champion at all): %+v", e)
	}
	if _, err := f.reg.EnsureBaseline(ctx, ethPair, 5); err != nil {
		t.Fatal(err)
	}
	if err := f.pred.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	f.get("/v1/predictions/ETH-USDT?horizon=5&product=vol", http.StatusNotFound, &e)
	if e.Error != "no_product" || e.Message != "no vol champion for ETH-USDT at horizon 5; products at horizon 5: return; horizons with vol: 1" {
		t.Errorf("h5 vol: %+v", e)
	}
	f.get("/v1/predictions/ETH-USDT?product=sharpe", http.StatusBadRequest, &e)
	if !strings.Contains(e.Message, "return, vol, quantiles, p_up") {
		t.Errorf("bad product: %+v", e)
	}
	var info infoResponse
	f.get("/v1/info", http.StatusOK, &info)
	if len(info.Champions) != 5 || info.Champions[1].Product != "vol" || info.Champions[0].Product != "return" {
		t.Errorf("info champions %+v", info.Champions)
	}
	var models struct{ Models []seriesJSON }
	f.get("/v1/models?product=p_up", http.StatusOK, &models)
	if len(models.Models) != 1 || models.Models[0].Product != "p_up" || models.Models[0].Versions[0].Name != "climatology" {
		t.Errorf("models %+v", models)
	}
	// The next candle realizes the h1 predictions: the products are scored live beside their baselines.
	f.scorer.Observe(f.feed(1))
	req = httptest.NewRequest("GET", "/v1/scores", nil)
	rec = httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	validateAgainstSpec(t, router, req, rec)
	var scores struct{ Scores []scoreJSON }
	f.get("/v1/scores", http.StatusOK, &scores)
	if len(scores.Scores) != 1 || scores.Scores[0].Products.VolN != 1 || scores.Scores[0].Products.BandN != 1 {
		t.Fatalf("scores %+v", scores)
	}
	// The prequential windows: the baselines served as products score as their own baselines (skill 0).
	if w := scores.Scores[0].Windows["1h"]; w.Vol.N != 1 || w.Quantiles.N != 1 || !(w.Quantiles.Loss > 0) || w.Vol.Skill != 0 ||
		w.Quantiles.Coverage != w.Quantiles.BaselineCoverage {
		t.Errorf("1h window %+v", w)
	}
	rec = f.do(http.MethodGet, "/metrics")
	for _, want := range []string{`tickcast_product_model_version{horizon="1",name="last-rv",pair="ETH-USDT",product="vol"} 0`,
		"tickcast_feature_rows_rejected_total 0", `tickcast_product_score{horizon="1",metric="vol_baseline_mae",pair="ETH-USDT"}`,
		`tickcast_prequential_n{horizon="1",pair="ETH-USDT",product="quantiles",window="1d"} 1`,
		`tickcast_prequential_skill{horizon="1",pair="ETH-USDT",product="vol",window="1h"} 0`,
		`tickcast_prequential_loss{horizon="1",model="model",pair="ETH-USDT",product="quantiles",window="1h"}`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
