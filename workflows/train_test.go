package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
	"github.com/tickcast/tickcast/ml"
)

// fakeTrainer is a fake set of training activities (hand-written numbers,
// no data): trial scores are a fixed function of the trial number and rung.
type fakeTrainer struct {
	mu            sync.Mutex
	running, peak int
	delay         time.Duration
	trials        []activities.TrialInput
	fit           activities.FitInput
	eval          activities.EvaluateInput
	evals         int
	reg           activities.RegisterInput
	gate          activities.GateScores
	aliases       []activities.AliasInput
	errs          []error
	datasetCalls  int
	datasetErr    error
	trialErr      func(activities.TrialInput) error
	failedTrial   int // this trial's result carries an Err (-1: none)
	params        []ml.TrialParams
	products      activities.ProductsInput         // the products step's input
	productsErr   error                            // its error
	regProducts   activities.RegisterProductsInput // the products' registration input
}

// trialInputs returns the trial activities run so far; activities cancelled
// after a workflow failed may still be finishing, hence the lock.
func (f *fakeTrainer) trialInputs() []activities.TrialInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]activities.TrialInput(nil), f.trials...)
}

func newFakeTrainer() *fakeTrainer {
	gate := passingScores()
	gate.TestFrom, gate.TestTo = date("2025-08-01T00:00:00Z"), date("2025-08-18T00:00:00Z")
	return &fakeTrainer{delay: 2 * time.Millisecond, failedTrial: -1, gate: gate}
}

var fakeDataset = activities.DatasetInfo{Path: "/data/datasets/ETH-USDT/h1/abc/dataset.bin", Hash: "abc", Rows: 1000, Cols: 21,
	Folds: []activities.Fold{{Train: activities.Span{Lo: 0, Hi: 300}, Valid: activities.Span{Lo: 301, Hi: 400}}},
	Final: activities.Fold{Train: activities.Span{Lo: 0, Hi: 700}, Valid: activities.Span{Lo: 701, Hi: 800}, Test: activities.Span{Lo: 801, Hi: 1000}}}

func (f *fakeTrainer) buildDataset(_ context.Context, in activities.DatasetInput) (activities.DatasetInfo, error) {
	f.datasetCalls++
	if f.datasetErr != nil {
		return activities.DatasetInfo{}, f.datasetErr
	}
	if in.Pair != "ETH/USDT" || in.Horizon != 1 || in.Folds != 3 {
		return activities.DatasetInfo{}, fmt.Errorf("dataset input %+v", in)
	}
	return fakeDataset, nil
}

// trialScore: lower trial numbers modulo 7 are better, later rungs slightly better.
func trialScore(trial, rung int) float64 { return float64(trial%7) + 1 - 0.1*float64(rung) }

