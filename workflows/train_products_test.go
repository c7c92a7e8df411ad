package workflows

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/market"
)

// Train runs the products step after the final fit, on the dataset and the
// run's report folder, and reports each product's gate decision (the
// report's notes and the result).
func TestTrainProducts(t *testing.T) {
	f := newFakeTrainer()
	env := newTrainEnv(t, f)
	var got activities.ProductsInput
	env.OnActivity(acts.TrainProducts, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ProductsInput) (activities.ProductsResult, error) {
			got = in
			return activities.ProductsResult{ReportDir: in.ReportDir, TestRows: 190, Products: []activities.ProductOutcome{
				{Product: "vol", Name: "xgboost", ModelPath: in.ReportDir + "/vol.ubj", Gate: gateOf(true, "vol beats har-rv")},
				{Product: "p_up", Name: "xgboost", ModelPath: in.ReportDir + "/p_up.ubj", Gate: gateOf(false, "p_up ties climatology")}}}, nil
		})
	var reg activities.RegisterProductsInput
	env.OnActivity(acts.RegisterProducts, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RegisterProductsInput) ([]activities.ProductPromotion, error) {
			reg = in
			return []activities.ProductPromotion{{Product: "vol", Version: 2, BaselineVersion: 1, Champion: 2, Promoted: true},
				{Product: "p_up", Version: 2, BaselineVersion: 1, Champion: 1}}, nil
		})
	res, err := execute[TrainResult](t, env, Train, TrainRequest{Pair: "ETH/USDT", Trials: 3, DataDir: "/data", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if reg.ReportDir != res.ReportDir || len(reg.Products) != 2 || reg.Dataset.Path != fakeDataset.Path || reg.DataDir != "/data" {
		t.Errorf("register products input %+v", reg)
	}
	if len(res.ProductPromotions) != 2 || !res.ProductPromotions[0].Promoted {
		t.Errorf("promotions %+v", res.ProductPromotions)
	}
	if got.Dataset != fakeDataset.Path || got.ReportDir != res.ReportDir || got.ReturnModel != res.ModelPath || got.Params != res.Best.Params ||
		got.Threads != DefaultTrainConcurrency || got.Rounds != DefaultRounds {
		t.Errorf("products input %+v, result %+v", got, res)
	}
	if len(res.Products) != 2 || !res.Products[0].Gate.Pass || res.ProductsError != "" {
		t.Errorf("products %+v (%s)", res.Products, res.ProductsError)
	}
	notes := strings.Join(f.eval.Notes, "\n")
	if !strings.Contains(notes, "Product vol gate: vol beats har-rv") || !strings.Contains(notes, "Product p_up gate: p_up ties climatology") ||
		!strings.Contains(notes, "Product p_up registry: model v2, baseline v1, champion v1") {
		t.Errorf("report notes %q", notes)
	}
}

// A failed products step is recorded; the return model's run completes.
func TestTrainProductsFailure(t *testing.T) {
	f := newFakeTrainer()
	env := newTrainEnv(t, f)
	env.OnActivity(acts.TrainProducts, mock.Anything, mock.Anything).Return(activities.ProductsResult{},
		activities.TemporalError(fmt.Errorf("no candles: %w", market.ErrInvalid)))
	res, err := execute[TrainResult](t, env, Train, TrainRequest{Pair: "ETH/USDT", Trials: 3, DataDir: "/data"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 3 || !strings.Contains(res.ProductsError, "no candles") || len(res.Products) != 0 ||
		!strings.Contains(strings.Join(f.eval.Notes, "\n"), "Products (vol, quantiles, p_up) failed") {
		t.Errorf("result %+v, notes %q", res, f.eval.Notes)
	}
}

func gateOf(pass bool, reason string) activities.GateDecision {
	return activities.GateDecision{Metric: "mae", Pass: pass, Reason: reason}
}
