package training

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/xgboost"
)

const (
	modelFile     = "model.ubj"     // the final fit's model in its report folder
	modelName     = ml.ModelXGBoost // the registry's and the report's name of the model
	earlyStopping = 20              // rounds without a better validation score
	progressEvery = 10              // boosting rounds between progress reports
)

// trainNice is the niceness of the threads boosting trials and final fits
// (xgboost.TrainOptions.Nice): the live stream shares the process and its
// cores (`tickcast run`), and gets the CPU first whenever both want it
// (docs/benchmarks.md, candle emit while training). On an otherwise idle
// machine it changes nothing.
const trainNice = 10

// TrialRequest is one tuning trial at one rung of successive halving: the
// walk-forward CV score of one parameter set on at most MaxRows training
// rows per fold (the newest ones).
type TrialRequest struct {
	Folds   []Fold
	Trial   int
	Rung    int
	Params  ml.TrialParams
	MaxRows int
	Rounds  int
	Threads int
	// Progress, when set, is told the fold and boosting round every few rounds.
	Progress func(fold, round int)
}

// RunTrial scores one parameter set on ds by walk-forward CV: per fold,
// train on the newest MaxRows training rows with early stopping on the
// fold's validation rows, score = MAE on the fold's test rows at the best
// round. XGBoost failing on these parameters is a result (Err set), not an
// error.
func RunTrial(ctx context.Context, ds ml.Dataset, in TrialRequest) (ml.TrialResult, error) {
	start := time.Now()
	if err := in.Params.Validate(); err != nil {
		return ml.TrialResult{}, invalid(err)
	}
	if len(in.Folds) == 0 || in.MaxRows < 1 || in.Rounds < 1 {
		return ml.TrialResult{}, invalidf("trial %d: %d folds, max_rows %d, rounds %d", in.Trial, len(in.Folds), in.MaxRows, in.Rounds)
	}
	params := xgbParams(in.Params, in.Threads)
	res := ml.TrialResult{ID: in.Trial, Rung: in.Rung, Params: in.Params}
	rounds := 0
	for k, f := range in.Folds {
		if err := f.check(ds.Len()); err != nil {
			return ml.TrialResult{}, err
		}
		score, best, err := scoreFold(ctx, ds, params, in, k)
		if ctx.Err() != nil {
			return ml.TrialResult{}, ctx.Err()
		}
		if err != nil {
			res.Err = err.Error()
			break
		}
		res.Scores = append(res.Scores, score)
		rounds += best + 1
	}
	res.Score = math.NaN()
	if res.Err == "" {
		res.Score = ml.MeanScore(res.Scores)
		res.Rounds = rounds / len(in.Folds)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// scoreFold trains on fold k's newest MaxRows training rows, early stopping
// on its validation rows, and scores the best round on its test rows — not
// on the rows early stopping chose the round with: that score would be
// optimistic.
func scoreFold(ctx context.Context, ds ml.Dataset, params xgboost.Params, in TrialRequest, k int) (score float64, best int, err error) {
	f := in.Folds[k]
	train := Span{max(f.Train.Lo, f.Train.Hi-in.MaxRows), f.Train.Hi}
	progress := func(round int) {
		if in.Progress != nil {
			in.Progress(k, round)
		}
	}
	b, tr, err := fit(ctx, ds, params, train, f.Valid, in.Rounds, progress)
	if err != nil {
		return 0, 0, err
	}
	defer b.Close()
	score, err = foldMAE(ds, b, f.Test)
	return score, tr.BestIteration, err
}

// foldMAE is the booster's MAE (at its best iteration) on rows s, of the
// float32 labels it was trained on.
func foldMAE(ds ml.Dataset, b *xgboost.Booster, s Span) (float64, error) {
	x, y := ds.Float32(s.Lo, s.Hi)
	pred, err := b.PredictDense(x, s.Len(), ds.Cols)
	if err != nil {
		return 0, err
	}
	return returnsMAE(float64s(pred), float64s(y)), nil
}

func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// FitRequest is the final fit: the best parameters on the final split's
// train rows, early stopping on its valid rows.
type FitRequest struct {
	DataDir string // where the report folder goes (ReportDir)
	Pair    string // for errors; the report folder is the dataset's
	Horizon int
	Final   Fold
	Params  ml.TrialParams
	Rounds  int
	Threads int
	RunKey  string // names the report folder
	// Progress, when set, is told the boosting round every few rounds.
	Progress func(round int)
}

// FitOutput is where the model went.
type FitOutput struct {
	ReportDir     string  `json:"report_dir"`
	ModelPath     string  `json:"model_path"`
	BestIteration int     `json:"best_iteration"`
	ValidMAE      float64 `json:"valid_mae"`
	Seconds       float64 `json:"seconds"`
}

// FitFinal trains the chosen parameters on the final split's train rows of
// ds, early stopping on its valid rows, and saves the model in the run's
// report folder (ReportDir).
func FitFinal(ctx context.Context, ds ml.Dataset, in FitRequest) (FitOutput, error) {
	start := time.Now()
	if err := in.Params.Validate(); err != nil {
		return FitOutput{}, invalid(err)
	}
	if in.RunKey == "" || strings.ContainsAny(in.RunKey, `/\`) || in.Rounds < 1 {
		return FitOutput{}, invalidf("fit: run key %q, rounds %d", in.RunKey, in.Rounds)
	}
	if err := in.Final.check(ds.Len()); err != nil {
		return FitOutput{}, err
	}
	progress := func(round int) {
		if in.Progress != nil {
			in.Progress(round)
		}
	}
	b, tr, err := fit(ctx, ds, xgbParams(in.Params, in.Threads), in.Final.Train, in.Final.Valid, in.Rounds, progress)
	if err != nil {
		return FitOutput{}, fmt.Errorf("final fit %s h%d: %w", in.Pair, in.Horizon, err)
	}
	defer b.Close()
	out := FitOutput{ReportDir: ReportDir(in.DataDir, ds.Pair, ds.Horizon, in.RunKey), BestIteration: tr.BestIteration, ValidMAE: tr.BestScore}
	out.ModelPath = filepath.Join(out.ReportDir, modelFile)
	if err := os.MkdirAll(out.ReportDir, 0o755); err != nil {
		return FitOutput{}, err
	}
	if err := b.SaveFile(out.ModelPath); err != nil {
		return FitOutput{}, fmt.Errorf("save model: %w", err)
	}
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// ReportDir is where a training run's report and model go:
// <dataDir>/reports/<pair_slug>/h<h>/<runKey>.
func ReportDir(dataDir, pair string, horizon int, runKey string) string {
	return filepath.Join(datadir.Reports(dataDir), market.PairSlug(pair), fmt.Sprintf("h%d", horizon), runKey)
}

func xgbParams(p ml.TrialParams, threads int) xgboost.Params {
	params := xgboost.Params(p.XGB())
	params["nthread"] = strconv.Itoa(max(1, threads))
	return params
}

// fit trains on rows train with early stopping on rows valid, telling
// progress every progressEvery rounds.
func fit(ctx context.Context, ds ml.Dataset, params xgboost.Params, train, valid Span, rounds int, progress func(round int)) (*xgboost.Booster, xgboost.TrainResult, error) {
	tm, err := matrix(ds, train)
	if err != nil {
		return nil, xgboost.TrainResult{}, err
	}
	defer tm.Close()
	vm, err := matrix(ds, valid)
	if err != nil {
		return nil, xgboost.TrainResult{}, err
	}
	defer vm.Close()
	every := func(round int, _ float64) {
		if round%progressEvery == 0 {
			progress(round)
		}
	}
	return xgboost.TrainContext(ctx, params, tm, xgboost.TrainOptions{Rounds: rounds, EarlyStoppingRounds: earlyStopping,
		Valid: vm, Progress: every, Nice: trainNice})
}

func matrix(ds ml.Dataset, s Span) (*xgboost.Matrix, error) {
	x, y := ds.Float32(s.Lo, s.Hi)
	return labelledMatrix(x, y, s.Len(), ds.Cols)
}

// labelledMatrix is the n×cols row-major features x (NaN missing) labelled y.
func labelledMatrix(x, y []float32, n, cols int) (*xgboost.Matrix, error) {
	m, err := xgboost.NewMatrix(x, n, cols, float32(math.NaN()))
	if err != nil {
		return nil, err
	}
	if err := m.SetLabels(y); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}
