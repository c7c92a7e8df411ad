package activities_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/training"
	"github.com/tickcast/tickcast/workflows"
)

// The products activity on the real week: the result crosses Temporal's
// JSON (NaN-free), names the products' models inside the report folder as
// the request named it, and records a gate decision per product.
func TestTrainProductsActivity(t *testing.T) {
	dir := weekStore(t)
	a := &activities.Activities{DataDir: dir}
	env := newEnv(a)
	ds := buildDataset(t, a, env)
	params := workflows.SampleTrials(1, 3)[0]
	fit := run[activities.FitOutput](t, env, a.FitFinal, activities.FitInput{Pair: "ETH/USDT", Horizon: 1, Dataset: ds.Path,
		Final: ds.Final, Params: params, Rounds: 20, Threads: 1, RunKey: "products"})
	res := run[activities.ProductsResult](t, env, a.TrainProducts, activities.ProductsInput{Pair: "ETH/USDT", Horizon: 1,
		Dataset: ds.Path, ReportDir: fit.ReportDir, ReturnModel: fit.ModelPath, Params: params, Rounds: 30, Threads: 1})
	if res.ReportDir != fit.ReportDir || len(res.Products) != 3 || res.TestRows == 0 {
		t.Fatalf("result %+v", res)
	}
	for _, p := range res.Products {
		if filepath.Dir(p.ModelPath) != fit.ReportDir || p.Gate.Metric == "" || p.Baseline == "" {
			t.Errorf("%+v", p)
		}
		if _, err := os.Stat(p.ModelPath); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(fit.ReportDir, training.ProductsFile)); err != nil {
		t.Error(err)
	}
	promoted := run[[]activities.ProductPromotion](t, env, a.RegisterProducts, activities.RegisterProductsInput{Pair: "ETH/USDT", Horizon: 1,
		ReportDir: fit.ReportDir, Dataset: ds, Products: res.Products})
	if len(promoted) != 3 {
		t.Fatalf("promotions %+v", promoted)
	}
	for i, p := range promoted {
		want := p.BaselineVersion
		if res.Products[i].Gate.Pass {
			want = p.Version
		}
		if p.Product != res.Products[i].Product || p.Champion != want || p.Promoted != res.Products[i].Gate.Pass || p.Reason == "" {
			t.Errorf("%+v for %+v", p, res.Products[i].Gate)
		}
	}
}
