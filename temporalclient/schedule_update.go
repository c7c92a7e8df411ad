package temporalclient

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/workflows"
)

// UpdateScheduleOptions describe the incremental-update schedule of req:
// one Update step every `every` (workflows.DefaultUpdateEvery), skipped
// while the previous step still runs, so at most one step per pair ×
// horizon × product at a time. Schedule and workflow IDs are
// workflows.UpdateID (Temporal suffixes the runs' IDs with their time).
func UpdateScheduleOptions(req workflows.UpdateRequest, every time.Duration) client.ScheduleOptions {
	id := workflows.UpdateID(req)
	return client.ScheduleOptions{
		ID:      id,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Action:  &client.ScheduleWorkflowAction{ID: id, Workflow: workflows.Update, Args: []any{req}, TaskQueue: workflows.TaskQueue},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note:    "tickcast: incremental updates, off by default (tickcast schedules apply --updates; docs/incremental.md)",
	}
}

// ApplyUpdateSchedule creates req's update schedule, or updates the
// existing one to req and every: applying it twice changes nothing.
func ApplyUpdateSchedule(ctx context.Context, c client.Client, req workflows.UpdateRequest, every time.Duration) (created bool, err error) {
	n, err := req.Normalize()
	if err != nil {
		return false, err
	}
	if every < time.Minute {
		return false, fmt.Errorf("every %s: want at least 1m", every)
	}
	return applySchedule(ctx, c, UpdateScheduleOptions(n, every))
}
