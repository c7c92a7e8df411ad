package workflows_test

import (
	"context"
	"encoding/csv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/workflows"
)

// Train on a real worker over the 14 real days of ETH/USDT the archive
// backfill test stores: the registry ends with the baseline as version 0 and
// the model as version 1 (champion or challenger, with the gate's reason),
// and the report folder holds a prediction for every test row.
func TestIntegrationTrain(t *testing.T) {
	c := devClient(t)
	refDir, _, _ := reference(t, c)
	dir := t.TempDir()
	copyTree(t, filepath.Join(refDir, "parquet"), filepath.Join(dir, "parquet"))
	startWorker(t, c, "train", testActivities())

	req := workflows.TrainRequest{Pair: "ETH/USDT", Trials: 4, DataDir: dir, Seed: 1}
	opts := temporalclient.TrainStartOptions(req)
	opts.TaskQueue = "train"
	run, err := c.ExecuteWorkflow(t.Context(), opts, workflows.Train, req)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.ExecuteWorkflow(t.Context(), opts, workflows.Train, req); err != nil || again.GetRunID() != run.GetRunID() {
		t.Errorf("second start: run %v, %v; want to attach to %s", again, err, run.GetRunID())
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var res workflows.TrainResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("train: %v", err)
	}
	t.Logf("v%d champion=%v: %s", res.Version, res.Champion, res.Reason)
	if res.Version != 1 || res.Reason == "" || res.TestRows < 1000 || res.ModelMAE <= 0 || res.BaselineMAE <= 0 {
		t.Errorf("result = %+v", res)
	}
	checkRegistry(t, dir, res)
	checkReport(t, res)
	checkProducts(t, dir, res)
	var trials []ml.TrialResult
	if v, err := c.QueryWorkflow(t.Context(), run.GetID()+"-tune", "", workflows.TrialsQuery); err != nil || v.Get(&trials) != nil || len(trials) != 4 {
		t.Errorf("trials query: %d results, %v", len(trials), err)
	}
	if os.Getenv("TICKCAST_RECORD_HISTORY") != "" {
		recordHistory(t, run.GetID(), "testdata/train_products_history.json")
	}
}

func checkRegistry(t *testing.T, dir string, res workflows.TrainResult) {
	t.Helper()
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	versions, err := reg.List(t.Context(), "ETH/USDT", 1)
	if err != nil || len(versions) != 2 {
		t.Fatalf("%d versions, %v; want the baseline and the model", len(versions), err)
	}
	base, model := versions[0], versions[1]
	if base.Version != 0 || base.Name != registry.BaselineName {
		t.Errorf("version 0 = %+v", base)
	}
	want := registry.Challenger
	if res.Champion {
		want = registry.Champion
	}
	if model.Version != 1 || model.Name != "xgboost" || model.Status != want || model.Reason != res.Reason ||
		model.ReportDir != res.ReportDir || model.Metrics["model_mae"] != res.ModelMAE || model.Metrics["baseline_mae"] != res.BaselineMAE {
		t.Errorf("version 1 = %+v; want %s with the result's reason and metrics", model, want)
	}
	champ, err := reg.Get(t.Context(), "ETH/USDT", 1, registry.Champion)
	if err != nil || (champ.Version == 1) != res.Champion {
		t.Errorf("champion = v%d, %v; result champion=%v", champ.Version, err, res.Champion)
	}
}

func checkReport(t *testing.T, res workflows.TrainResult) {
	t.Helper()
	for _, f := range []string{ml.FileMetrics, ml.FileSummary, ml.FilePredVsRealized, ml.FileResiduals, ml.FileImportance, ml.FileTuning, "model.ubj"} {
		if _, err := os.Stat(filepath.Join(res.ReportDir, f)); err != nil {
			t.Error(err)
		}
	}
	f, err := os.Open(filepath.Join(res.ReportDir, ml.FilePredictions))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(ml.PredictionsHeader(), ",") || len(rows)-1 != res.TestRows {
		t.Errorf("header %v, %d rows; want %d test rows", rows[0], len(rows)-1, res.TestRows)
	}
	summary, err := os.ReadFile(filepath.Join(res.ReportDir, ml.FileSummary))
	if err != nil || !strings.Contains(string(summary), res.Reason) {
		t.Errorf("summary.md does not record the gate's decision: %v", err)
	}
}

// checkProducts: the vol, quantile and p_up products were trained, every
// test row has their forecasts, and each product's series holds its
// baseline, the fitted baseline and the model, the champion as the gate
// decided.
func checkProducts(t *testing.T, dir string, res workflows.TrainResult) {
	t.Helper()
	if len(res.Products) != 3 || len(res.ProductPromotions) != 3 || res.ProductsError != "" {
		t.Fatalf("products %+v, promotions %+v, error %q", res.Products, res.ProductPromotions, res.ProductsError)
	}
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range res.ProductPromotions {
		s := registry.Series{Pair: "ETH/USDT", Horizon: 1, Product: p.Product}
		versions, err := reg.ListIn(t.Context(), s)
		champ, cerr := reg.GetIn(t.Context(), s, registry.Champion)
		if err != nil || cerr != nil || len(versions) != 3 || champ.Version != p.Champion || p.Promoted != res.Products[i].Gate.Pass {
			t.Errorf("%s: %d versions (%v), champion v%d (%v), promotion %+v", p.Product, len(versions), err, champ.Version, cerr, p)
		}
	}
	f, err := os.Open(filepath.Join(res.ReportDir, ml.FilePredictions))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		if r[7] == "" || r[8] == "" || r[10] == "" || r[11] == "" {
			t.Fatalf("row without product forecasts: %v", r)
		}
	}
}

// copyTree copies the files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
