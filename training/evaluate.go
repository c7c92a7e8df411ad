package training

import (
	"context"
	"fmt"

	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/xgboost"
)

// EvaluateRequest scores a fitted model and the baselines on a dataset's
// test window and, with ReportDir, writes the report.
type EvaluateRequest struct {
	Final     Fold   // zero: the dataset's own final split
	ModelPath string // the fitted model file
	// ReportDir is where the report files go; "" writes none (the metrics
	// only). Train evaluates once for the metrics, and again with the report
	// once the version and the gate's decision are known.
	ReportDir string
	Params    ml.TrialParams
	Trials    []ml.TrialResult
	Seed      int64 // of the skill's bootstrap
	Version   int
	Notes     []string
}

// Evaluation is the test-window metrics in the registry's keys
// (model_mae, baseline_mae, dir_acc, skill, …).
type Evaluation struct {
	ReportDir string             `json:"report_dir"`
	TestRows  int                `json:"test_rows"`
	Metrics   map[string]float64 `json:"metrics"`
}

// Evaluate scores the model and the baselines on the test window of ds with
// the same metrics (skill against zero-return), returns them in the
// registry's keys and, with a ReportDir, writes the report (ml.WriteReport).
func Evaluate(_ context.Context, ds ml.Dataset, sp Splits, in EvaluateRequest) (Evaluation, error) {
	final := in.Final
	if final == (Fold{}) {
		final = sp.Final
	}
	if err := final.check(ds.Len()); err != nil {
		return Evaluation{}, err
	}
	test := final.Test
	pred, imp, err := predictModel(in.ModelPath, ds, test)
	if err != nil {
		return Evaluation{}, err
	}
	r := ml.Report{Pair: ds.Pair, Horizon: ds.Horizon, Model: modelName, Version: in.Version,
		Importance: imp, Trials: in.Trials, DataFrom: ds.TS[0], DataTo: ds.TS[ds.Len()-1],
		TestFrom: ds.TS[test.Lo], TestTo: ds.TS[test.Hi-1], Params: in.Params.XGB(), Notes: in.Notes, Fee: ml.KrakenTakerFee}
	r.Metrics, r.Baselines = scoreReturns(ds, test, pred, in.Seed)
	out := Evaluation{ReportDir: in.ReportDir, TestRows: test.Len(), Metrics: registryMetrics(r)}
	if in.ReportDir == "" {
		return out, nil
	}
	r.Test = ml.PredictionRows(ds, test.Lo, test.Hi, pred)
	if err := mergeProducts(in.ReportDir, &r); err != nil {
		return Evaluation{}, err
	}
	if err := ml.WriteReport(in.ReportDir, r); err != nil {
		return Evaluation{}, err
	}
	return out, nil
}

// mergeProducts adds what TrainProducts left in dir, if anything, to the
// report: its rows to the test predictions, its figures to metrics.json.
func mergeProducts(dir string, r *ml.Report) error {
	js, rows, err := readProducts(dir, len(r.Test))
	if err != nil || js == nil {
		return err
	}
	r.Products = js
	for i := range r.Test {
		r.Test[i].Products = rows[i]
	}
	return nil
}

// predictModel predicts rows s of ds with the model file at path, and
// returns the features' importance (gain) too.
func predictModel(path string, ds ml.Dataset, s Span) ([]float64, map[string]float64, error) {
	b, err := xgboost.LoadFile(path)
	if err != nil {
		return nil, nil, invalidf("model %s: %v", path, err)
	}
	defer b.Close()
	pred, err := predictBooster(b, ds, s)
	if err != nil {
		return nil, nil, err
	}
	imp, err := b.FeatureImportance("gain", ds.Names)
	if err != nil {
		return nil, nil, fmt.Errorf("feature importance: %w", err)
	}
	return pred, imp, nil
}

func predictBooster(b *xgboost.Booster, ds ml.Dataset, s Span) ([]float64, error) {
	x, _ := ds.Float32(s.Lo, s.Hi)
	p32, err := b.PredictDense(x, s.Len(), ds.Cols)
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	return float64s(p32), nil
}
