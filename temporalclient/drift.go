package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/workflows"
)

// DriftTrainID is the ID of the Train a drift firing at market time at
// starts: workflows.TrainID plus "-drift-" and at's UTC hour
// (train-ETH-USDT-h1-drift-2026120708), so that every firing of a pair ×
// horizon in one hour, by any replica, names the same workflow.
func DriftTrainID(req workflows.TrainRequest, at time.Time) string {
	return workflows.TrainID(req) + "-drift-" + at.UTC().Format("2006010215")
}

// DriftTrainStartOptions start Train under DriftTrainID rejecting
// duplicates: unlike every other start (attachOptions), a second start of
// the hour fails with WorkflowExecutionAlreadyStarted, whether the first
// still runs or has closed, so at most one runs per pair × horizon × hour.
func DriftTrainStartOptions(req workflows.TrainRequest, at time.Time, reason string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       DriftTrainID(req, at),
		TaskQueue:                                workflows.TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            "drift: " + reason,
	}
}

// DriftTrainer starts a full Train when drift fires (driftwatch.Trainer).
type DriftTrainer struct {
	Client  client.Client
	DataDir string // the TrainRequest's; "" the worker's
	Trials  int    // 0: workflows.DefaultTrials
}

// StartTrain starts Train of pair at horizon under DriftTrainID; started is
// false, with no error, when that hour's was already started.
func (t DriftTrainer) StartTrain(ctx context.Context, pair string, horizon int, at time.Time, reason string) (string, bool, error) {
	req, err := workflows.TrainRequest{Pair: pair, Horizon: horizon, Trials: t.Trials, DataDir: t.DataDir}.Normalize()
	if err != nil {
		return "", false, err
	}
	opts := DriftTrainStartOptions(req, at, reason)
	_, err = t.Client.ExecuteWorkflow(ctx, opts, workflows.Train, req)
	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &dup):
		return opts.ID, false, nil
	case err != nil:
		return opts.ID, false, fmt.Errorf("start drift train %s: %w", opts.ID, err)
	}
	return opts.ID, true, nil
}
