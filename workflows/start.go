package workflows

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/tickcast/tickcast/activities"
)

// Register registers tickcast's workflows and activities on a worker.
func Register(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflow(Backfill)
	w.RegisterWorkflow(Train)
	w.RegisterWorkflow(Tune)
	w.RegisterWorkflow(Promote)
	w.RegisterWorkflow(Bootstrap)
	w.RegisterActivity(a)
}

// StartOptions start a backfill under BackfillID: while one with that ID
// runs, starting it again returns the running one ("use existing"); once it
// has closed, a new run may start, and redoes the same merge-on-write writes.
func StartOptions(req BackfillRequest) client.StartWorkflowOptions {
	return attachOptions(BackfillID(req))
}

// attachOptions start a workflow under id on TaskQueue: use-existing while
// one runs, a fresh run once it has closed. Every start goes through it.
func attachOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// StartBackfill starts req's backfill, or attaches to the identical one running.
func StartBackfill(ctx context.Context, c client.Client, req BackfillRequest) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, StartOptions(req), Backfill, req)
	if err != nil {
		return nil, fmt.Errorf("start backfill: %w", err)
	}
	return run, nil
}

// QueryProgress asks the newest run of workflow id for its progress (a
// worker answers queries, so this needs one running).
func QueryProgress(ctx context.Context, c client.Client, id string) (Progress, error) {
	var p Progress
	v, err := c.QueryWorkflow(ctx, id, "", ProgressQuery)
	if err != nil {
		return p, fmt.Errorf("query %s: %w", id, err)
	}
	return p, v.Get(&p)
}
