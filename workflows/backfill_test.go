package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/market"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// recorder is a fake set of activities: it counts calls, tracks how many run
// at once, and checks that a pair's builds come in chunk order, each after
// its chunk was imported, and that the cross step comes after every build.
type recorder struct {
	mu              sync.Mutex
	running, peak   int
	imported        map[string]bool // pair|from
	built           map[string][]time.Time
	calls           map[string]int
	failImport      func(c activities.Chunk, attempt int) error
	failCross       func(in activities.CrossInput, attempt int) error
	crossed         []activities.CrossInput
	errs            []error
	importStats     activities.ChunkStats
	buildStats      activities.ChunkStats
	lastImportInput activities.ImportInput
	lastBuildInput  activities.BuildInput
	inspect         []activities.ArchiveFile
	inspectInputs   []activities.InspectInput
	delay           time.Duration
	chunksPerPair   int // when set, a build checks that all the pair's imports are done
}

func newRecorder() *recorder {
	return &recorder{imported: map[string]bool{}, built: map[string][]time.Time{}, calls: map[string]int{},
		importStats: activities.ChunkStats{Trades: 10, Pages: 1}, buildStats: activities.ChunkStats{Candles: 1440, Features: 1440},
		delay: 2 * time.Millisecond}
}

func (r *recorder) enter() {
	r.mu.Lock()
	r.running++
	r.peak = max(r.peak, r.running)
	r.mu.Unlock()
	time.Sleep(r.delay) // real time: lets activities overlap
}

func (r *recorder) leave() {
	r.mu.Lock()
	r.running--
	r.mu.Unlock()
}

func key(c activities.Chunk) string { return c.Pair + "|" + c.From.Format(time.RFC3339) }

func (r *recorder) importChunk(c activities.Chunk) (activities.ChunkStats, error) {
	r.enter()
	defer r.leave()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["import|"+key(c)]++
	if r.failImport != nil {
		if err := r.failImport(c, r.calls["import|"+key(c)]); err != nil {
			return activities.ChunkStats{}, err
		}
	}
	r.imported[key(c)] = true
	st := r.importStats
	st.First, st.Last = c.From, c.To.Add(-time.Minute)
	return st, nil
}

func (r *recorder) fetch(_ context.Context, c activities.Chunk) (activities.ChunkStats, error) {
	return r.importChunk(c)
}

func (r *recorder) importArchive(_ context.Context, in activities.ImportInput) (activities.ChunkStats, error) {
	r.mu.Lock()
	r.lastImportInput = in
	r.mu.Unlock()
	return r.importChunk(in.Chunk)
}

func (r *recorder) build(_ context.Context, in activities.BuildInput) (activities.ChunkStats, error) {
	r.enter()
	defer r.leave()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastBuildInput = in
	r.calls["build|"+key(in.Chunk)]++
	if len(r.crossed) > 0 {
		r.errs = append(r.errs, fmt.Errorf("build %s after a cross step", key(in.Chunk)))
	}
	if !r.imported[key(in.Chunk)] {
		r.errs = append(r.errs, fmt.Errorf("build %s before its import", key(in.Chunk)))
	}
	if n := r.importedOf(in.Pair); r.chunksPerPair > 0 && n != r.chunksPerPair {
		r.errs = append(r.errs, fmt.Errorf("build %s with %d/%d imports done", key(in.Chunk), n, r.chunksPerPair))
	}
	prev := r.built[in.Pair]
	if len(prev) > 0 && !prev[len(prev)-1].Before(in.From) {
		r.errs = append(r.errs, fmt.Errorf("build %s after %s: out of order", key(in.Chunk), prev[len(prev)-1]))
	}
	r.built[in.Pair] = append(prev, in.From)
	return r.buildStats, nil
}

func (r *recorder) cross(_ context.Context, in activities.CrossInput) (activities.ChunkStats, error) {
	r.enter()
	defer r.leave()
	r.mu.Lock()
	defer r.mu.Unlock()
	k := "cross|" + in.From.Format(time.RFC3339)
	r.calls[k]++
	if r.failCross != nil {
		if err := r.failCross(in, r.calls[k]); err != nil {
			return activities.ChunkStats{}, err
		}
	}
	for _, p := range in.Pairs {
		if n := len(r.built[p]); r.chunksPerPair > 0 && n != r.chunksPerPair {
			r.errs = append(r.errs, fmt.Errorf("%s with %d/%d builds of %s done", k, n, r.chunksPerPair, p))
		}
	}
	r.crossed = append(r.crossed, in)
	return activities.ChunkStats{Features: 100, Crossed: 90}, nil
}

