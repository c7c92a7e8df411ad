package workflows

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/ml"
)

// TrialsQuery is the name of Tune's query handler that returns every trial
// result so far ([]ml.TrialResult, in completion order).
const TrialsQuery = "trials"

// Defaults of a tuning run.
const (
	DefaultEta     = 3      // successive halving keeps the best 1/eta of each rung
	DefaultMaxRows = 30_000 // training rows per fold at the last rung
	DefaultRounds  = 400    // boosting rounds at most; early stopping ends most trials sooner
	minRungRows    = 1_000  // rows per fold at the first rung, at least
	maxTrials      = 1_000
	// maxTrialsPerRun bounds one run's history as maxActivitiesPerRun does
	// for backfills: past it Tune continues as new with its results so far.
	maxTrialsPerRun = 1000
)

// TuneRequest is the input of Tune, the child workflow of Train. Tune runs
// successive halving: every trial at the first rung on few rows, then the
// best 1/Eta of each rung again on Eta times the rows, until one rung is left.
type TuneRequest struct {
	Pair        string                 `json:"pair"`
	Horizon     int                    `json:"horizon"`
	Dataset     activities.DatasetInfo `json:"dataset"`
	Trials      int                    `json:"trials"`
	Concurrency int                    `json:"concurrency"`
	Seed        int64                  `json:"seed"`
	Eta         int                    `json:"eta,omitempty"`      // 3
	MaxRows     int                    `json:"max_rows,omitempty"` // 30,000
	Rounds      int                    `json:"rounds,omitempty"`   // 400
	// RunBudget is the trial activities per run before continue-as-new (1000).
	RunBudget int `json:"run_budget,omitempty"`
	// Resume is set by the workflow itself when it continues as new.
	Resume *TuneResume `json:"resume,omitempty"`
}

// TuneResume is what a run hands to the next when it continues as new.
type TuneResume struct {
	Results []ml.TrialResult `json:"results"`
	Rung    int              `json:"rung"`
	Next    int              `json:"next"` // candidates of Rung already done
	Runs    int              `json:"runs"`
}

// TuneResult is the output of Tune.
type TuneResult struct {
	Best   ml.TrialResult   `json:"best"`
	Trials []ml.TrialResult `json:"trials"`
}

// TuneProgress is what Tune's "progress" query returns.
type TuneProgress struct {
	Phase string          `json:"phase"`
	Run   int             `json:"run"`
	Rung  int             `json:"rung"`
	Rungs int             `json:"rungs"`
	Done  int             `json:"done"`  // trial activities done, all rungs
	Total int             `json:"total"` // trial activities planned, all rungs
	Best  *ml.TrialResult `json:"best,omitempty"`
}

// Rungs is the successive-halving plan for n trials (ml.SuccessiveHalving):
// how many trials run at each rung, and on how many training rows per fold —
// the rung's budget share of maxRows, at least minRows, at most maxRows.
func Rungs(n, eta, maxRows, minRows int) (sizes, rows []int) {
	for _, r := range ml.SuccessiveHalving(n, eta) {
		sizes = append(sizes, r.Trials)
		rows = append(rows, min(maxRows, max(minRows, int(math.Round(r.Budget*float64(maxRows))))))
	}
	return sizes, rows
}

// SampleTrials draws the n parameter sets of a tuning run from seed: the
// same seed gives the same trials, in the workflow and on a replay.
func SampleTrials(n int, seed int64) []ml.TrialParams {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7475_6e65)) // "tune"
	out := make([]ml.TrialParams, n)
	for i := range out {
		out[i] = ml.SampleParams(rng)
	}
	return out
}

// normalize fills the defaults and checks what a caller could get wrong.
func (r TuneRequest) normalize() (TuneRequest, error) {
	n := r
	var errs []error
	if n.Dataset.Path == "" || len(n.Dataset.Folds) == 0 {
		errs = append(errs, errors.New("dataset: want a path and folds"))
	}
	if n.Trials < 1 || n.Trials > maxTrials {
		errs = append(errs, fmt.Errorf("trials %d: want 1…%d", n.Trials, maxTrials))
	}
	n.Concurrency = defaultInt(n.Concurrency, DefaultTrainConcurrency)
	n.Eta = defaultInt(n.Eta, DefaultEta)
	n.MaxRows = defaultInt(n.MaxRows, DefaultMaxRows)
	n.Rounds = defaultInt(n.Rounds, DefaultRounds)
	n.RunBudget = defaultInt(n.RunBudget, maxTrialsPerRun)
	if n.Concurrency < 1 || n.Concurrency > maxConcurrency || n.Eta < 2 || n.MaxRows < 1 || n.Rounds < 1 || n.RunBudget < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d, eta %d, max_rows %d, rounds %d, run_budget %d: out of range",
			n.Concurrency, n.Eta, n.MaxRows, n.Rounds, n.RunBudget))
	}
	return n, errors.Join(errs...)
}

func defaultInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Tune scores Trials random parameter sets by walk-forward CV with
// successive halving, at most Concurrency trial activities at once, and
// returns every trial and the best of the last rung.
func Tune(ctx workflow.Context, req TuneRequest) (TuneResult, error) {
	n, err := req.normalize()
	if err != nil {
		return TuneResult{}, invalid(err)
	}
	t := newTuner(n)
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, t.query); err != nil {
		return TuneResult{}, err
	}
	if err := workflow.SetQueryHandler(ctx, TrialsQuery, t.trials); err != nil {
		return TuneResult{}, err
	}
	return t.run(ctx)
}