func (f *fakeTrainer) runTrial(_ context.Context, in activities.TrialInput) (ml.TrialResult, error) {
	f.mu.Lock()
	f.running++
	f.peak = max(f.peak, f.running)
	f.trials = append(f.trials, in)
	if f.params != nil && in.Params != f.params[in.Trial] {
		f.errs = append(f.errs, fmt.Errorf("trial %d rung %d got params %+v, want %+v", in.Trial, in.Rung, in.Params, f.params[in.Trial]))
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	if f.trialErr != nil {
		if err := f.trialErr(in); err != nil {
			return ml.TrialResult{}, err
		}
	}
	time.Sleep(f.delay) // real time: lets the activities overlap
	res := ml.TrialResult{ID: in.Trial, Rung: in.Rung, Params: in.Params, Score: trialScore(in.Trial, in.Rung),
		Scores: []float64{trialScore(in.Trial, in.Rung)}, Rounds: 10}
	if in.Trial == f.failedTrial {
		res.Score, res.Err = nan(), "xgboost: boom"
	}
	return res, nil
}

func (f *fakeTrainer) fitFinal(_ context.Context, in activities.FitInput) (activities.FitOutput, error) {
	f.fit = in
	dir := "/data/reports/ETH-USDT/h1/" + in.RunKey
	return activities.FitOutput{ReportDir: dir, ModelPath: dir + "/model.ubj", BestIteration: 9}, nil
}

func (f *fakeTrainer) evaluate(_ context.Context, in activities.EvaluateInput) (activities.Evaluation, error) {
	f.eval = in
	f.evals++
	return activities.Evaluation{ReportDir: in.ReportDir, TestRows: 199, Metrics: map[string]float64{"model_mae": 0.9, "baseline_mae": 1}}, nil
}

func (f *fakeTrainer) register(_ context.Context, in activities.RegisterInput) (activities.Registered, error) {
	f.reg = in
	return activities.Registered{Version: 3}, nil
}

func (f *fakeTrainer) scoreGate(_ context.Context, in activities.GateInput) (activities.GateScores, error) {
	if in.Dataset == "" || in.Version < 1 {
		return activities.GateScores{}, fmt.Errorf("gate input %+v", in)
	}
	return f.gate, nil
}

func (f *fakeTrainer) setAlias(_ context.Context, in activities.AliasInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aliases = append(f.aliases, in)
	return nil
}

// trainProducts trains two products: vol passes the gate, p_up does not.
func (f *fakeTrainer) trainProducts(_ context.Context, in activities.ProductsInput) (activities.ProductsResult, error) {
	f.products = in
	if f.productsErr != nil {
		return activities.ProductsResult{}, f.productsErr
	}
	return activities.ProductsResult{ReportDir: in.ReportDir, TestRows: 190, Products: []activities.ProductOutcome{
		{Product: "vol", Name: "xgboost", ModelPath: in.ReportDir + "/vol.ubj", Gate: activities.GateDecision{Metric: "mae", Pass: true, Reason: "vol beats har-rv"}},
		{Product: "p_up", Name: "xgboost", ModelPath: in.ReportDir + "/p_up.ubj", Gate: activities.GateDecision{Metric: "brier", Reason: "p_up ties climatology"}}}}, nil
}

func (f *fakeTrainer) registerProducts(_ context.Context, in activities.RegisterProductsInput) ([]activities.ProductPromotion, error) {
	f.regProducts = in
	return []activities.ProductPromotion{{Product: "vol", Version: 2, BaselineVersion: 1, Champion: 2, Promoted: true},
		{Product: "p_up", Version: 2, BaselineVersion: 1, Champion: 1}}, nil
}

func newTrainEnv(t *testing.T, f *fakeTrainer) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Train)
	env.RegisterWorkflow(Tune)
	env.RegisterWorkflow(Promote)
	env.RegisterActivity(acts)
	env.OnActivity(acts.BuildDataset, mock.Anything, mock.Anything).Return(f.buildDataset)
	env.OnActivity(acts.RunTrial, mock.Anything, mock.Anything).Return(f.runTrial)
	env.OnActivity(acts.FitFinal, mock.Anything, mock.Anything).Return(f.fitFinal)
	env.OnActivity(acts.Evaluate, mock.Anything, mock.Anything).Return(f.evaluate)
	env.OnActivity(acts.RegisterModel, mock.Anything, mock.Anything).Return(f.register)
	env.OnActivity(acts.ScoreGate, mock.Anything, mock.Anything).Return(f.scoreGate)
	env.OnActivity(acts.SetAlias, mock.Anything, mock.Anything).Return(f.setAlias)
	env.OnActivity(acts.TrainProducts, mock.Anything, mock.Anything).Return(f.trainProducts)
	env.OnActivity(acts.RegisterProducts, mock.Anything, mock.Anything).Return(f.registerProducts)
	return env
}

