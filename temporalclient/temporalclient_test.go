package temporalclient

import (
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/workflows"
)

// Every start attaches to a running workflow of the same ID and may start a
// new run once it has closed, under the ID rules of package workflows.
func TestStartOptions(t *testing.T) {
	backfill := workflows.BackfillRequest{Pairs: []string{"eth/usd"}, Source: workflows.SourceKraken,
		From: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 5, 2, 0, 0, 0, 0, time.UTC)}
	train := workflows.TrainRequest{Pair: "ETH-USDT", Horizon: 5}
	boot := workflows.BootstrapRequest{Pairs: []string{"ETH/USDT"}, Horizons: []int{1}}
	backtest := workflows.BacktestRequest{Pairs: []string{"ETH/USDT"}}
	for _, tc := range []struct {
		opts client.StartWorkflowOptions
		id   string
	}{
		{BackfillStartOptions(backfill), workflows.BackfillID(backfill)},
		{TrainStartOptions(train), "train-ETH-USDT-h5"},
		{BootstrapStartOptions(boot), workflows.BootstrapID(boot)},
		{BacktestStartOptions(backtest), workflows.BacktestID(backtest)},
	} {
		o := tc.opts
		if o.ID != tc.id || o.TaskQueue != workflows.TaskQueue ||
			o.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING ||
			o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
			t.Errorf("options %+v: want ID %s on %s, use-existing, allow-duplicate", o, tc.id, workflows.TaskQueue)
		}
	}
}

func TestScheduleOptions(t *testing.T) {
	req := workflows.TrainRequest{Pair: "ETH-USDT", Horizon: 1}
	o := ScheduleOptions(req, 24*time.Hour)
	a, ok := o.Action.(*client.ScheduleWorkflowAction)
	if o.ID != "retrain-ETH-USDT-h1" || !ok || a.ID != o.ID || a.TaskQueue != workflows.TaskQueue ||
		len(o.Spec.Intervals) != 1 || o.Spec.Intervals[0].Every != 24*time.Hour ||
		o.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Errorf("schedule options %+v: want retrain-ETH-USDT-h1 every 24h, overlap skipped", o)
	}
}