func (r *recorder) count(k string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[k]
}

func (r *recorder) builtOf(pair string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.built[pair])
}

func (r *recorder) importedOf(pair string) int {
	n := 0
	for k := range r.imported {
		if strings.HasPrefix(k, pair+"|") {
			n++
		}
	}
	return n
}

func (r *recorder) inspectArchive(_ context.Context, in activities.InspectInput) ([]activities.ArchiveFile, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inspectInputs = append(r.inspectInputs, in)
	return r.inspect, nil
}

func newEnv(t *testing.T, r *recorder) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Backfill)
	env.RegisterActivity(acts)
	env.OnActivity(acts.FetchTradesChunk, mock.Anything, mock.Anything).Return(r.fetch)
	env.OnActivity(acts.ImportArchiveChunk, mock.Anything, mock.Anything).Return(r.importArchive)
	env.OnActivity(acts.BuildChunk, mock.Anything, mock.Anything).Return(r.build)
	env.OnActivity(acts.CrossFeatures, mock.Anything, mock.Anything).Return(r.cross)
	env.OnActivity(acts.InspectArchive, mock.Anything, mock.Anything).Return(r.inspectArchive)
	return env
}

func runBackfill(t *testing.T, env *testsuite.TestWorkflowEnvironment, req BackfillRequest) (BackfillResult, error) {
	t.Helper()
	env.ExecuteWorkflow(Backfill, req)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res BackfillResult
	err := env.GetWorkflowError()
	if err == nil {
		if gerr := env.GetWorkflowResult(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func krakenReq() BackfillRequest {
	return BackfillRequest{Pairs: []string{"XBTUSD", "eth/usd"}, Source: SourceKraken, DataDir: "/data",
		From: date("2025-05-01T00:00:00Z"), To: date("2025-05-06T12:00:00Z"), Concurrency: 2}
}

func TestBackfillKrakenFanOutOrderAndBound(t *testing.T) {
	r := newRecorder()
	r.chunksPerPair = 6
	env := newEnv(t, r)
	res, err := runBackfill(t, env, krakenReq())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.errs) > 0 {
		t.Fatal(errors.Join(r.errs...))
	}
	if r.peak > 2 {
		t.Errorf("%d activities at once, want <= concurrency 2", r.peak)
	}
	if r.peak < 2 {
		t.Errorf("peak %d: the fan-out did not run in parallel", r.peak)
	}
	for _, p := range []string{"BTC/USD", "ETH/USD"} {
		if got := len(r.built[p]); got != 6 {
			t.Errorf("%s: %d builds, want 6 (5 days and a half)", p, got)
		}
	}
	want := []PairResult{
		{Pair: "BTC/USD", Kind: "trades", Interval: "1m0s", From: date("2025-05-01T00:00:00Z"), To: date("2025-05-06T12:00:00Z"),
			Chunks: 6, Imported: 6, Built: 6, Pages: 6, Rows: 60, Candles: 6 * 1440, Features: 6 * 1440,
			First: date("2025-05-01T00:00:00Z"), Last: date("2025-05-06T11:59:00Z")},
	}
	if len(res.Pairs) != 2 || res.Pairs[0] != want[0] {
		t.Errorf("result = %+v\nwant first %+v", res.Pairs, want[0])
	}
	// Phase 3: one cross step per day (the chunk size) over both pairs.
	if len(r.crossed) != 6 {
		t.Fatalf("%d cross steps, want 6", len(r.crossed))
	}
	for i, in := range r.crossed {
		if !slices.Equal(in.Pairs, []string{"BTC/USD", "ETH/USD"}) || in.Interval != "1m0s" || in.DataDir != "/data" {
			t.Errorf("cross input %d = %+v", i, in)
		}
	}
	slices.SortFunc(r.crossed, func(a, b activities.CrossInput) int { return a.From.Compare(b.From) })
	if first, last := r.crossed[0], r.crossed[5]; !first.From.Equal(date("2025-05-01T00:00:00Z")) || !last.To.Equal(date("2025-05-06T12:00:00Z")) {
		t.Errorf("cross ranges from %s to %s, want the backfill's range", first.From, last.To)
	}
	if res.Cross != (CrossResult{Ranges: 6, Done: 6, Features: 600, Crossed: 540}) {
		t.Errorf("cross result = %+v", res.Cross)
	}
}

func TestBackfillDefaultRangeIsLast90Days(t *testing.T) {
	r := newRecorder()
	env := newEnv(t, r)
	env.SetStartTime(date("2025-08-18T18:27:31Z"))
	req := BackfillRequest{Pairs: []string{"ETH/USD"}, Source: SourceKraken, DataDir: "/data", ChunkDays: 30}
	res, err := runBackfill(t, env, req)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Pairs[0]
	if !p.From.Equal(date("2025-05-20T00:00:00Z")) || !p.To.Equal(date("2025-08-18T18:27:00Z")) {
		t.Errorf("range %s … %s, want the 90 days before the last whole minute", p.From, p.To)
	}
	if p.Chunks != 4 { // 30-day chunks from 05-20: 06-19, 07-19, 08-18, then the last hours
		t.Errorf("%d chunks, want 4", p.Chunks)
	}
}

func TestBackfillRetriesThenCompletes(t *testing.T) {
	r := newRecorder()
	r.failImport = func(c activities.Chunk, attempt int) error {
		if c.Pair == "ETH/USD" && c.From.Day() == 3 && attempt < 3 {
			return errors.New("kraken: unavailable")
		}
		return nil
	}
	env := newEnv(t, r)
	if _, err := runBackfill(t, env, krakenReq()); err != nil {
		t.Fatal(err)
	}
	if n := r.count("import|ETH/USD|2025-05-03T00:00:00Z"); n != 3 {
		t.Errorf("%d attempts, want 3 (two failures, then success)", n)
	}
}

func TestBackfillNonRetryableFailsFast(t *testing.T) {
	r := newRecorder()
	r.failImport = func(c activities.Chunk, attempt int) error {
		if c.Pair == "BTC/USD" && c.From.Day() == 2 {
			return temporal.NewNonRetryableApplicationError("unknown pair", market.CodeInvalid, nil)
		}
		return nil
	}
	env := newEnv(t, r)
	_, err := runBackfill(t, env, krakenReq())
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != market.CodeInvalid {
		t.Fatalf("err = %v, want the activity's InvalidInput", err)
	}
	if n := r.count("import|BTC/USD|2025-05-02T00:00:00Z"); n != 1 {
		t.Errorf("%d attempts of a non-retryable failure, want 1", n)
	}
	if b := r.builtOf("BTC/USD"); len(b) > 0 {
		t.Errorf("built %v although phase 1 failed", b)
	}
	q, qerr := env.QueryWorkflow(ProgressQuery)
	var p Progress
	if qerr != nil || q.Get(&p) != nil || p.Phase != PhaseFailed {
		t.Errorf("progress after failure = %+v, %v", p, qerr)
	}
}

func TestBackfillRejectsBadRequests(t *testing.T) {
	tests := map[string]BackfillRequest{
		"no pairs":         {Source: SourceKraken},
		"bad pair":         {Source: SourceKraken, Pairs: []string{"NOPE"}},
		"bad source":       {Source: "ftp", Pairs: []string{"BTC/USD"}},
		"archive, no file": {Source: SourceArchive, Pairs: []string{"BTC/USD"}},
		"relative file":    {Source: SourceArchive, Files: []string{"x.csv"}},
		"relative dir":     {Source: SourceKraken, Pairs: []string{"BTC/USD"}, DataDir: "data"},
		"from after to":    {Source: SourceKraken, Pairs: []string{"BTC/USD"}, From: date("2025-01-02T00:00:00Z"), To: date("2025-01-01T00:00:00Z")},
		"interval":         {Source: SourceKraken, Pairs: []string{"BTC/USD"}, Interval: "7m"},
		"chunk days":       {Source: SourceKraken, Pairs: []string{"BTC/USD"}, ChunkDays: -1},
		"concurrency":      {Source: SourceKraken, Pairs: []string{"BTC/USD"}, Concurrency: 1000},
		"kraken + files":   {Source: SourceKraken, Pairs: []string{"BTC/USD"}, Files: []string{"/x.csv"}},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t, newRecorder())
			_, err := runBackfill(t, env, req)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != market.CodeInvalid || !appErr.NonRetryable() {
				t.Fatalf("err = %v, want a non-retryable %s", err, market.CodeInvalid)
			}
		})
	}
}

