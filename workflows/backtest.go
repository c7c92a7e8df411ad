package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/market"
)

// Defaults of a backtest request.
const (
	DefaultBacktestDays       = 30 // the window: the last 30 days of the store's data
	DefaultBacktestPolicyDays = 30 // the update policy is chosen on the 30 days before the window
	DefaultBacktestParallel   = 2  // day activities at once per series
	DefaultBacktestSeries     = 2  // series (child workflows) at once
	DefaultBacktestRounds     = 400
	maxBacktestDays           = 366
)

// Phases of a backtest, as its progress query shows them (PhasePlanning,
// PhaseReport, PhaseCompleted and PhaseFailed as for the others).
const (
	PhaseBacktestSelect = "select"   // the selection days, every candidate policy
	PhaseBacktestChoose = "choosing" // the policy with the lowest pooled vol MAE
	PhaseBacktestWindow = "window"   // the scored days with the chosen policy
	PhaseBacktestFrozen = "frozen"   // a series fits its frozen model
)

// DefaultBacktestPolicies are the update policies the selection days choose
// from (docs/backtest.md).
var DefaultBacktestPolicies = []activities.BacktestPolicy{
	{Method: "refresh", Window: 1440, Every: 60},
	{Method: "refresh", Window: 4320, Every: 240},
	{Method: "continue", Trees: 5, Window: 1440, Every: 60},
	{Method: "continue", Trees: 2, Window: 4320, Every: 240},
}

// BacktestRequest is the input of Backtest. From the Temporal UI it is JSON:
// {"pairs":["ETH/USDT","BTC/USDT"],"horizons":[1,5],"days":30}.
type BacktestRequest struct {
	Pairs    []string `json:"pairs"`
	Horizons []int    `json:"horizons,omitempty"` // [1]
	Days     int      `json:"days,omitempty"`     // scored days: 30
	// End is the first day after the window (UTC midnight); zero: the last
	// day the store holds rows of (excluded: it may be partial).
	End        time.Time `json:"end,omitzero"`
	PolicyDays int       `json:"policy_days,omitempty"` // selection days before the window: 30
	// Policies are the candidates of the selection (DefaultBacktestPolicies);
	// Update, when set, is used without a selection.
	Policies []activities.BacktestPolicy `json:"policies,omitempty"`
	Update   *activities.BacktestPolicy  `json:"update,omitempty"`
	Rounds   int                         `json:"rounds,omitempty"`   // boosting rounds at most: 400
	Parallel int                         `json:"parallel,omitempty"` // day activities at once per series: 2
	Series   int                         `json:"series,omitempty"`   // series at once: 2
	DataDir  string                      `json:"data_dir,omitempty"`
}

// Normalize validates the request and fills its defaults.
func (r BacktestRequest) Normalize() (BacktestRequest, error) {
	n := r
	var errs []error
	n.Pairs, errs = normalizePairs(r.Pairs, errs)
	if len(n.Pairs) == 0 {
		errs = append(errs, errors.New("backtest: at least one pair"))
	}
	n.DataDir, errs = cleanDataDir(r.DataDir, errs)
	n.Horizons = slices.Compact(slices.Sorted(slices.Values(r.Horizons)))
	if len(n.Horizons) == 0 {
		n.Horizons = []int{DefaultHorizon}
	}
	for _, h := range n.Horizons {
		errs = checkRange(errs, "horizon", h, 1, maxHorizon)
	}
	n.End = r.End.UTC()
	if !n.End.Equal(n.End.Truncate(day)) {
		errs = append(errs, fmt.Errorf("end %s: want a UTC midnight", n.End.Format(time.RFC3339)))
	}
	n.Days = defaultInt(r.Days, DefaultBacktestDays)
	n.PolicyDays = defaultInt(r.PolicyDays, DefaultBacktestPolicyDays)
	if n.Update != nil {
		n.PolicyDays, n.Policies = 0, nil
	} else if len(n.Policies) == 0 {
		n.Policies = DefaultBacktestPolicies
	}
	n.Rounds = defaultInt(r.Rounds, DefaultBacktestRounds)
	n.Parallel = defaultInt(r.Parallel, DefaultBacktestParallel)
	n.Series = defaultInt(r.Series, DefaultBacktestSeries)
	errs = checkRange(errs, "days", n.Days, 1, maxBacktestDays)
	errs = checkRange(errs, "policy_days", n.PolicyDays, 0, maxBacktestDays)
	errs = checkRange(errs, "rounds", n.Rounds, 1, 100_000)
	errs = checkRange(errs, "parallel", n.Parallel, 1, maxConcurrency)
	errs = checkRange(errs, "series", n.Series, 1, maxConcurrency)
	return n, errors.Join(errs...)
}

