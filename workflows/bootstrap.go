package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
)

// Phases of a bootstrap (then PhaseCompleted).
const (
	PhaseBackfilling = "backfilling"
	PhaseTraining    = "training"
	PhaseScheduling  = "scheduling"
)

// States of one bootstrap step.
const (
	StepPending   = "pending"
	StepRunning   = "running"
	StepCompleted = "completed"
	StepSkipped   = "skipped"
	StepFailed    = "failed"
)

// Kinds of bootstrap steps.
const (
	StepBackfill  = "backfill"
	StepTrain     = "train"
	StepSchedules = "schedules"
)

// BootstrapRequest is the input of Bootstrap: the series `tickcast run`
// serves, and the backfills its starter planned from the store (the
// workflow may not read it). From the Temporal UI it is JSON:
// {"pairs":["ETH/USDT"],"horizons":[1,5],"data_dir":"/data","backfills":[…],"trials":20,"retrain_every":86400000000000}.
type BootstrapRequest struct {
	Pairs     []string          `json:"pairs"`
	Horizons  []int             `json:"horizons"`
	DataDir   string            `json:"data_dir,omitempty"` // "" = the worker's --data-dir
	Backfills []BackfillRequest `json:"backfills,omitempty"`
	Trials    int               `json:"trials,omitempty"` // tuning trials of each training: 20
	// RetrainEvery is the period of the retraining schedules (0: none).
	RetrainEvery time.Duration `json:"retrain_every,omitempty"`
}

// Normalize validates the request and fills its defaults.
func (r BootstrapRequest) Normalize() (BootstrapRequest, error) {
	n := r
	var errs []error
	n.Pairs, errs = normalizePairs(r.Pairs, errs)
	if len(n.Pairs) == 0 {
		errs = append(errs, errors.New("pairs: want at least one"))
	}
	n.Horizons = slices.Compact(slices.Sorted(slices.Values(r.Horizons)))
	if len(n.Horizons) == 0 {
		errs = append(errs, errors.New("horizons: want at least one"))
	}
	for _, h := range n.Horizons {
		errs = checkRange(errs, "horizon", h, 1, maxHorizon)
	}
	n.DataDir, errs = cleanDataDir(r.DataDir, errs)
	n.Trials = defaultInt(r.Trials, DefaultTrials)
	errs = checkRange(errs, "trials", n.Trials, 1, maxTrials)
	if r.RetrainEvery != 0 && r.RetrainEvery < time.Minute {
		errs = append(errs, fmt.Errorf("retrain_every %s: want 0 (none) or at least 1m", r.RetrainEvery))
	}
	n.Backfills = make([]BackfillRequest, len(r.Backfills))
	for i, b := range r.Backfills {
		var err error
		if n.Backfills[i], err = b.Normalize(); err != nil {
			errs = append(errs, fmt.Errorf("backfill %d: %w", i, err))
		}
	}
	return n, errors.Join(errs...)
}

// BootstrapID is the workflow ID of the bootstrap of a set of series in a
// data directory: `tickcast run` started again while it runs attaches to it.
// The planned backfills are not part of it (they follow the clock).
func BootstrapID(req BootstrapRequest) string {
	n, err := req.Normalize()
	if err != nil {
		n = req
	}
	key, _ := json.Marshal(struct {
		DataDir  string
		Horizons []int
	}{n.DataDir, n.Horizons})
	sum := sha256.Sum256(key)
	return "bootstrap-" + idPairs(n.Pairs) + "-" + hex.EncodeToString(sum[:4])
}

