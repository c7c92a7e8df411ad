package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/training"
)

// UpdateInput is one step of a series' incremental updates
// (training.UpdateStep): judge the pending child, then make the next one.
type UpdateInput struct {
	DataDir string `json:"data_dir,omitempty"`
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	Product string `json:"product"` // return (or ""), vol or p_up
	Method  string `json:"method"`  // continue or refresh
	Trees   int    `json:"trees,omitempty"`
	Window  int    `json:"window"`
	Shadow  int    `json:"shadow"` // labelled rows a child is shadow-scored on
	// At bounds the rows read (labelled before it); zero: the worker's
	// clock. Set it to step through stored data (tests, replays).
	At time.Time `json:"at,omitzero"`
}

// UpdateStepResult is what an update step did (training.UpdateStepResult).
type UpdateStepResult = training.UpdateStepResult

// UpdateProduct runs one update step of a pair × horizon × product over the
// store and registry of its data directory. Rows too few or NaN, or a
// champion it cannot update, are a skipped result (logged), not an error;
// a corrupt champion or child model fails it without retries (code
// invalid, training.ErrParentModel).
func (a *Activities) UpdateProduct(ctx context.Context, in UpdateInput) (UpdateStepResult, error) {
	reg, dir, err := a.openRegistry(in.DataDir)
	if err != nil {
		return UpdateStepResult{}, err
	}
	s, err := updateSeries(in)
	if err != nil {
		return UpdateStepResult{}, err
	}
	at := in.At
	if at.IsZero() {
		at = time.Now()
	}
	hb := startHeartbeat(ctx, "update "+s.String())
	defer hb.close()
	res, err := training.UpdateStep(ctx, reg, dir, training.UpdateStepRequest{Series: s, Gate: in.Shadow, Now: at,
		Policy: training.UpdatePolicy{Method: in.Method, Trees: in.Trees, Window: in.Window}, Logger: a.logger()})
	return res, TemporalError(err)
}

func updateSeries(in UpdateInput) (registry.Series, error) {
	pair, err := market.NormalizePair(in.Pair)
	if err != nil {
		return registry.Series{}, invalid(fmt.Errorf("update: pair %q: %w", in.Pair, err))
	}
	p, err := registry.NormalizeProduct(in.Product)
	if err != nil {
		return registry.Series{}, invalid(fmt.Errorf("update: %w", err))
	}
	return registry.Series{Pair: pair, Horizon: in.Horizon, Product: p}, nil
}