// BacktestID is the workflow ID of a backtest: its pairs, horizons, days and
// window end ("latest": the store's last day), so starting the same backtest
// while it runs attaches to it.
func BacktestID(req BacktestRequest) string {
	n, err := req.Normalize()
	if err != nil {
		n = req
	}
	pairs := make([]string, len(n.Pairs))
	for i, p := range n.Pairs {
		pairs[i] = market.PairSlug(p)
	}
	hs := make([]string, len(n.Horizons))
	for i, h := range n.Horizons {
		hs[i] = strconv.Itoa(h)
	}
	end := "latest"
	if !n.End.IsZero() {
		end = n.End.Format("20060102")
	}
	return fmt.Sprintf("backtest-%s-h%s-d%d-%s", strings.Join(pairs, "_"), strings.Join(hs, "_"), n.Days, end)
}

// BacktestProgress is what Backtest's "progress" query returns. A series'
// Done counts only completed children; BacktestSeries' own query (its ID
// is in the row) counts its days as they complete.
type BacktestProgress struct {
	Phase     string                   `json:"phase"`
	End       time.Time                `json:"end,omitzero"`
	ReportDir string                   `json:"report_dir,omitempty"`
	Policy    string                   `json:"policy,omitempty"`
	Series    []BacktestSeriesProgress `json:"series"`
}

// BacktestSeriesProgress is one child: a series of one phase, days done / total.
type BacktestSeriesProgress struct {
	ID      string `json:"id"`
	Phase   string `json:"phase"`
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	Status  string `json:"status"` // pending, frozen, running, completed, failed
	Done    int    `json:"done"`
	Total   int    `json:"total"`
}

// BacktestResult is the output of Backtest.
type BacktestResult struct {
	ID      string                     `json:"id"`
	Policy  activities.BacktestChoice  `json:"policy"`
	Summary activities.BacktestSummary `json:"summary"`
}

// Backtest runs the walk-forward backtest of the training loop
// (docs/backtest.md): it finds the window in the store, runs the
// selection days of every pair × horizon (one BacktestSeries child each,
// at most req.Series at once) with every candidate policy, chooses the
// policy on them pooled, runs the window's days with it the same way and
// aggregates the report (JSON + SVG) into reports/backtest/<run id>/.
// Every day is an activity whose result is in the child's history, so a
// worker crash resumes from the days completed.
func Backtest(ctx workflow.Context, req BacktestRequest) (BacktestResult, error) {
	n, err := req.Normalize()
	if err != nil {
		return BacktestResult{}, invalid(err)
	}
	info := workflow.GetInfo(ctx)
	b := &backtester{req: n, id: info.WorkflowExecution.ID, progress: BacktestProgress{Phase: PhasePlanning}}
	b.run = activities.BacktestRun{DataDir: n.DataDir, Key: info.WorkflowExecution.RunID}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, b.query); err != nil {
		return BacktestResult{}, err
	}
	res, err := b.backtest(ctx)
	if err != nil {
		b.progress.Phase = PhaseFailed
		return BacktestResult{}, err
	}
	b.progress.Phase = PhaseCompleted
	return res, nil
}

type backtester struct {
	req      BacktestRequest
	id       string
	run      activities.BacktestRun
	plan     activities.BacktestPlan
	progress BacktestProgress
}

func (b *backtester) query() (BacktestProgress, error) {
	p := b.progress
	p.Series = slices.Clone(b.progress.Series)
	return p, nil
}

func (b *backtester) backtest(ctx workflow.Context) (BacktestResult, error) {
	r := b.req
	in := activities.BacktestPlanInput{BacktestRun: b.run, Pairs: r.Pairs, End: r.End, Days: r.Days + r.PolicyDays}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, datasetOptions), acts.BacktestPlan, in).Get(ctx, &b.plan); err != nil {
		return BacktestResult{}, err
	}
	b.progress.End, b.progress.ReportDir = b.plan.End, b.plan.ReportDir
	window := backtestDays(b.plan.End, r.Days, 0)
	b.addSeries(PhaseBacktestSelect, r.PolicyDays)
	b.addSeries(PhaseBacktestWindow, r.Days)
	choice, err := b.choose(ctx)
	if err != nil {
		return BacktestResult{}, err
	}
	b.progress.Phase, b.progress.Policy = PhaseBacktestWindow, choice.Policy.Key()
	keys, err := b.phase(ctx, PhaseBacktestWindow, window, choice.Policy, nil)
	if err != nil {
		return BacktestResult{}, err
	}
	b.progress.Phase = PhaseReport
	note := fmt.Sprintf("Update policy %s; scored days %s to %s; workflow %s.", choice.Policy.Key(),
		window[0].Format(time.DateOnly), window[len(window)-1].Format(time.DateOnly), b.id)
	rin := activities.BacktestDaysInput{BacktestRun: b.run, Series: keys, Days: window, Notes: []string{note}}
	var sum activities.BacktestSummary
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, evaluateOptions), acts.BacktestReport, rin).Get(ctx, &sum)
	return BacktestResult{ID: b.id, Policy: choice, Summary: sum}, err
}

