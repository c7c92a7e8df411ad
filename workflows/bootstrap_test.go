package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/market"
)

func bootRequest() BootstrapRequest {
	return BootstrapRequest{Pairs: []string{"eth/usdt", "BTC/USD"}, Horizons: []int{5, 1}, DataDir: "/data", Trials: 3,
		RetrainEvery: 24 * time.Hour,
		Backfills: []BackfillRequest{{Source: SourceKraken, Pairs: []string{"BTC/USD"},
			From: date("2025-05-01T00:00:00Z"), To: date("2025-05-08T00:00:00Z"), DataDir: "/data"}}}
}

// bootFakes are the mocked children and activities of a bootstrap; they
// record the workflow IDs the children ran under.
type bootFakes struct {
	mu         sync.Mutex
	ids        []string
	trains     []TrainRequest
	schedules  []activities.ScheduleInput
	backfillOK bool
	trainErr   error
}

func (f *bootFakes) record(ctx workflow.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, workflow.GetInfo(ctx).WorkflowExecution.ID)
}

func newBootEnv(t *testing.T, f *bootFakes, states []activities.SeriesState) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Bootstrap)
	env.RegisterWorkflow(Backfill)
	env.RegisterWorkflow(Train)
	env.RegisterActivity(acts)
	env.OnWorkflow(Backfill, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, r BackfillRequest) (BackfillResult, error) {
		f.record(ctx)
		if !f.backfillOK {
			return BackfillResult{}, temporal.NewApplicationError("Kraken unreachable", "Unavailable")
		}
		return BackfillResult{Pairs: []PairResult{{Pair: "BTC/USD", Candles: 10080, Features: 10080}}}, nil
	}).After(10 * time.Minute)
	env.OnWorkflow(Train, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, r TrainRequest) (TrainResult, error) {
		f.record(ctx)
		f.mu.Lock()
		f.trains = append(f.trains, r)
		f.mu.Unlock()
		return TrainResult{Pair: r.Pair, Horizon: r.Horizon, Version: 1, Champion: true, Reason: "promoted"}, f.trainErr
	}).After(time.Hour)
	env.OnActivity(acts.InspectSeries, mock.Anything, mock.Anything).Return(states, nil)
	env.OnActivity(acts.ApplySchedules, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ScheduleInput) ([]string, error) {
		f.mu.Lock()
		f.schedules = append(f.schedules, in)
		f.mu.Unlock()
		return []string{"retrain-BTC-USD-h1", "retrain-BTC-USD-h5", "retrain-ETH-USDT-h1", "retrain-ETH-USDT-h5"}, nil
	})
	return env
}

// The backfill, then a training per series without a trained model that has
// features, one at a time, then the schedules; children run under their own
// helpers' IDs; the progress query shows the phase and each step.
func TestBootstrapRunsChildrenThenSchedules(t *testing.T) {
	f := &bootFakes{backfillOK: true}
	states := []activities.SeriesState{
		{Pair: "BTC/USD", Horizon: 1, Features: true},
		{Pair: "BTC/USD", Horizon: 5, Features: true, Trained: true},
		{Pair: "ETH/USDT", Horizon: 1, Features: true},
		{Pair: "ETH/USDT", Horizon: 5},
	}
	env := newBootEnv(t, f, states)
	var mid BootstrapProgress
	env.RegisterDelayedCallback(func() { // 10 min backfill + 30 min into the first training
		v, err := env.QueryWorkflow(ProgressQuery)
		if err != nil || v.Get(&mid) != nil {
			t.Errorf("query: %v", err)
		}
	}, 40*time.Minute)
	req := bootRequest()
	env.ExecuteWorkflow(Bootstrap, req)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res BootstrapResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	n, _ := req.Normalize()
	wantIDs := []string{BackfillID(n.Backfills[0]), "train-BTC-USD-h1", "train-ETH-USDT-h1"}
	if strings.Join(f.ids, " ") != strings.Join(wantIDs, " ") {
		t.Errorf("children %v, want %v", f.ids, wantIDs)
	}
	if len(f.trains) != 2 || f.trains[0].Trials != 3 || f.trains[0].DataDir != "/data" {
		t.Errorf("trainings %+v", f.trains)
	}
	if len(f.schedules) != 1 || f.schedules[0].Every != 24*time.Hour || len(f.schedules[0].Horizons) != 2 {
		t.Errorf("schedules %+v", f.schedules)
	}
	if res.Phase != PhaseCompleted {
		t.Errorf("phase %s", res.Phase)
	}
	want := []string{
		"backfill BTC/USD completed",
		"train BTC/USD h1 completed",
		"train BTC/USD h5 skipped",
		"train ETH/USDT h1 completed",
		"train ETH/USDT h5 skipped",
		"schedules BTC/USD,ETH/USDT completed",
	}
	if got := stepLines(res); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if mid.Phase != PhaseTraining || len(mid.Steps) != 2 || mid.Steps[1].Status != StepRunning || mid.Steps[1].ID != "train-BTC-USD-h1" {
		t.Errorf("progress mid-training: %+v", mid)
	}
}

func stepLines(p BootstrapProgress) []string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, s.Kind+" "+s.Target+" "+s.Status)
	}
	return out
}

// A failed child is recorded and the bootstrap goes on: the system serves
// what it has.
func TestBootstrapGoesOnAfterFailures(t *testing.T) {
	f := &bootFakes{trainErr: errors.New("xgboost: out of memory")}
	env := newBootEnv(t, f, []activities.SeriesState{{Pair: "BTC/USD", Horizon: 1, Features: true}})
	req := bootRequest()
	req.Horizons = []int{1}
	env.ExecuteWorkflow(Bootstrap, req)
	var res BootstrapResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := "backfill BTC/USD failed\ntrain BTC/USD h1 failed\nschedules BTC/USD,ETH/USDT completed"
	if got := strings.Join(stepLines(res), "\n"); got != want {
		t.Errorf("steps:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(res.Steps[0].Detail, "Kraken unreachable") || !strings.Contains(res.Steps[1].Detail, "out of memory") {
		t.Errorf("details %q, %q", res.Steps[0].Detail, res.Steps[1].Detail)
	}
}

func TestBootstrapRejectsBadRequest(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Bootstrap)
	env.ExecuteWorkflow(Bootstrap, BootstrapRequest{Pairs: []string{"BTC/USD"}, DataDir: "relative"})
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != market.CodeInvalid ||
		!strings.Contains(err.Error(), "horizons") || !strings.Contains(err.Error(), "data_dir") {
		t.Errorf("err = %v", err)
	}
}

// The ID names the series and data directory, not the planned backfills
// (they follow the clock) nor the spelling or order of the pairs.
func TestBootstrapID(t *testing.T) {
	a := bootRequest()
	b := bootRequest()
	b.Pairs = []string{"XBTUSD", "ETH/USDT"}
	b.Backfills = nil
	b.Trials = 50
	if BootstrapID(a) != BootstrapID(b) || !strings.HasPrefix(BootstrapID(a), "bootstrap-BTC-USD_ETH-USDT-") {
		t.Errorf("%s != %s", BootstrapID(a), BootstrapID(b))
	}
	for _, c := range []func(*BootstrapRequest){
		func(r *BootstrapRequest) { r.DataDir = "/other" },
		func(r *BootstrapRequest) { r.Horizons = []int{1} },
		func(r *BootstrapRequest) { r.Pairs = []string{"BTC/USD"} },
	} {
		r := bootRequest()
		c(&r)
		if BootstrapID(r) == BootstrapID(a) {
			t.Errorf("%+v: same ID %s", r, BootstrapID(r))
		}
	}
}