func execute[R any](t *testing.T, env *testsuite.TestWorkflowEnvironment, wf, req any) (R, error) {
	t.Helper()
	env.ExecuteWorkflow(wf, req)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res R
	err := env.GetWorkflowError()
	if err == nil {
		if gerr := env.GetWorkflowResult(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func TestTrainHappyPath(t *testing.T) {
	f := newFakeTrainer()
	f.params = SampleTrials(5, 7)
	env := newTrainEnv(t, f)
	env.SetStartTime(date("2025-08-19T06:00:00Z"))
	var mid TrainProgress
	env.RegisterDelayedCallback(func() {
		q, err := env.QueryWorkflow(ProgressQuery)
		if err == nil {
			err = q.Get(&mid)
		}
		if err != nil {
			t.Error(err)
		}
	}, time.Millisecond)
	res, err := execute[TrainResult](t, env, Train, TrainRequest{Pair: "ethusdt", Trials: 5, DataDir: "/data", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.errs) > 0 {
		t.Fatal(errors.Join(f.errs...))
	}
	// 5 trials < eta²: one rung of 5 on all the rows; the best is trial 0.
	if len(f.trialInputs()) != 5 || res.Best.ID != 0 || res.Best.Rung != 0 || f.trialInputs()[0].MaxRows != DefaultMaxRows {
		t.Errorf("%d trial activities, best %+v; want 5 and trial 0", len(f.trialInputs()), res.Best)
	}
	if f.fit.Params != f.params[0] || f.fit.Dataset != fakeDataset.Path || f.fit.Final != fakeDataset.Final ||
		!strings.HasPrefix(f.fit.RunKey, "20250819T060000Z-") || f.fit.Threads != 2 {
		t.Errorf("fit input = %+v", f.fit)
	}
	// Evaluated twice: for the metrics, then to write the report once the
	// version and the gate's decision are known.
	if f.evals != 2 || !f.eval.Write || f.eval.Version != 3 || len(f.eval.Notes) == 0 || !strings.Contains(f.eval.Notes[0], "champion") {
		t.Errorf("%d evaluations, last %+v", f.evals, f.eval)
	}
	if len(f.eval.Trials) != 5 || f.eval.ModelPath != res.ModelPath || f.reg.Dataset.Hash != "abc" || f.reg.Metrics["model_mae"] != 0.9 ||
		f.reg.Params["max_depth"] != strconv.Itoa(f.params[0].MaxDepth) {
		t.Errorf("evaluate input %+v, register input %+v", f.eval, f.reg)
	}
	if len(f.aliases) != 1 || f.aliases[0].Alias != AliasChampion || f.aliases[0].Version != 3 || !strings.HasPrefix(f.aliases[0].Reason, "promoted") {
		t.Errorf("aliases = %+v", f.aliases)
	}
	if res.Version != 3 || !res.Champion || res.ModelMAE != 0.9 || res.BaselineMAE != 1 || res.TestRows != 199 ||
		res.ReportDir != "/data/reports/ETH-USDT/h1/"+f.fit.RunKey || res.Pair != "ETH/USDT" {
		t.Errorf("result = %+v", res)
	}
	if mid.Phase == "" || mid.Phase == PhaseCompleted {
		t.Errorf("progress while running = %+v", mid)
	}
	var end TrainProgress
	q, err := env.QueryWorkflow(ProgressQuery)
	if err != nil || q.Get(&end) != nil || end.Phase != PhaseCompleted || end.Version != 3 || end.Best == nil || end.TuneID == "" {
		t.Errorf("final progress = %+v, %v", end, err)
	}
}

func TestTrainRejectsBadRequests(t *testing.T) {
	tests := map[string]TrainRequest{
		"no pair":      {},
		"bad pair":     {Pair: "NOPE"},
		"relative dir": {Pair: "ETH/USDT", DataDir: "data"},
		"horizon":      {Pair: "ETH/USDT", Horizon: -1},
		"trials":       {Pair: "ETH/USDT", Trials: maxTrials + 1},
		"folds":        {Pair: "ETH/USDT", Folds: 99},
		"from after":   {Pair: "ETH/USDT", From: date("2025-02-01T00:00:00Z"), To: date("2025-01-01T00:00:00Z")},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakeTrainer()
			_, err := execute[TrainResult](t, newTrainEnv(t, f), Train, req)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != market.CodeInvalid || !appErr.NonRetryable() {
				t.Fatalf("err = %v, want a non-retryable %s", err, market.CodeInvalid)
			}
			if len(f.trialInputs()) > 0 {
				t.Error("trials ran for a bad request")
			}
		})
	}
}

// An activity's non-retryable error fails Train at once, with no retry.
func TestTrainFailsFastOnInvalidInput(t *testing.T) {
	f := newFakeTrainer()
	f.datasetErr = temporal.NewNonRetryableApplicationError("no features for ETH/USDT", market.CodeInvalid, nil)
	env := newTrainEnv(t, f)
	_, err := execute[TrainResult](t, env, Train, TrainRequest{Pair: "ETH/USDT", DataDir: "/data"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != market.CodeInvalid || f.datasetCalls != 1 {
		t.Fatalf("err = %v after %d calls, want InvalidInput after 1", err, f.datasetCalls)
	}
	var p TrainProgress
	if q, err := env.QueryWorkflow(ProgressQuery); err != nil || q.Get(&p) != nil || p.Phase != PhaseFailed {
		t.Errorf("progress = %+v, %v", p, err)
	}
}

func tuneReq(trials, conc int) TuneRequest {
	return TuneRequest{Pair: "ETH/USDT", Horizon: 1, Dataset: fakeDataset, Trials: trials, Concurrency: conc, Seed: 100, MaxRows: 9000, Rounds: 50}
}

func TestRungs(t *testing.T) {
	tests := []struct {
		n, eta, max, min int
		sizes, rows      []int
	}{
		{50, 3, 30000, 1000, []int{50, 16, 5}, []int{3333, 10000, 30000}},
		{81, 3, 30000, 1000, []int{81, 27, 9, 3}, []int{1111, 3333, 10000, 30000}},
		{10, 3, 9000, 1000, []int{10, 3}, []int{3000, 9000}},
		{300, 3, 9000, 1000, []int{300, 100, 33, 11, 3}, []int{1000, 1000, 1000, 3000, 9000}}, // min rows
		{4, 2, 800, 1000, []int{4, 2}, []int{800, 800}},                                       // max below min: max wins
		{1, 3, 30000, 1000, []int{1}, []int{30000}},
	}
	for _, tc := range tests {
		sizes, rows := Rungs(tc.n, tc.eta, tc.max, tc.min)
		if !slices.Equal(sizes, tc.sizes) || !slices.Equal(rows, tc.rows) {
			t.Errorf("Rungs(%d, %d, %d, %d) = %v, %v; want %v, %v", tc.n, tc.eta, tc.max, tc.min, sizes, rows, tc.sizes, tc.rows)
		}
	}
}

// Tune runs at most Concurrency trials at once, and each rung keeps the best
// 1/eta of the one before, on eta times the rows.
func TestTuneConcurrencyBoundAndHalving(t *testing.T) {
	f := newFakeTrainer()
	f.params = SampleTrials(10, 100)
	env := newTrainEnv(t, f)
	res, err := execute[TuneResult](t, env, Tune, tuneReq(10, 3))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.errs) > 0 {
		t.Fatal(errors.Join(f.errs...))
	}
	if f.peak != 3 {
		t.Errorf("peak %d trials at once, want concurrency 3", f.peak)
	}
	byRung := map[int][]int{}
	for _, in := range f.trialInputs() {
		byRung[in.Rung] = append(byRung[in.Rung], in.Trial)
		if in.Threads != 1 || in.Dataset != fakeDataset.Path || in.Rounds != 50 || len(in.Folds) != 1 {
			t.Errorf("trial input %+v", in)
		}
		if want := []int{3000, 9000}[in.Rung]; in.MaxRows != want {
			t.Errorf("rung %d: %d rows, want %d", in.Rung, in.MaxRows, want)
		}
	}
	for r := range byRung {
		slices.Sort(byRung[r])
	}
	// Scores: trial%7, so rung 0 ranks 0,7,1,8,2,9,3,…: rung 1 runs the best 3.
	want := map[int][]int{0: {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 1: {0, 1, 7}}
	for r, w := range want {
		if !slices.Equal(byRung[r], w) {
			t.Errorf("rung %d ran trials %v, want %v", r, byRung[r], w)
		}
	}
	if len(res.Trials) != 13 || res.Best.ID != 0 || res.Best.Rung != 1 {
		t.Errorf("%d results, best %+v", len(res.Trials), res.Best)
	}
	var trials []ml.TrialResult
	q, err := env.QueryWorkflow(TrialsQuery)
	if err != nil || q.Get(&trials) != nil || len(trials) != 13 || trials[0].Params != f.params[trials[0].ID] {
		t.Errorf("trials query: %d results, %v", len(trials), err)
	}
	var p TuneProgress
	q, err = env.QueryWorkflow(ProgressQuery)
	if err != nil || q.Get(&p) != nil || p.Phase != PhaseCompleted || p.Done != 13 || p.Total != 13 || p.Rungs != 2 || p.Best == nil || p.Best.ID != 0 {
		t.Errorf("progress = %+v, %v", p, err)
	}
}

// A budget too big for one history continues as new, with the results so
// far; the next runs pick up where it stopped and end with the same trials.
func TestTuneContinuesAsNew(t *testing.T) {
	f := newFakeTrainer()
	f.delay = 0
	f.params = SampleTrials(10, 100)
	req := tuneReq(10, 2)
	req.RunBudget = 6
	var res TuneResult
	for run := 0; ; run++ {
		out, err := execute[TuneResult](t, newTrainEnv(t, f), Tune, req)
		if err == nil {
			res = out
			break
		}
		var can *workflow.ContinueAsNewError
		if !errors.As(err, &can) || run > 4 {
			t.Fatalf("run %d: %v", run, err)
		}
		var next TuneRequest
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
			t.Fatal(err)
		}
		if next.Resume == nil || len(next.Resume.Results) != 6*(run+1) || next.Resume.Runs != run+1 {
			t.Fatalf("run %d continued with %+v", run, next.Resume)
		}
		req = next
	}
	if len(f.errs) > 0 {
		t.Fatal(errors.Join(f.errs...))
	}
	if len(f.trialInputs()) != 13 || len(res.Trials) != 13 || res.Best.ID != 0 || res.Best.Rung != 1 {
		t.Errorf("%d activities, %d results, best %+v; want 13, 13, trial 0 at rung 1", len(f.trialInputs()), len(res.Trials), res.Best)
	}
}

func TestTuneFailsWhenATrialFails(t *testing.T) {
	f := newFakeTrainer()
	f.trialErr = func(in activities.TrialInput) error {
		if in.Trial == 2 {
			return temporal.NewNonRetryableApplicationError("dataset gone", market.CodeInvalid, nil)
		}
		return nil
	}
	env := newTrainEnv(t, f)
	_, err := execute[TuneResult](t, env, Tune, tuneReq(10, 2))
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != market.CodeInvalid {
		t.Fatalf("err = %v", err)
	}
	for _, in := range f.trialInputs() {
		if in.Rung > 0 {
			t.Errorf("rung %d ran after a failure", in.Rung)
		}
	}
}

// A trial whose result carries an error is kept (the trials query shows it)
// but never selected.
func TestTuneSkipsFailedTrials(t *testing.T) {
	f := newFakeTrainer()
	f.failedTrial = 0
	res, err := execute[TuneResult](t, newTrainEnv(t, f), Tune, tuneReq(10, 2))
	if err != nil {
		t.Fatal(err)
	}
	if res.Best.ID != 7 || len(res.Trials) != 13 {
		t.Errorf("best %+v of %d results, want trial 7 (trial 0 failed)", res.Best, len(res.Trials))
	}
	for _, r := range res.Trials {
		if r.Rung == 1 && r.ID == 0 {
			t.Error("the failed trial went on to rung 1")
		}
	}
}

func TestTuneRejectsBadRequests(t *testing.T) {
	tests := map[string]TuneRequest{
		"no dataset":  {Trials: 3},
		"no trials":   {Dataset: fakeDataset},
		"concurrency": {Dataset: fakeDataset, Trials: 3, Concurrency: -1},
		"eta":         {Dataset: fakeDataset, Trials: 3, Eta: 1},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := execute[TuneResult](t, newTrainEnv(t, newFakeTrainer()), Tune, req)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != market.CodeInvalid || !appErr.NonRetryable() {
				t.Fatalf("err = %v, want a non-retryable %s", err, market.CodeInvalid)
			}
		})
	}
}

func nan() float64 {
	z := 0.0
	return z / z
}

func TestPromoteWorkflow(t *testing.T) {
	tests := []struct {
		name  string
		gate  activities.GateScores
		alias string
	}{
		{"pass", passingScores(), AliasChampion},
		{"fail", activities.GateScores{Rows: 10, CandidateMAE: 3, ZeroMAE: 1, ChampionMAE: 1, ChampionName: "zero-return", BestBaseline: "zero-return",
			BestBaselineMAE: 1, Skill: -2, SkillLo: -2.5, SkillHi: -1.5, ChampionRescored: true}, AliasChallenger},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTrainer()
			f.gate = tc.gate
			res, err := execute[PromoteResult](t, newTrainEnv(t, f), Promote,
				PromoteRequest{Pair: "ETH/USDT", Horizon: 1, Version: 2, DataDir: "/data", DatasetPath: fakeDataset.Path})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.aliases) != 1 || f.aliases[0].Alias != tc.alias || f.aliases[0].Version != 2 || f.aliases[0].Reason != res.Reason ||
				res.Champion != (tc.alias == AliasChampion) || res.Reason == "" {
				t.Errorf("result %+v, aliases %+v", res, f.aliases)
			}
		})
	}
}

