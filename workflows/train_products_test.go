package workflows

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/market"
)

// Train runs the products step after the final fit, on the dataset and the
// run's report folder, registers the products after the return model's
// promotion, and reports each product's gate decision and registry outcome
// (the report's notes and the result).
func TestTrainProducts(t *testing.T) {
	f := newFakeTrainer()
	env := newTrainEnv(t, f)
	res, err := execute[TrainResult](t, env, Train, TrainRequest{Pair: "ETH/USDT", Trials: 3, DataDir: "/data", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	got := f.products
	if got.Dataset != fakeDataset.Path || got.ReportDir != res.ReportDir || got.ReturnModel != res.ModelPath || got.Params != res.Best.Params ||
		got.Threads != DefaultTrainConcurrency || got.Rounds != DefaultRounds || got.DataDir != "/data" || got.Seed != 7 {
		t.Errorf("products input %+v, result %+v", got, res)
	}
	reg := f.regProducts
	if reg.ReportDir != res.ReportDir || len(reg.Products) != 2 || reg.Dataset.Path != fakeDataset.Path || reg.DataDir != "/data" {
		t.Errorf("register products input %+v", reg)
	}
	if len(res.Products) != 2 || !res.Products[0].Gate.Pass || res.ProductsError != "" || len(res.ProductPromotions) != 2 || !res.ProductPromotions[0].Promoted {
		t.Errorf("products %+v, promotions %+v (%s)", res.Products, res.ProductPromotions, res.ProductsError)
	}
	notes := strings.Join(f.eval.Notes, "\n")
	for _, want := range []string{"Product vol gate: vol beats har-rv", "Product p_up gate: p_up ties climatology",
		"Product p_up registry: model v2, baseline v1, champion v1"} {
		if !strings.Contains(notes, want) {
			t.Errorf("report notes lack %q: %q", want, notes)
		}
	}
}

// A failed products step is recorded; the return model's run completes and
// nothing is registered for the products.
func TestTrainProductsFailure(t *testing.T) {
	f := newFakeTrainer()
	f.productsErr = activities.TemporalError(fmt.Errorf("no candles: %w", market.ErrInvalid))
	env := newTrainEnv(t, f)
	res, err := execute[TrainResult](t, env, Train, TrainRequest{Pair: "ETH/USDT", Trials: 3, DataDir: "/data"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 3 || !strings.Contains(res.ProductsError, "no candles") || len(res.Products) != 0 || f.regProducts.ReportDir != "" ||
		!strings.Contains(strings.Join(f.eval.Notes, "\n"), "Products (vol, quantiles, p_up) failed") {
		t.Errorf("result %+v, notes %q", res, f.eval.Notes)
	}
}
