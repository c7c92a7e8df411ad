package main

import (
	"context"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/registry"
)

// list shows every product's versions with their product (each series
// once), --product narrows list and picks the series of show and promote.
func TestModelsProducts(t *testing.T) {
	dir := modelsFixture(t)
	ctx := context.Background()
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	vol := registry.Series{Pair: "ETH/USDT", Horizon: 1, Product: registry.ProductVol}
	if _, err := reg.EnsureBaselineIn(ctx, vol); err != nil {
		t.Fatal(err)
	}
	har := registry.Meta{Pair: "ETH/USDT", Horizon: 1, Product: registry.ProductVol, Name: "har-rv",
		Params: map[string]string{"har_horizon": "1", "har_windows": "1,5", "har_coef": "0,0.5,0.5"}}
	if _, err := reg.Register(ctx, har, nil); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "models", "list", "--pair", "ETH/USDT", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !strings.Contains(lines[0], "PRODUCT") || !strings.Contains(lines[1], "return") ||
		!strings.Contains(lines[4], "vol") || !strings.Contains(lines[4], "last-rv") || !strings.Contains(lines[5], "har-rv") {
		t.Fatalf("list:\n%s", out)
	}
	out, err = runCmd(t, "models", "list", "--product", "vol", "--data-dir", dir)
	if err != nil || strings.Count(strings.TrimSpace(out), "\n") != 2 || strings.Contains(out, "zero-return") {
		t.Errorf("list --product vol: %v\n%s", err, out)
	}
	out, err = runCmd(t, "models", "promote", "1", "--pair", "ETH/USDT", "--product", "vol", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "ETH/USDT h1 vol champion: v0 (last-rv) → v1 (har-rv)") {
		t.Errorf("promote vol: %v\n%s", err, out)
	}
	out, err = runCmd(t, "models", "show", "champion", "--pair", "ETH/USDT", "--product", "vol", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "\nproduct ") || !strings.Contains(out, " vol\n") || !strings.Contains(out, "har-rv") {
		t.Errorf("show vol champion: %v\n%s", err, out)
	}
	if c, err := reg.Get(ctx, "ETH/USDT", 1, registry.Champion); err != nil || c.Version != 0 {
		t.Errorf("the return champion moved: %+v, %v", c, err)
	}
	if _, err := runCmd(t, "models", "list", "--product", "sharpe", "--data-dir", dir); err == nil {
		t.Error("an unknown product was accepted")
	}
}