// tuner is the state of one Tune run.
type tuner struct {
	req      TuneRequest
	params   []ml.TrialParams
	sizes    []int
	rows     []int
	results  []ml.TrialResult
	rung     int
	next     int
	progress TuneProgress
}

func newTuner(req TuneRequest) *tuner {
	t := &tuner{req: req, params: SampleTrials(req.Trials, req.Seed)}
	t.sizes, t.rows = Rungs(req.Trials, req.Eta, req.MaxRows, minRungRows)
	if r := req.Resume; r != nil {
		t.results, t.rung, t.next, t.progress.Run = slices.Clone(r.Results), r.Rung, r.Next, r.Runs
	}
	for _, s := range t.sizes {
		t.progress.Total += s
	}
	t.progress.Phase, t.progress.Rungs, t.progress.Done = PhaseRunning, len(t.sizes), len(t.results)
	t.progress.Rung = t.rung
	t.progress.Best = t.best()
	return t
}

func (t *tuner) query() (TuneProgress, error) { return t.progress, nil }

func (t *tuner) trials() ([]ml.TrialResult, error) {
	return slices.Clone(t.results), nil
}

// run goes rung by rung; within a rung it runs the candidates left, at most
// RunBudget per run, then continues as new if any are left.
func (t *tuner) run(ctx workflow.Context) (TuneResult, error) {
	budget := t.req.RunBudget
	for ; t.rung < len(t.sizes); t.rung, t.next = t.rung+1, 0 {
		t.progress.Rung = t.rung
		cands := t.candidates(t.rung)
		hi := min(len(cands), t.next+budget)
		if err := t.runTrials(ctx, cands[t.next:hi]); err != nil {
			t.progress.Phase = PhaseFailed
			return TuneResult{}, err
		}
		budget -= hi - t.next
		t.next = hi
		if t.next < len(cands) || (budget == 0 && t.rung+1 < len(t.sizes)) {
			return TuneResult{}, t.continueAsNew(ctx)
		}
	}
	t.progress.Phase = PhaseCompleted
	best := t.best()
	if best == nil {
		t.progress.Phase = PhaseFailed
		return TuneResult{}, errors.New("tune: every trial failed (see the trials query)")
	}
	workflow.GetLogger(ctx).Info("tune completed", "trials", t.req.Trials, "activities", len(t.results), "best_trial", best.ID, "best_score", best.Score)
	return TuneResult{Best: *best, Trials: t.results}, nil
}

func (t *tuner) continueAsNew(ctx workflow.Context) error {
	next := t.req
	rung, idx := t.rung, t.next
	if idx == len(t.candidates(rung)) {
		rung, idx = rung+1, 0
	}
	next.Resume = &TuneResume{Results: t.results, Rung: rung, Next: idx, Runs: t.progress.Run + 1}
	return workflow.NewContinueAsNewError(ctx, Tune, next)
}

// candidates are the trials of a rung: all of them at rung 0, then the best
// of the previous rung (ml.TopK: by score, ties by trial number, failed
// trials never).
func (t *tuner) candidates(rung int) []ml.TrialResult {
	if rung == 0 {
		out := make([]ml.TrialResult, t.sizes[0])
		for i := range out {
			out[i] = ml.TrialResult{ID: i, Params: t.params[i]}
		}
		return out
	}
	return ml.TopK(t.atRung(rung-1), t.sizes[rung])
}

func (t *tuner) atRung(rung int) []ml.TrialResult {
	var out []ml.TrialResult
	for _, r := range t.results {
		if r.Rung == rung {
			out = append(out, r)
		}
	}
	return out
}

// best is the best trial of the highest rung with a successful result:
// scores at different rungs come from different row budgets and do not compare.
func (t *tuner) best() *ml.TrialResult {
	for r := len(t.sizes) - 1; r >= 0; r-- {
		if top := ml.TopK(t.atRung(r), 1); len(top) > 0 {
			return &top[0]
		}
	}
	return nil
}

// runTrials runs the candidates, at most Concurrency at once; the first
// failure (after the activity's retries) cancels the others.
func (t *tuner) runTrials(ctx workflow.Context, cands []ml.TrialResult) error {
	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	g := &group{sem: workflow.NewSemaphore(cctx, int64(t.req.Concurrency)), wg: workflow.NewWaitGroup(cctx), cancel: cancel}
	for _, c := range cands {
		if g.sem.Acquire(cctx, 1) != nil {
			break // canceled by a failure
		}
		fut := workflow.ExecuteActivity(workflow.WithActivityOptions(cctx, trialOptions), acts.RunTrial, t.input(c))
		g.wg.Add(1)
		workflow.Go(cctx, func(ctx workflow.Context) {
			defer g.wg.Done()
			var res ml.TrialResult
			err := fut.Get(ctx, &res)
			g.sem.Release(1)
			if err != nil {
				// Not wrapped: the activity's error type (non-retryable or
				// not) must reach the parent as it is.
				workflow.GetLogger(ctx).Error("trial failed", "trial", c.ID, "rung", t.rung, "error", err)
				g.fail(err)
				return
			}
			t.record(res)
		})
	}
	g.wg.Wait(ctx)
	return g.err
}

func (t *tuner) input(c ml.TrialResult) activities.TrialInput {
	return activities.TrialInput{Dataset: t.req.Dataset.Path, Folds: t.req.Dataset.Folds, Trial: c.ID, Rung: t.rung,
		Params: c.Params, MaxRows: t.rows[t.rung], Rounds: t.req.Rounds, Threads: 1}
}

func (t *tuner) record(res ml.TrialResult) {
	res.Rung = t.rung // the activity echoes it; the plan is the authority
	t.results = append(t.results, res)
	t.progress.Done++
	t.progress.Best = t.best()
}