// choose runs the selection days and picks the policy, or takes req.Update.
func (b *backtester) choose(ctx workflow.Context) (activities.BacktestChoice, error) {
	r := b.req
	if r.Update != nil {
		return activities.BacktestChoice{Policy: *r.Update}, nil
	}
	b.progress.Phase = PhaseBacktestSelect
	days := backtestDays(b.plan.End, r.PolicyDays, r.Days)
	keys, err := b.phase(ctx, PhaseBacktestSelect, days, r.Policies[0], r.Policies[1:])
	if err != nil {
		return activities.BacktestChoice{}, err
	}
	b.progress.Phase = PhaseBacktestChoose
	in := activities.BacktestDaysInput{BacktestRun: b.run, Series: keys, Days: days, Update: r.Policies[0], Alternatives: r.Policies[1:]}
	var c activities.BacktestChoice
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, evaluateOptions), acts.BacktestChoose, in).Get(ctx, &c)
	return c, err
}

// backtestDays are the n days ending skip days before end, oldest first.
func backtestDays(end time.Time, n, skip int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = end.AddDate(0, 0, i-n-skip)
	}
	return out
}

// addSeries adds a phase's children to the progress, pending.
func (b *backtester) addSeries(phase string, days int) {
	if days == 0 {
		return
	}
	for _, pair := range b.req.Pairs {
		for _, h := range b.req.Horizons {
			b.progress.Series = append(b.progress.Series, BacktestSeriesProgress{ID: BacktestSeriesID(b.id, phase, pair, h),
				Phase: phase, Pair: pair, Horizon: h, Status: StatusPending, Total: days})
		}
	}
}

// Statuses of a series in the progress.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusCompleted = PhaseCompleted
	StatusFailed    = PhaseFailed
)

// BacktestSeriesID is the workflow ID of a backtest's child.
func BacktestSeriesID(parent, phase, pair string, h int) string {
	return fmt.Sprintf("%s-%s-%s-h%d", parent, phase, market.PairSlug(pair), h)
}

// phase runs one child per pair × horizon over days, at most req.Series at
// once; the first failure cancels the rest.
func (b *backtester) phase(ctx workflow.Context, phase string, days []time.Time, update activities.BacktestPolicy, alts []activities.BacktestPolicy) ([]activities.BacktestSeriesKey, error) {
	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	g := &group{sem: workflow.NewSemaphore(cctx, int64(b.req.Series)), wg: workflow.NewWaitGroup(cctx), cancel: cancel}
	var keys []activities.BacktestSeriesKey
	for i, pair := range b.req.Pairs {
		for _, h := range b.req.Horizons {
			key := activities.BacktestSeriesKey{Phase: phase, Pair: pair, Horizon: h, From: b.plan.From[i]}
			keys = append(keys, key)
			if g.sem.Acquire(cctx, 1) != nil {
				break
			}
			sreq := BacktestSeriesRequest{Run: b.run, Series: key, Days: days, Update: update, Alternatives: alts,
				Rounds: b.req.Rounds, Parallel: b.req.Parallel}
			b.startSeries(cctx, g, sreq)
		}
	}
	g.wg.Wait(ctx)
	return keys, g.err
}

func (b *backtester) startSeries(ctx workflow.Context, g *group, req BacktestSeriesRequest) {
	id := BacktestSeriesID(b.id, req.Series.Phase, req.Series.Pair, req.Series.Horizon)
	row := slices.IndexFunc(b.progress.Series, func(s BacktestSeriesProgress) bool { return s.ID == id })
	b.progress.Series[row].Status = StatusRunning
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id})
	fut := workflow.ExecuteChildWorkflow(cctx, BacktestSeries, req)
	g.wg.Add(1)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer g.wg.Done()
		var res BacktestSeriesResult
		err := fut.Get(ctx, &res)
		g.sem.Release(1)
		s := &b.progress.Series[row]
		if err != nil {
			s.Status = StatusFailed
			g.fail(err)
			return
		}
		s.Status, s.Done = StatusCompleted, res.Days
	})
}

