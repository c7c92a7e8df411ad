package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/training"
)

// The training activities are thin over package training, as the backfill's
// are over history: each resolves the paths its request names inside the
// worker's roots, calls one step, heartbeats the step's progress and maps
// its error's code to Temporal's (TemporalError). Only paths and
// small structs cross Temporal; the results are training's own types, whose
// JSON is the wire shape (workflows/testdata holds recorded histories).
type (
	// Span is a half-open range [Lo, Hi) of dataset row indices.
	Span = training.Span
	// Fold is one walk-forward split: train, valid (and test).
	Fold = training.Fold
	// DatasetInfo is a dataset written to a file: the path and a summary, never rows.
	DatasetInfo = training.DatasetInfo
	// FitOutput is where the final fit's model went.
	FitOutput = training.FitOutput
	// Evaluation is the test-window metrics in the registry's keys.
	Evaluation = training.Evaluation
	// Registered is the new version (and the baseline's, version 0).
	Registered = training.Registered
	// GateScores are the candidate's, the zero-return baseline's and the
	// current champion's MAE on the same test window.
	GateScores = training.GateScores
)

// DatasetInput asks for a pair's training set at one horizon.
type DatasetInput struct {
	DataDir string    `json:"data_dir,omitempty"`
	Pair    string    `json:"pair"`
	Horizon int       `json:"horizon"`
	From    time.Time `json:"from,omitzero"` // zero: all the store holds
	To      time.Time `json:"to,omitzero"`
	Folds   int       `json:"folds"`
}

// TrialInput is one tuning trial at one rung of successive halving: the
// walk-forward CV score of one parameter set on at most MaxRows training
// rows per fold (the newest ones).
type TrialInput struct {
	Dataset string         `json:"dataset"` // DatasetInfo.Path
	Folds   []Fold         `json:"folds"`
	Trial   int            `json:"trial"`
	Rung    int            `json:"rung"`
	Params  ml.TrialParams `json:"params"`
	MaxRows int            `json:"max_rows"`
	Rounds  int            `json:"rounds"`
	Threads int            `json:"threads"`
}

// FitInput is the final fit: the best parameters on the final split's train
// rows, early stopping on its valid rows.
type FitInput struct {
	DataDir string         `json:"data_dir,omitempty"`
	Pair    string         `json:"pair"`
	Horizon int            `json:"horizon"`
	Dataset string         `json:"dataset"`
	Final   Fold           `json:"final"`
	Params  ml.TrialParams `json:"params"`
	Rounds  int            `json:"rounds"`
	Threads int            `json:"threads"`
	RunKey  string         `json:"run_key"` // names the report folder
}

