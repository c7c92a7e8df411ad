package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tickcast/tickcast/market"
)

func volMeta(pair string, h int) Meta {
	return Meta{Pair: pair, Horizon: h, Product: ProductVol, Name: "xgboost",
		Params: map[string]string{"vol_target": "log", "vol_scale": "1"}, Metrics: map[string]float64{"model_mae": 0.001}}
}

// Every product's baseline is version 0 of its own series, champion, with
// the contract's name (and the climatology's rate).
func TestEnsureBaselinePerProduct(t *testing.T) {
	ctx := context.Background()
	r, dir := openTest(t)
	want := map[string]string{"": BaselineName, "return": BaselineName, ProductVol: "last-rv",
		ProductQuantiles: "last-rv-gaussian", ProductPUp: "climatology"}
	for p, name := range want {
		m, err := r.EnsureBaselineIn(ctx, Series{Pair: "ethusdt", Horizon: 5, Product: p})
		if err != nil {
			t.Fatal(err)
		}
		wantProduct, _ := NormalizeProduct(p)
		if m.Version != 0 || m.Name != name || m.Product != wantProduct || m.Status != Champion || m.Artifact != "" || BaselineOf(p) != name {
			t.Errorf("%q: baseline %+v", p, m)
		}
		if p == ProductPUp && m.Params[ParamPUp] != "0.5" {
			t.Errorf("climatology params %v, want p_up 0.5", m.Params)
		}
	}
	for _, f := range []string{"v000000/meta.json", "vol/v000000/meta.json", "quantiles/v000000/meta.json", "p_up/v000000/meta.json", "p_up/aliases.json"} {
		if _, err := os.Stat(filepath.Join(dir, "registry/ETH-USDT/h5", f)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	if m, _ := r.Get(ctx, "ETH/USDT", 5, "0"); m.Product != "" || m.Name != BaselineName {
		t.Errorf("return baseline through Get: %+v", m)
	}
}

// A registry written before products (return versions only) reads the
// same, and products added beside it leave it alone: versions, aliases and
// listings of each series are their own.
func TestProductsBesideAnOldReturnRegistry(t *testing.T) {
	ctx := context.Background()
	r, dir := openTest(t)
	old := filepath.Join(dir, "registry/ETH-USDT/h1/v000000")
	if err := os.MkdirAll(old, 0o755); err != nil {
		t.Fatal(err)
	}
	// meta.json as written before products: no product field.
	oldMeta := `{"pair":"ETH/USDT","horizon":1,"version":0,"name":"zero-return","feature_schema_version":1,"code_version":"old","created_at":"2025-01-01T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(old, "meta.json"), []byte(oldMeta), 0o644); err != nil {
		t.Fatal(err)
	}
	ret := mustRegister(t, r, xgbMeta("ETH/USDT", 0.0004), []byte("return model"))
	vol := volMeta("ETH/USDT", 1)
	vol.Product = "VOL"
	v1 := mustRegister(t, r, vol, []byte("vol model"))
	if ret.Version != 1 || ret.Product != "" || v1.Version != 1 || v1.Product != ProductVol {
		t.Fatalf("registered return %+v, vol %+v", ret, v1)
	}
	for _, f := range []string{"v000001/model.ubj", "vol/v000001/model.ubj", "vol/v000001/meta.json"} {
		if _, err := os.Stat(filepath.Join(dir, "registry/ETH-USDT/h1", f)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	vs := Series{Pair: "ETH/USDT", Horizon: 1, Product: ProductVol}
	if err := r.SetAliasIn(ctx, vs, Champion, 1, "passed the gate"); err != nil {
		t.Fatal(err)
	}
	// A return write (its lock, its sweep) must not touch the vol series.
	if err := r.SetAlias(ctx, "ETH/USDT", 1, Champion, 1, "promoted"); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, r, xgbMeta("ETH/USDT", 0.0005), []byte("return model 2"))
	rets, err := r.List(ctx, "ETH/USDT", 1)
	if err != nil || len(rets) != 3 || rets[0].CodeVersion != "old" || rets[1].Status != Champion || rets[2].Status != Candidate {
		t.Errorf("return list %+v, %v", rets, err)
	}
	vols, err := r.ListIn(ctx, vs)
	if err != nil || len(vols) != 1 || vols[0].Status != Champion || vols[0].Reason != "passed the gate" {
		t.Errorf("vol list %+v, %v", vols, err)
	}
	if c, err := r.GetIn(ctx, vs, Champion); err != nil || c.Version != 1 || c.Name != "xgboost" {
		t.Errorf("vol champion %+v, %v", c, err)
	}
	if a, _ := r.Aliases(ctx, "ETH/USDT", 1); a.Champion.Version != 1 || len(a.History) != 1 {
		t.Errorf("return aliases %+v", a)
	}
	// Rolling the return champion back leaves the vol champion where it is.
	if m, err := r.Rollback(ctx, "ETH/USDT", 1, Champion); err == nil {
		t.Errorf("rollback found %+v; the old registry's champion was never set", m)
	}
	if c, _ := r.GetIn(ctx, vs, Champion); c.Version != 1 {
		t.Errorf("vol champion after a return rollback: v%d", c.Version)
	}
	if data, err := r.Artifact(ctx, vols[0]); err != nil || string(data) != "vol model" {
		t.Errorf("vol artifact %q, %v", data, err)
	}
}

// A crashed vol write (a version without meta.json) is cleaned by the next
// vol writer, never by a return writer, whose sweep stays out of the
// product directories.
func TestIncompleteProductWrite(t *testing.T) {
	ctx := context.Background()
	r, dir := openTest(t)
	mustRegister(t, r, volMeta("BTC/USDT", 5), []byte("v1"))
	orphan := filepath.Join(dir, "registry/BTC-USDT/h5/vol/v000002")
	tmp := filepath.Join(dir, "registry/BTC-USDT/h5/vol/.aliases.json"+tmpMark+"1")
	if err := os.MkdirAll(orphan, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(orphan, "model.ubj"), tmp} {
		if err := os.WriteFile(f, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.EnsureBaseline(ctx, "BTC/USDT", 5); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(orphan, "model.ubj"), tmp} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("the return writer removed a vol file: %v", err)
		}
	}
	m := mustRegister(t, r, volMeta("BTC/USDT", 5), []byte("v2"))
	if m.Version != 2 {
		t.Errorf("vol v%d, want 2 (the orphan's number reused)", m.Version)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("vol's own temporary file left: %v", err)
	}
}

// Series lists every product, ordered pair, horizon, then product.
func TestSeriesAcrossProducts(t *testing.T) {
	ctx := context.Background()
	r, _ := openTest(t)
	for _, s := range []Series{{"ETH/USDT", 1, ProductPUp}, {"ETH/USDT", 1, ""}, {"ETH/USDT", 1, ProductVol},
		{"BTC/USDT", 5, ProductQuantiles}, {"ETH/USDT", 5, ProductVol}} {
		if _, err := r.EnsureBaselineIn(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Series(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Series{{"BTC/USDT", 5, ProductQuantiles}, {"ETH/USDT", 1, ""}, {"ETH/USDT", 1, ProductVol},
		{"ETH/USDT", 1, ProductPUp}, {"ETH/USDT", 5, ProductVol}}
	if !slices.Equal(got, want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	if pruned, err := r.PruneAll(ctx, Retention{}, true); err != nil || len(pruned) != 0 {
		t.Errorf("prune all: %v, %v", pruned, err)
	}
}

// Integrity is per version whatever the product: the checksum recorded by
// Register is checked on read, and RecordChecksumIn fills an old one.
func TestProductIntegrity(t *testing.T) {
	ctx := context.Background()
	r, dir := openTest(t)
	m := mustRegister(t, r, Meta{Pair: "ETH/USDT", Horizon: 1, Product: ProductPUp, Name: "xgboost"}, []byte("p_up model"))
	if st, err := r.Check(ctx, m); st != IntegrityOK || err != nil {
		t.Errorf("check %s, %v", st, err)
	}
	path := filepath.Join(dir, "registry/ETH-USDT/h1/p_up/v000001/model.ubj")
	flip(t, path)
	if _, err := r.Artifact(ctx, m); !errors.Is(err, ErrCorrupt) {
		t.Errorf("flipped artifact: %v, want ErrCorrupt", err)
	}
	s := m.Series()
	if err := r.RecordChecksumIn(ctx, s, 1, []byte("other")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("record a different checksum: %v", err)
	}
}

// Bad products are invalid input; missing things are market not_found
// errors naming the series.
func TestProductErrors(t *testing.T) {
	ctx := context.Background()
	r, _ := openTest(t)
	if _, err := r.Register(ctx, Meta{Pair: "ETH/USDT", Horizon: 1, Product: "sharpe", Name: "x"}, nil); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("unknown product: %v", err)
	}
	_, err := r.GetIn(ctx, Series{Pair: "ETH/USDT", Horizon: 5, Product: ProductQuantiles}, Champion)
	if !errors.Is(err, ErrNotFound) || market.ErrorCode(err) != market.CodeNotFound ||
		market.ErrorMessage(err) != "no models registered for ETH/USDT h5 quantiles: not found" {
		t.Errorf("missing series: %v (code %s, message %q)", err, market.ErrorCode(err), market.ErrorMessage(err))
	}
	if _, err := r.EnsureBaselineIn(ctx, Series{Pair: "ETH/USDT", Horizon: 5, Product: ProductVol}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetIn(ctx, Series{Pair: "ETH/USDT", Horizon: 5, Product: ProductVol}, "3"); market.ErrorMessage(err) != "ETH/USDT h5 vol has no version 3 (versions: 0): not found" {
		t.Errorf("missing version: %v", err)
	}
}