// BacktestSeriesRequest is the input of BacktestSeries, one child of Backtest.
type BacktestSeriesRequest struct {
	Run          activities.BacktestRun       `json:"run"`
	Series       activities.BacktestSeriesKey `json:"series"`
	Days         []time.Time                  `json:"days"`
	Update       activities.BacktestPolicy    `json:"update"`
	Alternatives []activities.BacktestPolicy  `json:"alternatives,omitempty"`
	Rounds       int                          `json:"rounds"`
	Parallel     int                          `json:"parallel"`
}

// BacktestSeriesResult is what a series did.
type BacktestSeriesResult struct {
	Days    int     `json:"days"`
	Rows    int     `json:"rows"`
	Seconds float64 `json:"seconds"` // the days' BacktestDay time, summed
}

// backtestThreads is the XGBoost threads of each fit (as the real-data run).
const backtestThreads = 2

// backtestDayOptions: a day is a retrain plus the update walks (seconds to
// minutes); a dead worker's day is retried elsewhere after the heartbeat timeout.
var backtestDayOptions = workflow.ActivityOptions{StartToCloseTimeout: time.Hour, HeartbeatTimeout: heartbeatTimeout, RetryPolicy: localRetry}

// BacktestSeries fits the series' frozen model before its first day, then
// scores its days (one activity each, at most Parallel at once). Its
// "progress" query returns a BacktestSeriesProgress.
func BacktestSeries(ctx workflow.Context, req BacktestSeriesRequest) (BacktestSeriesResult, error) {
	s := req.Series
	p := BacktestSeriesProgress{ID: workflow.GetInfo(ctx).WorkflowExecution.ID, Phase: s.Phase, Pair: s.Pair, Horizon: s.Horizon,
		Status: PhaseBacktestFrozen, Total: len(req.Days)}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (BacktestSeriesProgress, error) { return p, nil }); err != nil {
		return BacktestSeriesResult{}, err
	}
	if len(req.Days) == 0 || req.Parallel < 1 {
		return BacktestSeriesResult{}, invalid(fmt.Errorf("backtest series %s: %d days, parallel %d", p.ID, len(req.Days), req.Parallel))
	}
	fit := activities.BacktestFit{Rounds: req.Rounds, Threads: backtestThreads}
	var frozen activities.BacktestFrozen
	fin := activities.BacktestFrozenInput{BacktestRun: req.Run, Series: s, Before: req.Days[0], Fit: fit}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, backtestDayOptions), acts.BacktestFrozen, fin).Get(ctx, &frozen); err != nil {
		p.Status = StatusFailed
		return BacktestSeriesResult{}, err
	}
	p.Status = StatusRunning
	var res BacktestSeriesResult
	err := runDays(ctx, req.Parallel, len(req.Days), func(ctx workflow.Context, i int) workflow.Future {
		in := activities.BacktestDayInput{BacktestRun: req.Run, Series: s, Day: req.Days[i], Frozen: frozen.File, Fit: fit,
			Update: req.Update, Alternatives: req.Alternatives}
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, backtestDayOptions), acts.BacktestDay, in)
	}, func(r activities.BacktestDayResult) {
		p.Done++
		res.Days, res.Rows, res.Seconds = res.Days+1, res.Rows+r.Rows, res.Seconds+r.Seconds
	})
	if err != nil {
		p.Status = StatusFailed
		return BacktestSeriesResult{}, err
	}
	p.Status = StatusCompleted
	return res, nil
}

// runDays starts day i = 0, 1, … n−1 as permits free up (at most parallel
// at once) and records each result; the first failure (after the
// activity's retries) cancels the rest.
func runDays(ctx workflow.Context, parallel, n int, start func(workflow.Context, int) workflow.Future, record func(activities.BacktestDayResult)) error {
	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	g := &group{sem: workflow.NewSemaphore(cctx, int64(parallel)), wg: workflow.NewWaitGroup(cctx), cancel: cancel}
	for i := range n {
		if g.sem.Acquire(cctx, 1) != nil {
			break
		}
		fut := start(cctx, i)
		g.wg.Add(1)
		workflow.Go(cctx, func(ctx workflow.Context) {
			defer g.wg.Done()
			var r activities.BacktestDayResult
			err := fut.Get(ctx, &r)
			g.sem.Release(1)
			if err != nil {
				g.fail(err)
				return
			}
			record(r)
		})
	}
	g.wg.Wait(ctx)
	return g.err
}