// EvaluateInput scores the fitted model and the baselines on the test
// window and writes the report.
type EvaluateInput struct {
	Pair      string           `json:"pair"`
	Horizon   int              `json:"horizon"`
	Dataset   string           `json:"dataset"`
	Final     Fold             `json:"final"`
	ModelPath string           `json:"model_path"`
	ReportDir string           `json:"report_dir"`
	Params    ml.TrialParams   `json:"params"`
	Trials    []ml.TrialResult `json:"trials"`
	Seed      int64            `json:"seed"`
	// Write writes the report files; Train evaluates once for the metrics,
	// and again with Write once the version and the gate's decision are known.
	Write   bool     `json:"write,omitempty"`
	Version int      `json:"version,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// RegisterInput records a trained model as a new version.
type RegisterInput struct {
	DataDir   string             `json:"data_dir,omitempty"`
	Pair      string             `json:"pair"`
	Horizon   int                `json:"horizon"`
	ModelPath string             `json:"model_path"`
	ReportDir string             `json:"report_dir"`
	Params    map[string]string  `json:"params"`
	Metrics   map[string]float64 `json:"metrics"`
	Dataset   DatasetInfo        `json:"dataset"`
}

// GateInput names a candidate and the dataset whose test window judges it.
type GateInput struct {
	DataDir string `json:"data_dir,omitempty"`
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	Version int    `json:"version"`
	Dataset string `json:"dataset"`
}

// AliasInput points an alias at a version, with the reason recorded.
type AliasInput struct {
	DataDir string `json:"data_dir,omitempty"`
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	Alias   string `json:"alias"`
	Version int    `json:"version"`
	Reason  string `json:"reason"`
}

// TrialProgress is the heartbeat of RunTrial and FitFinal (Trial −1), shown in the UI.
type TrialProgress struct {
	Trial int `json:"trial"`
	Rung  int `json:"rung"`
	Fold  int `json:"fold"`
	Round int `json:"round"`
}

// BuildDataset builds and writes the pair's dataset (training.BuildDataset).
func (a *Activities) BuildDataset(ctx context.Context, in DatasetInput) (DatasetInfo, error) {
	dir, err := a.dataDir(in.DataDir)
	if err != nil {
		return DatasetInfo{}, err
	}
	hb := startHeartbeat(ctx, "reading features")
	defer hb.close()
	info, err := training.BuildDataset(ctx, dir, training.DatasetRequest{Pair: in.Pair, Horizon: in.Horizon, From: in.From, To: in.To,
		Folds: in.Folds, Logger: a.logger(), Progress: func(stage string) { hb.set(ctx, stage) }})
	return info, TemporalError(err)
}

// RunTrial scores one parameter set by walk-forward CV (training.RunTrial).
// XGBoost failing on these parameters is a result (Err set), not a failure.
func (a *Activities) RunTrial(ctx context.Context, in TrialInput) (ml.TrialResult, error) {
	ds, _, err := a.readDataset(in.Dataset)
	if err != nil {
		return ml.TrialResult{}, err
	}
	hb := startHeartbeat(ctx, TrialProgress{Trial: in.Trial, Rung: in.Rung})
	defer hb.close()
	res, err := training.RunTrial(ctx, ds, training.TrialRequest{Folds: in.Folds, Trial: in.Trial, Rung: in.Rung, Params: in.Params,
		MaxRows: in.MaxRows, Rounds: in.Rounds, Threads: in.Threads,
		Progress: func(fold, round int) {
			hb.set(ctx, TrialProgress{Trial: in.Trial, Rung: in.Rung, Fold: fold, Round: round})
		}})
	return res, TemporalError(err)
}

// FitFinal trains the chosen parameters and saves the model in the report
// folder (training.FitFinal).
func (a *Activities) FitFinal(ctx context.Context, in FitInput) (FitOutput, error) {
	dir, err := a.dataDir(in.DataDir)
	if err != nil {
		return FitOutput{}, err
	}
	ds, _, err := a.readDataset(in.Dataset)
	if err != nil {
		return FitOutput{}, err
	}
	hb := startHeartbeat(ctx, "fitting")
	defer hb.close()
	out, err := training.FitFinal(ctx, ds, training.FitRequest{DataDir: dir, Pair: in.Pair, Horizon: in.Horizon, Final: in.Final,
		Params: in.Params, Rounds: in.Rounds, Threads: in.Threads, RunKey: in.RunKey,
		Progress: func(round int) { hb.set(ctx, TrialProgress{Trial: -1, Round: round}) }})
	return out, TemporalError(err)
}

// Evaluate scores the model and the baselines on the test window and, with
// Write, writes the report (training.Evaluate).
func (a *Activities) Evaluate(ctx context.Context, in EvaluateInput) (Evaluation, error) {
	ds, sp, err := a.readDataset(in.Dataset)
	if err != nil {
		return Evaluation{}, err
	}
	model, err := a.dataPath("model", in.ModelPath)
	if err != nil {
		return Evaluation{}, err
	}
	reportDir := "" // none: metrics only
	if in.Write {
		if reportDir, err = a.dataPath("report_dir", in.ReportDir); err != nil {
			return Evaluation{}, err
		}
	}
	hb := startHeartbeat(ctx, "evaluating")
	defer hb.close()
	ev, err := training.Evaluate(ctx, ds, sp, training.EvaluateRequest{Final: in.Final, ModelPath: model, ReportDir: reportDir,
		Params: in.Params, Trials: in.Trials, Seed: in.Seed, Version: in.Version, Notes: in.Notes})
	if err != nil {
		return Evaluation{}, TemporalError(err)
	}
	ev.ReportDir = in.ReportDir // as the request names it
	return ev, nil
}

// RegisterModel registers the model as the next version, once per report
// folder however often retried (training.Register).
func (a *Activities) RegisterModel(ctx context.Context, in RegisterInput) (Registered, error) {
	reg, _, err := a.openRegistry(in.DataDir)
	if err != nil {
		return Registered{}, err
	}
	model, err := a.dataPath("model", in.ModelPath)
	if err != nil {
		return Registered{}, err
	}
	r, err := training.Register(ctx, reg, training.RegisterRequest{Pair: in.Pair, Horizon: in.Horizon, ModelPath: model,
		ReportDir: in.ReportDir, Params: in.Params, Metrics: in.Metrics, Dataset: in.Dataset})
	return r, TemporalError(err)
}

// ScoreGate scores the candidate, the zero-return baseline and the current
// champion on the dataset's test window (training.ScoreGate).
func (a *Activities) ScoreGate(ctx context.Context, in GateInput) (GateScores, error) {
	reg, _, err := a.openRegistry(in.DataDir)
	if err != nil {
		return GateScores{}, err
	}
	ds, sp, err := a.readDataset(in.Dataset)
	if err != nil {
		return GateScores{}, err
	}
	s, err := training.ScoreGate(ctx, reg, ds, sp, training.GateRequest{Pair: in.Pair, Horizon: in.Horizon, Version: in.Version})
	return s, TemporalError(err)
}

// SetAlias points champion or challenger at a version, recording the reason.
func (a *Activities) SetAlias(ctx context.Context, in AliasInput) error {
	reg, _, err := a.openRegistry(in.DataDir)
	if err != nil {
		return err
	}
	if in.Alias != registry.Champion && in.Alias != registry.Challenger {
		return invalidf("alias %q: want %s or %s", in.Alias, registry.Champion, registry.Challenger)
	}
	if err := reg.SetAlias(ctx, in.Pair, in.Horizon, in.Alias, in.Version, in.Reason); err != nil {
		return fmt.Errorf("set %s of %s h%d to v%d: %w", in.Alias, in.Pair, in.Horizon, in.Version, err)
	}
	return nil
}

// readDataset resolves a dataset path inside the roots and reads it through
// the worker's cache (read-only) with its splits.
func (a *Activities) readDataset(path string) (ml.Dataset, training.Splits, error) {
	path, err := a.dataPath("dataset", path)
	if err != nil {
		return ml.Dataset{}, training.Splits{}, err
	}
	ds, sp, err := a.datasets.ReadDataset(path)
	return ds, sp, TemporalError(err)
}

func (a *Activities) openRegistry(dataDir string) (*registry.Registry, string, error) {
	dir, err := a.dataDir(dataDir)
	if err != nil {
		return nil, "", err
	}
	reg, err := registry.Open(dir)
	if err != nil {
		return nil, "", fmt.Errorf("open registry %s: %w", dir, err)
	}
	return reg, dir, nil
}
