package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/market"
)

// ProgressQuery is the name of Backfill's query handler; it returns a Progress.
const ProgressQuery = "progress"

// Phases of a backfill as the progress query shows them.
const (
	PhasePlanning  = "planning"
	PhaseRunning   = "running"
	PhaseCompleted = "completed"
	PhaseFailed    = "failed"
)

// maxActivitiesPerRun bounds one run's history: about 5 events per
// activity keeps a run near 5,000 events, far below Temporal's 51,200-event
// limit. Past it the workflow continues as new with the chunks left.
const maxActivitiesPerRun = 1000

// PairResult is one pair's plan and counts so far.
type PairResult struct {
	Pair     string    `json:"pair"`
	Kind     string    `json:"kind"`
	Interval string    `json:"interval"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Chunks   int       `json:"chunks"`   // chunks in [From, To)
	Imported int       `json:"imported"` // phase 1 (fetch or import) chunks done
	Built    int       `json:"built"`    // phase 2 (candles and features) chunks done
	Pages    int       `json:"pages,omitempty"`
	Rows     int       `json:"rows"`    // trades or candles taken from the source
	Candles  int       `json:"candles"` // candles written by phase 2, Empty included
	Empty    int       `json:"empty"`
	Features int       `json:"features"`
	First    time.Time `json:"first,omitzero"` // first and last source row seen
	Last     time.Time `json:"last,omitzero"`
}

// BackfillResult is the output of Backfill.
type BackfillResult struct {
	Pairs []PairResult `json:"pairs"`
	Cross CrossResult  `json:"cross,omitzero"`
}

// Progress is what the "progress" query returns.
type Progress struct {
	Phase string `json:"phase"`
	Run   int    `json:"run"`   // 0, then 1, 2, … after each continue-as-new
	Done  int    `json:"done"`  // chunk activities done, phases 1 and 2
	Total int    `json:"total"` // 2 per chunk
	// Cross counts phase 3 apart: its ranges of days, those done, the rows
	// written and those crossed (with another pair's row at their ts).
	Cross CrossResult  `json:"cross"`
	Pairs []PairResult `json:"pairs"`
}

// CrossResult is phase 3's plan and counts so far.
type CrossResult struct {
	Ranges   int `json:"ranges"`
	Done     int `json:"done"`
	Features int `json:"features"`
	Crossed  int `json:"crossed"`
}

// Resume is what a run hands to the next when it continues as new.
type Resume struct {
	Plan    []PairPlan   `json:"plan"`
	Results []PairResult `json:"results"`
	Next1   int          `json:"next1"`           // phase 1: imports done (round-robin order)
	Next2   int          `json:"next2"`           // phase 2: chunk indices built
	Next3   int          `json:"next3,omitempty"` // phase 3: cross ranges done
	Cross   CrossResult  `json:"cross,omitzero"`
	Runs    int          `json:"runs"`
}

// Backfill fills the store with a range of history: phase 1 fetches or
// imports each pair × chunk (at most Concurrency activities at once); phase 2
// builds candles and base feature rows per pair strictly in chunk order,
// pairs in parallel; phase 3 sets the cross-pair features (xp_*) of every
// pair's rows, one activity per chunk of days over all the pairs, at most
// Concurrency at once. Phase 2 waits for all of phase 1: a chunk's last
// candles depend on whether the store holds later data (see package
// history); phase 3 waits for all of phase 2, since a row's xp_* read every
// other pair's candles at its ts. The pairs crossed are the backfill's pairs
// (those of one candle interval together): backfill the pairs the live
// pipeline is configured with, all in one request, so that the stored
// xp_* equal the live ones. Every phase is idempotent: a retried activity
// or a rerun backfill writes the same rows.
func Backfill(ctx workflow.Context, req BackfillRequest) (BackfillResult, error) {
	n, err := req.Normalize()
	if err != nil {
		return BackfillResult{}, invalid(err)
	}
	b := &backfill{req: n, progress: Progress{Phase: PhasePlanning}}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, b.query); err != nil {
		return BackfillResult{}, err
	}
	if err := b.prepare(ctx); err != nil {
		b.progress.Phase = PhaseFailed
		return BackfillResult{}, err
	}
	return b.run(ctx)
}

// item is one pair × chunk.
type item struct{ p, k int }

// backfill is the state of one run; only the workflow's coroutines touch it,
// one at a time.
type backfill struct {
	req      BackfillRequest
	plan     []PairPlan
	chunks   [][]history.Chunk // per pair
	imports  []item            // phase 1, round-robin over the pairs
	next1    int               // first import this run does
	next2    int               // first chunk index phase 2 of this run builds
	cross    []crossItem       // phase 3; none in runs recorded before it
	next3    int               // first cross range this run does
	progress Progress
}

func (b *backfill) query() (Progress, error) {
	p := b.progress
	p.Pairs = append([]PairResult(nil), b.progress.Pairs...)
	return p, nil
}

func (b *backfill) prepare(ctx workflow.Context) error {
	plan, err := b.makePlan(ctx)
	if err != nil {
		return err
	}
	if len(plan) == 0 {
		return invalid(errors.New("nothing to backfill"))
	}
	b.plan = plan
	b.progress.Pairs = make([]PairResult, len(plan))
	if r := b.req.Resume; r != nil {
		b.next1, b.next2, b.next3, b.progress.Run, b.progress.Cross = r.Next1, r.Next2, r.Next3, r.Runs, r.Cross
		copy(b.progress.Pairs, r.Results)
	}
	size := time.Duration(b.req.ChunkDays) * day
	b.chunks = make([][]history.Chunk, len(plan))
	for i, p := range plan {
		b.chunks[i] = history.Chunks(p.Pair, p.From, p.To, size)
		pr := &b.progress.Pairs[i]
		pr.Pair, pr.Kind, pr.Interval, pr.From, pr.To = p.Pair, p.Kind, p.Interval, p.From, p.To
		pr.Chunks = len(b.chunks[i])
		b.progress.Total += 2 * pr.Chunks
		b.progress.Done += pr.Imported + pr.Built
	}
	b.imports = roundRobin(b.chunks)
	if workflow.GetVersion(ctx, crossVersion, workflow.DefaultVersion, 1) == 1 {
		b.cross = crossItems(plan, size)
	}
	b.progress.Cross.Ranges = len(b.cross)
	b.progress.Phase = PhaseRunning
	workflow.GetLogger(ctx).Info("backfill planned", "source", b.req.Source, "pairs", len(plan), "total", b.progress.Total, "done", b.progress.Done)
	return nil
}

// crossVersion marks the runs that have phase 3: the histories recorded
// before it replay without.
const crossVersion = "cross-features"

// crossItem is one activity of phase 3: the pairs of one interval over
// [from, to).
type crossItem struct {
	pairs    []string
	interval string
	from, to time.Time
}

// crossItems splits the span of each interval's pairs into chunks of days
// (in plan order of the intervals, so that the plan is deterministic).
func crossItems(plan []PairPlan, size time.Duration) []crossItem {
	var out []crossItem
	for i, p := range plan {
		if slices.ContainsFunc(plan[:i], func(q PairPlan) bool { return q.Interval == p.Interval }) {
			continue // its interval's ranges are made
		}
		var pairs []string
		from, to := p.From, p.To
		for _, q := range plan[i:] {
			if q.Interval == p.Interval {
				pairs = append(pairs, q.Pair)
				from, to = earliest(from, q.From), latest(to, q.To)
			}
		}
		for _, c := range history.Chunks("", from, to, size) {
			out = append(out, crossItem{pairs: pairs, interval: p.Interval, from: c.From, to: c.To})
		}
	}
	return out
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// roundRobin orders phase 1 chunk by chunk across the pairs, so that all
// pairs progress together.
func roundRobin(chunks [][]history.Chunk) []item {
	var out []item
	for k := 0; ; k++ {
		n := len(out)
		for p, cs := range chunks {
			if k < len(cs) {
				out = append(out, item{p, k})
			}
		}
		if len(out) == n {
			return out
		}
	}
}

// makePlan takes the plan from the previous run, from the clock (kraken) or
// from the files (archive: an activity reads them; the workflow may not).
func (b *backfill) makePlan(ctx workflow.Context) ([]PairPlan, error) {
	if b.req.Resume != nil {
		return b.req.Resume.Plan, nil
	}
	if b.req.Source == SourceKraken {
		plan, err := krakenPlan(b.req, workflow.Now(ctx))
		return plan, invalid(err)
	}
	in := activities.InspectInput{Files: b.req.Files}
	if len(b.req.Pairs) == 1 {
		in.Pair = b.req.Pairs[0]
	}
	var files []activities.ArchiveFile
	actx := workflow.WithActivityOptions(ctx, inspectOptions)
	if err := workflow.ExecuteActivity(actx, acts.InspectArchive, in).Get(ctx, &files); err != nil {
		return nil, err
	}
	plan, err := archivePlan(b.req, files)
	return plan, invalid(err)
}

// acts names the activities by method value, as the worker registers them.
var acts *activities.Activities

// run does this run's share of the activities, phase 1, 2 then 3, and
// continues as new while some are left.
func (b *backfill) run(ctx workflow.Context) (BackfillResult, error) {
	budget := maxActivitiesPerRun
	if b.next1 < len(b.imports) {
		hi := min(len(b.imports), b.next1+budget)
		if err := b.phase(ctx, func(ctx workflow.Context, g *group) { b.importRange(ctx, g, hi) }); err != nil {
			return b.failed(err)
		}
		budget -= hi - b.next1
		b.next1 = hi
	}
	last := 0
	for _, c := range b.chunks {
		last = max(last, len(c))
	}
	if b.next1 == len(b.imports) && budget >= len(b.plan) {
		hi := min(last, b.next2+budget/len(b.plan))
		if err := b.phase(ctx, func(ctx workflow.Context, g *group) { b.buildRange(ctx, g, hi) }); err != nil {
			return b.failed(err)
		}
		budget -= (hi - b.next2) * len(b.plan)
		b.next2 = hi
	}
	if b.next2 == last && b.next3 < len(b.cross) && budget > 0 {
		hi := min(len(b.cross), b.next3+budget)
		if err := b.phase(ctx, func(ctx workflow.Context, g *group) { b.crossRange(ctx, g, hi) }); err != nil {
			return b.failed(err)
		}
		b.next3 = hi
	}
	if b.next2 < last || b.next3 < len(b.cross) {
		next := b.req
		next.Resume = &Resume{Plan: b.plan, Results: b.progress.Pairs, Next1: b.next1, Next2: b.next2, Next3: b.next3,
			Cross: b.progress.Cross, Runs: b.progress.Run + 1}
		return BackfillResult{}, workflow.NewContinueAsNewError(ctx, Backfill, next)
	}
	b.progress.Phase = PhaseCompleted
	workflow.GetLogger(ctx).Info("backfill completed", "pairs", len(b.plan), "done", b.progress.Done)
	return BackfillResult{Pairs: b.progress.Pairs, Cross: b.progress.Cross}, nil
}

func (b *backfill) failed(err error) (BackfillResult, error) {
	b.progress.Phase = PhaseFailed
	return BackfillResult{}, err
}

// group runs a phase's activities, at most Concurrency at once; the first
// failure (after the activity's own retries) cancels the rest.
type group struct {
	sem    workflow.Semaphore
	wg     workflow.WaitGroup
	cancel workflow.CancelFunc
	err    error
}

func (g *group) fail(err error) {
	if g.err == nil {
		g.err = err
		g.cancel()
	}
}

// goActivity takes a permit (false: canceled), starts an activity with
// start, and waits for it in a coroutine of the group: the permit is given
// back when it completes, then record gets its stats or the group fails.
func (g *group) goActivity(ctx workflow.Context, start func() workflow.Future, record func(activities.ChunkStats)) bool {
	if g.sem.Acquire(ctx, 1) != nil {
		return false
	}
	fut := start()
	g.wg.Add(1)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer g.wg.Done()
		var st activities.ChunkStats
		err := fut.Get(ctx, &st)
		g.sem.Release(1)
		if err != nil {
			g.fail(err)
			return
		}
		record(st)
	})
	return true
}

// phase runs start, which adds coroutines to the group, and waits for them all.
func (b *backfill) phase(ctx workflow.Context, start func(workflow.Context, *group)) error {
	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	g := &group{sem: workflow.NewSemaphore(cctx, int64(b.req.Concurrency)), wg: workflow.NewWaitGroup(cctx), cancel: cancel}
	g.wg.Add(1)
	workflow.Go(cctx, func(ctx workflow.Context) {
		defer g.wg.Done()
		start(ctx, g)
	})
	g.wg.Wait(ctx) // not cctx: after a failure, still wait for every coroutine
	return g.err
}

// importRange runs phase 1 for imports [next1, hi), chunk by chunk and
// round-robin over the pairs, as permits free up.
func (b *backfill) importRange(ctx workflow.Context, g *group, hi int) {
	for _, it := range b.imports[b.next1:hi] {
		start := func() workflow.Future { return b.startImport(ctx, it.p, it.k) }
		if !g.goActivity(ctx, start, func(st activities.ChunkStats) { b.recordImport(it.p, st) }) {
			return // canceled
		}
	}
}

// buildRange runs phase 2 for chunk indices [next2, hi): each pair in chunk
// order (a chunk's features start from the candles before it in the store),
// the pairs in parallel.
func (b *backfill) buildRange(ctx workflow.Context, g *group, hi int) {
	for p := range b.plan {
		g.wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer g.wg.Done()
			for k := b.next2; k < min(hi, len(b.chunks[p])); k++ {
				if g.sem.Acquire(ctx, 1) != nil {
					return
				}
				var st activities.ChunkStats
				err := b.startBuild(ctx, p, k).Get(ctx, &st)
				g.sem.Release(1)
				if err != nil {
					g.fail(err)
					return
				}
				b.recordBuild(p, st)
			}
		})
	}
}

// crossRange runs phase 3 for the cross ranges [next3, hi), as permits
// free up: the ranges are independent (each recomputes its rows from the
// candles; adjacent ones only add rows to a shared day file, merged under
// the store's lock).
func (b *backfill) crossRange(ctx workflow.Context, g *group, hi int) {
	for _, c := range b.cross[b.next3:hi] {
		in := activities.CrossInput{DataDir: b.req.DataDir, Pairs: c.pairs, From: c.from, To: c.to, Interval: c.interval}
		start := func() workflow.Future {
			// Store work like a build: the same timeouts and local retries.
			return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, buildOptions), acts.CrossFeatures, in)
		}
		if !g.goActivity(ctx, start, b.recordCross) {
			return // canceled
		}
	}
}

func (b *backfill) chunk(p, k int) activities.Chunk {
	c := b.chunks[p][k]
	return activities.Chunk{DataDir: b.req.DataDir, Pair: c.Pair, From: c.From, To: c.To}
}

func (b *backfill) startImport(ctx workflow.Context, p, k int) workflow.Future {
	if b.req.Source == SourceKraken {
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, fetchOptions), acts.FetchTradesChunk, b.chunk(p, k))
	}
	in := activities.ImportInput{Chunk: b.chunk(p, k), Files: b.plan[p].Files}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, importOptions), acts.ImportArchiveChunk, in)
}

func (b *backfill) startBuild(ctx workflow.Context, p, k int) workflow.Future {
	in := activities.BuildInput{Chunk: b.chunk(p, k), Kind: b.plan[p].Kind, Interval: b.plan[p].Interval}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, buildOptions), acts.BuildChunk, in)
}

func (b *backfill) recordImport(p int, st activities.ChunkStats) {
	r := &b.progress.Pairs[p]
	r.Imported++
	r.Pages += st.Pages
	r.Rows += st.Trades + st.Candles
	if !st.First.IsZero() && (r.First.IsZero() || st.First.Before(r.First)) {
		r.First = st.First
	}
	if st.Last.After(r.Last) {
		r.Last = st.Last
	}
	b.progress.Done++
}

func (b *backfill) recordBuild(p int, st activities.ChunkStats) {
	r := &b.progress.Pairs[p]
	r.Built++
	r.Candles += st.Candles
	r.Empty += st.Empty
	r.Features += st.Features
	b.progress.Done++
}

func (b *backfill) recordCross(st activities.ChunkStats) {
	c := &b.progress.Cross
	c.Done++
	c.Features += st.Features
	c.Crossed += st.Crossed
}

// invalid marks a request error as final: retrying the same input cannot help.
func invalid(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	return activities.TemporalError(market.Errorf(market.CodeInvalid, "%s", err))
}