func TestPromoteRejectsBadRequests(t *testing.T) {
	tests := map[string]PromoteRequest{
		"baseline":   {Pair: "ETH/USDT", Horizon: 1, Version: 0, DatasetPath: "/d"},
		"no dataset": {Pair: "ETH/USDT", Horizon: 1, Version: 1},
		"horizon":    {Pair: "ETH/USDT", Version: 1, DatasetPath: "/d"},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := execute[PromoteResult](t, newTrainEnv(t, newFakeTrainer()), Promote, req)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != market.CodeInvalid {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestSampleTrialsIsSeeded(t *testing.T) {
	a, b, c := SampleTrials(20, 1), SampleTrials(20, 1), SampleTrials(20, 2)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Error("sampling is not a function of the seed")
	}
	for _, p := range a {
		if err := p.Validate(); err != nil {
			t.Error(err)
		}
	}
}

func TestTrainIDAndNormalize(t *testing.T) {
	a, err := TrainRequest{Pair: "ethusdt", DataDir: "/data/"}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if a.Pair != "ETH/USDT" || a.Horizon != 1 || a.Trials != 20 || a.Folds != 3 || a.Concurrency != 2 || a.DataDir != "/data" {
		t.Errorf("normalized = %+v", a)
	}
	if id := TrainID(TrainRequest{Pair: "ETH-USDT", Trials: 50}); id != "train-ETH-USDT-h1" {
		t.Errorf("id = %s", id)
	}
	if id := TrainID(TrainRequest{Pair: "ETH/USDT", Horizon: 5}); id != "train-ETH-USDT-h5" {
		t.Errorf("id = %s", id)
	}
}