// BootstrapStep is one child workflow (or the schedules activity) of a
// bootstrap and how it went.
type BootstrapStep struct {
	Kind   string `json:"kind"`         // backfill, train, schedules
	Target string `json:"target"`       // pairs, or "pair hH"
	ID     string `json:"id,omitempty"` // child workflow ID (schedules: their IDs, comma-separated)
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// BootstrapProgress is what the progress query returns, and the result.
type BootstrapProgress struct {
	Phase string          `json:"phase"`
	Steps []BootstrapStep `json:"steps"`
}

// BootstrapResult is the output of Bootstrap: every step's outcome.
type BootstrapResult = BootstrapProgress

// Bootstrap makes a fresh `tickcast run` predict with trained models: it
// backfills what the store lacks (child Backfill per planned request), trains
// each pair × horizon that has no trained model and has features (child
// Train, one at a time: the live stream keeps CPUs), then applies the
// retraining schedules. A failed step is recorded and the next goes on: the
// system serves what it has. Children have deterministic IDs and are
// recorded in the history, so a worker that dies mid-bootstrap loses
// nothing: the next worker replays the history and waits on the same children.
func Bootstrap(ctx workflow.Context, req BootstrapRequest) (BootstrapResult, error) {
	n, err := req.Normalize()
	if err != nil {
		return BootstrapResult{}, invalid(err)
	}
	b := &booter{req: n}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, b.query); err != nil {
		return BootstrapResult{}, err
	}
	for _, step := range []func(workflow.Context){b.backfill, b.train, b.schedule} {
		step(ctx)
		if err := ctx.Err(); err != nil {
			return b.progress, temporal.NewCanceledError(b.progress)
		}
	}
	b.setPhase(ctx, PhaseCompleted)
	workflow.GetLogger(ctx).Info("bootstrap completed", "steps", len(b.progress.Steps))
	return b.progress, nil
}

// booter is the state of one bootstrap; only its coroutine touches it.
type booter struct {
	req      BootstrapRequest
	progress BootstrapProgress
}

func (b *booter) query() (BootstrapProgress, error) {
	p := b.progress
	p.Steps = slices.Clone(p.Steps)
	return p, nil
}

func (b *booter) setPhase(ctx workflow.Context, phase string) {
	b.progress.Phase = phase
	b.show(ctx)
}

// add appends a step and returns its index.
func (b *booter) add(ctx workflow.Context, s BootstrapStep) int {
	b.progress.Steps = append(b.progress.Steps, s)
	b.show(ctx)
	return len(b.progress.Steps) - 1
}

func (b *booter) set(ctx workflow.Context, i int, status, detail string) {
	b.progress.Steps[i].Status, b.progress.Steps[i].Detail = status, detail
	b.show(ctx)
}

// show puts the progress in the UI's "current details" (Markdown).
func (b *booter) show(ctx workflow.Context) {
	lines := []string{fmt.Sprintf("**bootstrap: %s**", b.progress.Phase)}
	for _, s := range b.progress.Steps {
		line := fmt.Sprintf("- %s %s `%s`: %s", s.Kind, s.Target, s.ID, s.Status)
		if s.Detail != "" {
			line += " — " + s.Detail
		}
		lines = append(lines, line)
	}
	workflow.SetCurrentDetails(ctx, strings.Join(lines, "\n"))
}

// childOptions: the child's ID is its own helper's, so that the UI and the
// CLI find it, and a closed one may run again.
func childOptions(ctx workflow.Context, id string) workflow.Context {
	return workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	})
}

// backfill runs the planned backfills side by side (they are of different
// pairs) and waits for them all.
func (b *booter) backfill(ctx workflow.Context) {
	b.setPhase(ctx, PhaseBackfilling)
	var futs []workflow.ChildWorkflowFuture
	var steps []int
	for _, r := range b.req.Backfills {
		// json.Marshal of a struct without maps is deterministic; workflowcheck
		// cannot tell it from one with maps.
		id := BackfillID(r) //workflowcheck:ignore
		steps = append(steps, b.add(ctx, BootstrapStep{Kind: StepBackfill, Target: strings.Join(r.Pairs, ","), ID: id, Status: StepRunning}))
		futs = append(futs, workflow.ExecuteChildWorkflow(childOptions(ctx, id), Backfill, r))
	}
	for i, f := range futs {
		var res BackfillResult
		if err := f.Get(ctx, &res); err != nil {
			b.failed(ctx, steps[i], err)
			continue
		}
		b.set(ctx, steps[i], StepCompleted, backfillDetail(res))
	}
}

