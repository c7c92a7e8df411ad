package training

import (
	"context"
	"fmt"
	"os"

	"github.com/tickcast/tickcast/registry"
)

// RegisterRequest records a fitted model as a new version of its series.
type RegisterRequest struct {
	Pair      string
	Horizon   int
	ModelPath string // the model file (FitOutput.ModelPath)
	ReportDir string // the run's report folder: a version's identity across retries
	Params    map[string]string
	Metrics   map[string]float64
	Dataset   DatasetInfo
}

// Registered is the new version (and the baseline's, version 0).
type Registered struct {
	Version         int `json:"version"`
	BaselineVersion int `json:"baseline_version"`
}

// Register makes sure the zero-return baseline is version 0, then registers
// the model as the next version. Registering again the model of a report
// folder already registered (a retry) returns that version instead of adding
// another.
func Register(ctx context.Context, reg *registry.Registry, in RegisterRequest) (Registered, error) {
	base, err := reg.EnsureBaseline(ctx, in.Pair, in.Horizon)
	if err != nil {
		return Registered{}, fmt.Errorf("baseline: %w", err)
	}
	versions, err := reg.List(ctx, in.Pair, in.Horizon)
	if err != nil {
		return Registered{}, err
	}
	for _, m := range versions {
		if m.Version > 0 && m.ReportDir == in.ReportDir {
			return Registered{Version: m.Version, BaselineVersion: base.Version}, nil
		}
	}
	model, err := os.ReadFile(in.ModelPath)
	if err != nil {
		return Registered{}, invalidf("model %s: %v", in.ModelPath, err)
	}
	ds := in.Dataset
	m, err := reg.Register(ctx, registry.Meta{Pair: in.Pair, Horizon: in.Horizon, Name: modelName, Artifact: modelFile,
		Params: in.Params, Metrics: in.Metrics, DataFrom: ds.From, DataTo: ds.To, TestFrom: ds.TestFrom, TestTo: ds.TestTo,
		ReportDir: in.ReportDir}, model)
	if err != nil {
		return Registered{}, fmt.Errorf("register %s h%d: %w", in.Pair, in.Horizon, err)
	}
	return Registered{Version: m.Version, BaselineVersion: base.Version}, nil
}
