package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/tickcast/tickcast/activities"
)

func newUpdateEnv(step func(context.Context, activities.UpdateInput) (activities.UpdateStepResult, error)) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Update)
	env.RegisterActivity(acts)
	env.OnActivity(acts.UpdateProduct, mock.Anything, mock.Anything).Return(step)
	return env
}

// Update normalizes the request (defaults filled, the method required),
// runs one step and returns its result, which the progress query shows too.
func TestUpdateWorkflow(t *testing.T) {
	var got activities.UpdateInput
	env := newUpdateEnv(func(_ context.Context, in activities.UpdateInput) (activities.UpdateStepResult, error) {
		got = in
		return activities.UpdateStepResult{Status: "registered", Champion: 3, Pending: 4, Reason: "child v4 of v3 registered"}, nil
	})
	req := UpdateRequest{Pair: "ethusdt", Horizon: 5, Product: "VOL", Method: "refresh", DataDir: "/data"}
	res, err := execute[activities.UpdateStepResult](t, env, Update, req)
	if err != nil {
		t.Fatal(err)
	}
	want := activities.UpdateInput{DataDir: "/data", Pair: "ETH/USDT", Horizon: 5, Product: "vol", Method: "refresh", Window: 1440, Shadow: 60}
	if got != want || res.Pending != 4 || res.Champion != 3 {
		t.Errorf("activity input %+v, result %+v; want %+v", got, res, want)
	}
	var p UpdateProgress
	if q, err := env.QueryWorkflow(ProgressQuery); err != nil || q.Get(&p) != nil || p.Phase != PhaseCompleted || p.Result == nil || p.Result.Pending != 4 {
		t.Errorf("progress %+v, %v", p, err)
	}
	if id := UpdateID(req); id != "update-ETH-USDT-h5-vol" {
		t.Errorf("UpdateID = %q", id)
	}
	if id := UpdateID(UpdateRequest{Pair: "BTC/USDT", Method: "continue"}); id != "update-BTC-USDT-h1-return" {
		t.Errorf("UpdateID of the return product = %q", id)
	}
}

// Invalid requests fail at once, without running the step; so does a
// non-retryable activity error (a corrupt champion), which is not retried.
func TestUpdateWorkflowFailures(t *testing.T) {
	for name, req := range map[string]UpdateRequest{
		"no method":       {Pair: "ETH/USDT", Product: "vol"},
		"quantiles":       {Pair: "ETH/USDT", Product: "quantiles", Method: "refresh"},
		"tiny window":     {Pair: "ETH/USDT", Method: "refresh", Window: 10},
		"relative dir":    {Pair: "ETH/USDT", Method: "refresh", DataDir: "data"},
		"unknown method":  {Pair: "ETH/USDT", Method: "retrain"},
		"negative shadow": {Pair: "ETH/USDT", Method: "continue", Shadow: -1},
	} {
		calls := 0
		env := newUpdateEnv(func(context.Context, activities.UpdateInput) (activities.UpdateStepResult, error) {
			calls++
			return activities.UpdateStepResult{}, nil
		})
		_, err := execute[activities.UpdateStepResult](t, env, Update, req)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !appErr.NonRetryable() || calls != 0 {
			t.Errorf("%s: %v after %d steps, want a non-retryable error and none", name, err, calls)
		}
	}
	calls := 0
	env := newUpdateEnv(func(context.Context, activities.UpdateInput) (activities.UpdateStepResult, error) {
		calls++
		return activities.UpdateStepResult{}, temporal.NewNonRetryableApplicationError("champion v3: parent model unusable", "invalid", nil)
	})
	_, err := execute[activities.UpdateStepResult](t, env, Update, UpdateRequest{Pair: "ETH/USDT", Method: "refresh"})
	if err == nil || !strings.Contains(err.Error(), "parent model unusable") || calls != 1 {
		t.Errorf("corrupt champion: %v after %d attempts, want the error after 1", err, calls)
	}
}