func backfillDetail(res BackfillResult) string {
	var parts []string
	for _, p := range res.Pairs {
		parts = append(parts, fmt.Sprintf("%s %d candles, %d features", p.Pair, p.Candles, p.Features))
	}
	return strings.Join(parts, "; ")
}

// failed records a step's error; a child someone else started under the same
// ID (e.g. `tickcast train` of the same series) is left to them.
func (b *booter) failed(ctx workflow.Context, i int, err error) {
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		b.set(ctx, i, StepSkipped, "already running, started outside this bootstrap")
		return
	}
	workflow.GetLogger(ctx).Warn("bootstrap step failed; going on", "kind", b.progress.Steps[i].Kind, "id", b.progress.Steps[i].ID, "err", err)
	b.set(ctx, i, StepFailed, err.Error())
}

// train trains, one at a time, every series without a trained model whose
// pair has features in the store.
func (b *booter) train(ctx workflow.Context) {
	b.setPhase(ctx, PhaseTraining)
	in := activities.SeriesInput{DataDir: b.req.DataDir, Pairs: b.req.Pairs, Horizons: b.req.Horizons}
	var states []activities.SeriesState
	actx := workflow.WithActivityOptions(ctx, registryOptions)
	if err := workflow.ExecuteActivity(actx, acts.InspectSeries, in).Get(ctx, &states); err != nil {
		b.failed(ctx, b.add(ctx, BootstrapStep{Kind: StepTrain, Target: strings.Join(b.req.Pairs, ",")}), err)
		return
	}
	for _, s := range states {
		if ctx.Err() != nil {
			return
		}
		b.trainOne(ctx, s)
	}
}

func (b *booter) trainOne(ctx workflow.Context, s activities.SeriesState) {
	req := TrainRequest{Pair: s.Pair, Horizon: s.Horizon, Trials: b.req.Trials, DataDir: b.req.DataDir}
	step := BootstrapStep{Kind: StepTrain, Target: fmt.Sprintf("%s h%d", s.Pair, s.Horizon), ID: TrainID(req), Status: StepRunning}
	switch {
	case s.Trained:
		step.Status, step.Detail, step.ID = StepSkipped, "the registry holds a trained model", ""
	case !s.Features:
		step.Status, step.Detail, step.ID = StepSkipped, "no features stored to train on: serving the zero-return baseline", ""
	}
	i := b.add(ctx, step)
	if step.Status != StepRunning {
		return
	}
	var res TrainResult
	if err := workflow.ExecuteChildWorkflow(childOptions(ctx, step.ID), Train, req).Get(ctx, &res); err != nil {
		b.failed(ctx, i, err)
		return
	}
	b.set(ctx, i, StepCompleted, fmt.Sprintf("v%d: %s", res.Version, res.Reason))
}

// schedule applies the retraining schedules.
func (b *booter) schedule(ctx workflow.Context) {
	if b.req.RetrainEvery <= 0 {
		return
	}
	b.setPhase(ctx, PhaseScheduling)
	i := b.add(ctx, BootstrapStep{Kind: StepSchedules, Target: strings.Join(b.req.Pairs, ","), Status: StepRunning})
	in := activities.ScheduleInput{DataDir: b.req.DataDir, Pairs: b.req.Pairs, Horizons: b.req.Horizons, Trials: b.req.Trials, Every: b.req.RetrainEvery}
	var ids []string
	actx := workflow.WithActivityOptions(ctx, registryOptions)
	if err := workflow.ExecuteActivity(actx, acts.ApplySchedules, in).Get(ctx, &ids); err != nil {
		b.failed(ctx, i, err)
		return
	}
	b.progress.Steps[i].ID = strings.Join(ids, ",")
	b.set(ctx, i, StepCompleted, fmt.Sprintf("Train every %s", b.req.RetrainEvery))
}