func TestBackfillProgressQuery(t *testing.T) {
	r := newRecorder()
	env := newEnv(t, r)
	var mid Progress
	env.RegisterDelayedCallback(func() {
		q, err := env.QueryWorkflow(ProgressQuery)
		if err != nil {
			t.Error(err)
			return
		}
		if err := q.Get(&mid); err != nil {
			t.Error(err)
		}
	}, time.Millisecond)
	if _, err := runBackfill(t, env, krakenReq()); err != nil {
		t.Fatal(err)
	}
	if mid.Phase != PhaseRunning || mid.Total != 24 || len(mid.Pairs) != 2 || mid.Pairs[0].Chunks != 6 {
		t.Errorf("progress while running = %+v", mid)
	}
	q, err := env.QueryWorkflow(ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var end Progress
	if err := q.Get(&end); err != nil {
		t.Fatal(err)
	}
	if end.Phase != PhaseCompleted || end.Done != 24 || end.Cross != (CrossResult{Ranges: 6, Done: 6, Features: 600, Crossed: 540}) || end.Pairs[1].Built != 6 || end.Pairs[1].Rows != 60 {
		t.Errorf("final progress = %+v", end)
	}
}

func TestBackfillArchive(t *testing.T) {
	r := newRecorder()
	r.inspect = []activities.ArchiveFile{
		{Path: "/d/ETHUSDT_1m.csv.gz", Format: "binance-klines", Pair: "ETH/USDT", Kind: activities.KindCandles, Interval: "1m0s",
			Rows: 20160, First: date("2025-05-20T00:00:00Z"), Last: date("2025-06-02T23:59:00Z")},
		{Path: "/d/BTCUSDT_1m.csv.gz", Format: "binance-klines", Pair: "BTC/USDT", Kind: activities.KindCandles, Interval: "1m0s",
			Rows: 20160, First: date("2025-05-20T00:00:00Z"), Last: date("2025-06-02T23:59:00Z")},
	}
	env := newEnv(t, r)
	req := BackfillRequest{Source: SourceArchive, Files: []string{"/d/ETHUSDT_1m.csv.gz", "/d/BTCUSDT_1m.csv.gz"}, DataDir: "/data"}
	res, err := runBackfill(t, env, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.errs) > 0 {
		t.Fatal(errors.Join(r.errs...))
	}
	if len(res.Pairs) != 2 || res.Pairs[0].Pair != "BTC/USDT" || res.Pairs[0].Chunks != 2 || !res.Pairs[0].To.Equal(date("2025-06-03T00:00:00Z")) {
		t.Errorf("result = %+v, want 2 pairs of 2 weekly chunks up to 06-03", res.Pairs)
	}
	if r.lastBuildInput.Kind != activities.KindCandles || r.lastBuildInput.Interval != "1m0s" || r.lastBuildInput.DataDir != "/data" {
		t.Errorf("build input = %+v", r.lastBuildInput)
	}
	if len(r.lastImportInput.Files) != 1 {
		t.Errorf("import input files = %+v, want the pair's one file", r.lastImportInput.Files)
	}
	if len(r.inspectInputs) != 1 || r.inspectInputs[0].Pair != "" || len(r.inspectInputs[0].Files) != 2 {
		t.Errorf("inspect inputs = %+v", r.inspectInputs)
	}
	if len(r.crossed) != 2 || !slices.Equal(r.crossed[0].Pairs, []string{"BTC/USDT", "ETH/USDT"}) || r.crossed[0].Interval != "1m0s" {
		t.Errorf("cross inputs = %+v, want both pairs over the 2 weekly chunks", r.crossed)
	}
}

// A cross step that fails is retried as a build is, then the backfill
// completes; one that fails for good fails it.
func TestBackfillCrossRetries(t *testing.T) {
	r := newRecorder()
	r.failCross = func(in activities.CrossInput, attempt int) error {
		if in.From.Day() == 4 && attempt < 3 {
			return errors.New("disk full")
		}
		return nil
	}
	env := newEnv(t, r)
	if _, err := runBackfill(t, env, krakenReq()); err != nil {
		t.Fatal(err)
	}
	if n := r.count("cross|2025-05-04T00:00:00Z"); n != 3 {
		t.Errorf("%d attempts, want 3 (two failures, then success)", n)
	}

	r = newRecorder()
	r.failCross = func(in activities.CrossInput, attempt int) error {
		return temporal.NewNonRetryableApplicationError("bad candles", market.CodeInvalid, nil)
	}
	env = newEnv(t, r)
	if _, err := runBackfill(t, env, krakenReq()); err == nil {
		t.Fatal("a failed cross step completed the backfill")
	}
}

// crossItems groups the pairs by interval, each group over its span.
func TestCrossItemsByInterval(t *testing.T) {
	plan := []PairPlan{
		{Pair: "BTC/USD", Interval: "1m0s", From: date("2025-05-02T00:00:00Z"), To: date("2025-05-03T00:00:00Z")},
		{Pair: "SOL/USD", Interval: "5m0s", From: date("2025-05-01T00:00:00Z"), To: date("2025-05-02T00:00:00Z")},
		{Pair: "ETH/USD", Interval: "1m0s", From: date("2025-05-01T12:00:00Z"), To: date("2025-05-02T06:00:00Z")},
	}
	got := crossItems(plan, day)
	want := []crossItem{
		{pairs: []string{"BTC/USD", "ETH/USD"}, interval: "1m0s", from: date("2025-05-01T12:00:00Z"), to: date("2025-05-02T00:00:00Z")},
		{pairs: []string{"BTC/USD", "ETH/USD"}, interval: "1m0s", from: date("2025-05-02T00:00:00Z"), to: date("2025-05-03T00:00:00Z")},
		{pairs: []string{"SOL/USD"}, interval: "5m0s", from: date("2025-05-01T00:00:00Z"), to: date("2025-05-02T00:00:00Z")},
	}
	if len(got) != len(want) {
		t.Fatalf("items %+v, want %+v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if !slices.Equal(g.pairs, w.pairs) || g.interval != w.interval || !g.from.Equal(w.from) || !g.to.Equal(w.to) {
			t.Errorf("item %d = %+v, want %+v", i, g, w)
		}
	}
}

// A backfill too big for one history continues as new with the chunks left,
// and the next run picks up the plan and the counts.
func TestBackfillContinuesAsNew(t *testing.T) {
	req := BackfillRequest{Pairs: []string{"BTC/USD", "ETH/USD"}, Source: SourceKraken, DataDir: "/data",
		From: date("2024-01-01T00:00:00Z"), To: date("2024-12-01T00:00:00Z"), Concurrency: 8}
	r := newRecorder()
	r.delay = 0
	var res BackfillResult
	for run := 0; ; run++ {
		env := newEnv(t, r)
		_, err := runBackfill(t, env, req)
		var can *workflow.ContinueAsNewError
		if err == nil {
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			break
		}
		if !errors.As(err, &can) || run > 3 {
			t.Fatalf("run %d: %v", run, err)
		}
		var next BackfillRequest
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
			t.Fatal(err)
		}
		// Run 0: the 670 imports, then 330 builds = 165 chunks of each pair.
		if next.Resume == nil || next.Resume.Next1 != 670 || next.Resume.Next2 != 165*(run+1) || next.Resume.Runs != run+1 {
			t.Fatalf("run %d continued with %+v", run, next.Resume)
		}
		req = next
	}
	if len(r.errs) > 0 {
		t.Fatal(errors.Join(r.errs...))
	}
	for _, p := range res.Pairs {
		if p.Chunks != 335 || p.Imported != 335 || p.Built != 335 || len(r.built[p.Pair]) != 335 {
			t.Errorf("%+v: want 335 chunks imported and built once each", p)
		}
	}
	if res.Cross.Ranges != 335 || res.Cross.Done != 335 || len(r.crossed) != 335 {
		t.Errorf("cross %+v after %d steps: want the 335 days crossed once each", res.Cross, len(r.crossed))
	}
}
