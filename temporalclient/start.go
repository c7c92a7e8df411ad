package temporalclient

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/workflows"
)

// StartBackfill starts req's backfill, or attaches to the identical one running.
func StartBackfill(ctx context.Context, c client.Client, req workflows.BackfillRequest) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, BackfillStartOptions(req), workflows.Backfill, req)
	if err != nil {
		return nil, fmt.Errorf("start backfill: %w", err)
	}
	return run, nil
}

// StartTrain starts req's training, or attaches to the one running.
func StartTrain(ctx context.Context, c client.Client, req workflows.TrainRequest) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, TrainStartOptions(req), workflows.Train, req)
	if err != nil {
		return nil, fmt.Errorf("start train: %w", err)
	}
	return run, nil
}

// StartBootstrap starts req's bootstrap, or attaches to the one running.
func StartBootstrap(ctx context.Context, c client.Client, req workflows.BootstrapRequest) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, BootstrapStartOptions(req), workflows.Bootstrap, req)
	if err != nil {
		return nil, fmt.Errorf("start bootstrap: %w", err)
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
