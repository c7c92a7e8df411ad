package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/market"
)

// Incremental updates (docs/incremental.md): one Update run is one step —
// judge the series' pending child on the shadow rows, then make the next
// one (training.UpdateStep). A schedule starts it every DefaultUpdateEvery
// with overlap skip, so at most one runs per series; its state is in the
// registry, so a run that fails or is skipped loses nothing.

// Update methods (training.UpdateContinue, training.UpdateRefresh). There is
// no default: updates measured worse than the frozen champion on real data,
// so they run only where someone asks for one by name.
const (
	UpdateMethodContinue = "continue"
	UpdateMethodRefresh  = "refresh"
)

// Defaults of an update request (training.DefaultUpdatePolicy, UpdateGate,
// UpdateEvery at 1-minute candles).
const (
	DefaultUpdateTrees  = 5
	DefaultUpdateWindow = 1440
	DefaultUpdateShadow = 60
	DefaultUpdateEvery  = 60 * time.Minute
	minUpdateWindow     = 240 // training.MinUpdateRows
)

// PhaseUpdating is Update's phase while its step runs.
const PhaseUpdating = "updating"

// updateProducts are the products an update can change: their champions
// are single boosters (quantiles reuse the vol booster).
var updateProducts = []string{"return", "vol", "p_up"}

// UpdateRequest is the input of Update. From the Temporal UI it is JSON:
// {"pair":"ETH/USDT","horizon":5,"product":"vol","method":"refresh"}.
type UpdateRequest struct {
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon,omitempty"` // 1
	Product string `json:"product,omitempty"` // return (default), vol or p_up
	Method  string `json:"method"`            // continue or refresh: required
	Trees   int    `json:"trees,omitempty"`   // continue: rounds added, 5
	Window  int    `json:"window,omitempty"`  // newest labelled rows trained on, 1440
	Shadow  int    `json:"shadow,omitempty"`  // labelled rows a child is shadow-scored on, 60
	DataDir string `json:"data_dir,omitempty"`
}

// Normalize validates the request and fills its defaults.
func (r UpdateRequest) Normalize() (UpdateRequest, error) {
	n := r
	var errs []error
	n.Pair, errs = normalizePair(r.Pair, errs)
	n.DataDir, errs = cleanDataDir(r.DataDir, errs)
	n.Horizon = defaultInt(r.Horizon, DefaultHorizon)
	n.Product = cmp.Or(strings.ToLower(strings.TrimSpace(r.Product)), "return")
	if !slices.Contains(updateProducts, n.Product) {
		errs = append(errs, fmt.Errorf("product %q: want one of %v", r.Product, updateProducts))
	}
	n.Method = strings.ToLower(strings.TrimSpace(r.Method))
	if n.Method != UpdateMethodContinue && n.Method != UpdateMethodRefresh {
		errs = append(errs, fmt.Errorf("method %q: want %s or %s (updates are off unless asked for: docs/incremental.md)", r.Method, UpdateMethodContinue, UpdateMethodRefresh))
	}
	if n.Method == UpdateMethodContinue {
		n.Trees = defaultInt(r.Trees, DefaultUpdateTrees)
	}
	n.Window = defaultInt(r.Window, DefaultUpdateWindow)
	n.Shadow = defaultInt(r.Shadow, DefaultUpdateShadow)
	errs = checkRange(errs, "horizon", n.Horizon, 1, maxHorizon)
	errs = checkRange(errs, "trees", n.Trees, 0, 1000)
	errs = checkRange(errs, "window", n.Window, minUpdateWindow, 100_000)
	errs = checkRange(errs, "shadow", n.Shadow, 1, 100_000)
	return n, errors.Join(errs...)
}

// UpdateID is the ID of the Update workflow (and schedule) of a pair ×
// horizon × product: update-ETH-USDT-h5-vol.
func UpdateID(req UpdateRequest) string {
	n, err := req.Normalize()
	if err != nil {
		n = req
	}
	return fmt.Sprintf("update-%s-h%d-%s", market.PairSlug(n.Pair), n.Horizon, n.Product)
}

// UpdateProgress is what Update's "progress" query returns.
type UpdateProgress struct {
	Phase  string                       `json:"phase"`
	Result *activities.UpdateStepResult `json:"result,omitempty"`
}

// updateOptions: a step reads a day of rows and updates one booster in
// about a second; a failure is a full disk or a bug: the local retries.
var updateOptions = workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Minute, HeartbeatTimeout: heartbeatTimeout, RetryPolicy: localRetry}

// Update runs one update step of a pair × horizon × product
// (activities.UpdateProduct): a skipped step (rows too few or NaN, a
// champion it cannot update) completes with the reason; a corrupt champion
// fails it without retries, and the champion keeps serving either way.
func Update(ctx workflow.Context, req UpdateRequest) (activities.UpdateStepResult, error) {
	r, err := req.Normalize()
	if err != nil {
		return activities.UpdateStepResult{}, invalid(err)
	}
	progress := UpdateProgress{Phase: PhaseUpdating}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (UpdateProgress, error) { return progress, nil }); err != nil {
		return activities.UpdateStepResult{}, err
	}
	in := activities.UpdateInput{DataDir: r.DataDir, Pair: r.Pair, Horizon: r.Horizon, Product: r.Product, Method: r.Method,
		Trees: r.Trees, Window: r.Window, Shadow: r.Shadow}
	var res activities.UpdateStepResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, updateOptions), acts.UpdateProduct, in).Get(ctx, &res); err != nil {
		progress.Phase = PhaseFailed
		return res, err
	}
	progress.Phase, progress.Result = PhaseCompleted, &res
	workflow.GetLogger(ctx).Info("update step", "pair", r.Pair, "horizon", r.Horizon, "product", r.Product,
		"status", res.Status, "champion", res.Champion, "reason", res.Reason)
	return res, nil
}
