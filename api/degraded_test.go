package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/tickcast/tickcast/registry"
)

// TestDegradedServing: a champion whose real model file was truncated is
// answered by the fallback (here the baseline, the rollback target), with
// degraded set in the prediction and /readyz saying degraded and why; both
// responses validate against openapi.json.
func TestDegradedServing(t *testing.T) {
	_, router := loadSpec(t)
	ctx := context.Background()
	f := newFixture(t, fixtureOpts{})
	m := f.register()
	path := filepath.Join(f.dir, "registry", "ETH-USDT", "h1", "v000001", m.Artifact)
	if err := os.Truncate(path, 100); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.SetAlias(ctx, ethPair, 1, registry.Champion, m.Version, "test: corrupt champion"); err != nil {
		t.Fatal(err)
	}
	if err := f.pred.Refresh(ctx); err == nil {
		t.Error("Refresh reported no failed load")
	}
	for _, target := range []string{"/v1/predictions/ETH-USDT", "/v1/predictions", "/readyz"} {
		req := httptest.NewRequest("GET", target, nil)
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d, want 200; body %s", target, rec.Code, rec.Body)
		}
		validateAgainstSpec(t, router, req, rec)
	}
	var p struct {
		Model          struct{ Version int }
		Degraded       bool   `json:"degraded"`
		DegradedReason string `json:"degraded_reason"`
		GapOpen        bool   `json:"gap_open"`
	}
	f.get("/v1/predictions/ETH-USDT", http.StatusOK, &p)
	if p.Model.Version != 0 || !p.Degraded || p.DegradedReason == "" || p.GapOpen {
		t.Errorf("prediction %+v: want v0, degraded with a reason, no gap known", p)
	}
	var ready statusJSON
	f.get("/readyz", http.StatusOK, &ready)
	want := degradationJSON{Pair: "ETH-USDT", Horizon: 1, Serving: 0, Wanted: m.Version}
	if ready.Status != "degraded" || len(ready.Degraded) != 1 || ready.Degraded[0].Reason == "" {
		b, _ := json.Marshal(ready)
		t.Fatalf("readyz %s: want degraded, one entry", b)
	}
	if got := ready.Degraded[0]; got.Pair != want.Pair || got.Horizon != want.Horizon || got.Serving != want.Serving || got.Wanted != want.Wanted {
		t.Errorf("readyz entry %+v, want %+v", got, want)
	}
}
