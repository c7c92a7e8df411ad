package temporalclient

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/workflows"
)

// StartBackfill starts req's backfill, or attaches to the identical one running.
func StartBackfill(ctx context.Context, c client.Client, req workflows.BackfillRequest) (client.WorkflowRun, error) {
	return start(ctx, c, "backfill", BackfillStartOptions(req), workflows.Backfill, req)
}

// StartTrain starts req's training, or attaches to the one running.
func StartTrain(ctx context.Context, c client.Client, req workflows.TrainRequest) (client.WorkflowRun, error) {
	return start(ctx, c, "train", TrainStartOptions(req), workflows.Train, req)
}

// StartBootstrap starts req's bootstrap, or attaches to the one running.
func StartBootstrap(ctx context.Context, c client.Client, req workflows.BootstrapRequest) (client.WorkflowRun, error) {
	return start(ctx, c, "bootstrap", BootstrapStartOptions(req), workflows.Bootstrap, req)
}

// StartBacktest starts req's backtest, or attaches to the identical one running.
func StartBacktest(ctx context.Context, c client.Client, req workflows.BacktestRequest) (client.WorkflowRun, error) {
	return start(ctx, c, "backtest", BacktestStartOptions(req), workflows.Backtest, req)
}

// start executes workflow wf with req under opts; kind names it in the error.
func start(ctx context.Context, c client.Client, kind string, opts client.StartWorkflowOptions, wf, req any) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, opts, wf, req)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", kind, err)
	}
	return run, nil
}

// query asks the newest run of workflow id for its progress into p (a
// worker answers queries, so this needs one running).
func query(ctx context.Context, c client.Client, id string, p any) error {
	v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
	if err != nil {
		return fmt.Errorf("query %s: %w", id, err)
	}
	return v.Get(p)
}

// QueryProgress asks the newest run of Backfill id for its progress.
func QueryProgress(ctx context.Context, c client.Client, id string) (workflows.Progress, error) {
	var p workflows.Progress
	return p, query(ctx, c, id, &p)
}

// QueryBootstrapProgress asks the newest run of Bootstrap id for its progress.
func QueryBootstrapProgress(ctx context.Context, c client.Client, id string) (workflows.BootstrapProgress, error) {
	var p workflows.BootstrapProgress
	return p, query(ctx, c, id, &p)
}

// QueryTrainProgress asks the newest run of Train id for its progress and,
// while it tunes, its Tune child for the trials.
func QueryTrainProgress(ctx context.Context, c client.Client, id string) (workflows.TrainProgress, error) {
	var p workflows.TrainProgress
	if err := query(ctx, c, id, &p); err != nil {
		return p, err
	}
	if p.Phase == workflows.PhaseTuning && p.TuneID != "" {
		var tp workflows.TuneProgress
		if query(ctx, c, p.TuneID, &tp) == nil {
			p.Tune = tp
		}
	}
	return p, nil
}

// QueryBacktestProgress asks the newest run of Backtest id for its progress
// and each running series child for its days done (a workflow cannot query
// its children).
func QueryBacktestProgress(ctx context.Context, c client.Client, id string) (workflows.BacktestProgress, error) {
	var p workflows.BacktestProgress
	if err := query(ctx, c, id, &p); err != nil {
		return p, err
	}
	for i, s := range p.Series {
		if s.Status != workflows.StatusRunning {
			continue
		}
		var sp workflows.BacktestSeriesProgress
		if query(ctx, c, s.ID, &sp) == nil {
			p.Series[i].Done = sp.Done
		}
	}
	return p, nil
}
