package training

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
)

// The training steps on a real week: the dataset (warm rows only, one file
// per content), a trial's CV score, the final fit, and the report with a
// prediction for every test row.
func TestTrainingOnRealWeek(t *testing.T) {
	dir := weekStore(t)
	var stages []string
	req := DatasetRequest{Pair: "ETH/USDT", Horizon: 1, Folds: 3, Progress: func(s string) { stages = append(stages, s) }}
	ds, err := BuildDataset(t.Context(), dir, req)
	if err != nil {
		t.Fatal(err)
	}
	// 7 days of minutes = 10080 feature rows; the first 119 are not warm and
	// the last has no next close.
	if ds.Rows != 10080-119-1 || ds.Cols != market.NumFeatures || len(ds.Folds) != 3 || !strings.HasPrefix(ds.Path, filepath.Join(dir, "datasets", "ETH-USDT", "h1")) {
		t.Fatalf("dataset = %+v", ds)
	}
	if strings.Join(stages, ",") != "reading features,writing dataset" {
		t.Errorf("stages %q", stages)
	}
	// Purge: a range starts 2 rows (h=1: the label's minute, then h more)
	// after the last row of the one before.
	if f := ds.Final; f.Valid.Lo-(f.Train.Hi-1) < 2 || f.Test.Lo-(f.Valid.Hi-1) < 2 || f.Test.Hi != ds.Rows || !ds.TestTo.Equal(ds.To) {
		t.Errorf("final split %+v: want purge gaps and the test window at the end", f)
	}
	req.Progress = nil
	if again, err := BuildDataset(t.Context(), dir, req); err != nil || again.Path != ds.Path || again.Hash != ds.Hash {
		t.Errorf("same data, new path %s (%v)", again.Path, err)
	}
	var cache DatasetCache
	data, sp, err := cache.ReadDataset(ds.Path)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Final != ds.Final || len(sp.Folds) != 3 || !sp.TestFrom.Equal(ds.TestFrom) {
		t.Errorf("splits read back %+v, built %+v", sp, ds)
	}
	params := sampleParams()
	var rounds int
	tr, err := RunTrial(t.Context(), data, TrialRequest{Folds: ds.Folds, Trial: 0, Params: params, MaxRows: 3000, Rounds: 50, Threads: 1,
		Progress: func(_, round int) { rounds++ }})
	if err != nil || tr.Err != "" || len(tr.Scores) != 3 || !(tr.Score > 0 && tr.Score < 0.01) || tr.Rounds < 1 {
		t.Errorf("trial = %+v, %v", tr, err)
	}
	if rounds == 0 {
		t.Error("no trial progress")
	}
	fit, err := FitFinal(t.Context(), data, FitRequest{DataDir: dir, Pair: "ETH/USDT", Horizon: 1, Final: ds.Final, Params: params,
		Rounds: 50, Threads: 2, RunKey: "test-run"})
	if err != nil {
		t.Fatal(err)
	}
	if fit.ReportDir != ReportDir(dir, "ETH/USDT", 1, "test-run") || fit.ModelPath != filepath.Join(fit.ReportDir, modelFile) {
		t.Errorf("fit = %+v", fit)
	}
	ev, err := Evaluate(t.Context(), data, sp, EvaluateRequest{ModelPath: fit.ModelPath, ReportDir: fit.ReportDir, Params: params,
		Trials: []ml.TrialResult{tr}, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"model_mae", "baseline_mae", "ema_drift_mae", "rmse", "skill", "skill_lo", "skill_hi", "pnl", "test_rows"} {
		if _, ok := ev.Metrics[k]; !ok {
			t.Errorf("metric %s missing from %v", k, ev.Metrics)
		}
	}
	if ev.TestRows != ds.Final.Test.Len() || ev.Metrics["test_rows"] != float64(ev.TestRows) {
		t.Errorf("%d test rows, want %d", ev.TestRows, ds.Final.Test.Len())
	}
	rows := readCSV(t, filepath.Join(fit.ReportDir, ml.FilePredictions))
	if strings.Join(rows[0], ",") != strings.Join(ml.PredictionsHeader(), ",") || len(rows)-1 != ev.TestRows ||
		rows[1][0] != ds.TestFrom.Format(time.RFC3339) {
		t.Errorf("predictions: header %v, %d rows, first %v", rows[0], len(rows)-1, rows[1])
	}
	// Without a report folder: the same metrics, nothing written.
	metricsOnly, err := Evaluate(t.Context(), data, sp, EvaluateRequest{Final: ds.Final, ModelPath: fit.ModelPath, Params: params})
	if err != nil || metricsOnly.ReportDir != "" || metricsOnly.Metrics["model_mae"] != ev.Metrics["model_mae"] || metricsOnly.Metrics["skill"] != ev.Metrics["skill"] {
		t.Errorf("metrics only: %+v, %v; with the report %+v", metricsOnly, err, ev)
	}
}
