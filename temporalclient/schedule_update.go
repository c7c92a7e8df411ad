package temporalclient

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/workflows"
)

// UpdateScheduleOptions describe the incremental-update schedule of req:
// one Update step every `every` (workflows.DefaultUpdateEvery), skipped
// while the previous step still runs, so at most one step per pair ×
// horizon × product at a time. Schedule and workflow IDs are
// workflows.UpdateID (Temporal suffixes the runs' IDs with their time).
func UpdateScheduleOptions(req workflows.UpdateRequest, every time.Duration) client.ScheduleOptions {
	return scheduleOptions(workflows.UpdateID(req), workflows.Update, req, every,
		"tickcast: incremental updates, off by default (tickcast schedules apply --updates; docs/incremental.md)")
}

// ApplyUpdateSchedule creates req's update schedule, or updates the
// existing one to req and every: applying it twice changes nothing.
func ApplyUpdateSchedule(ctx context.Context, c client.Client, req workflows.UpdateRequest, every time.Duration) (created bool, err error) {
	n, err := req.Normalize()
	if err != nil {
		return false, err
	}
	return applySchedule(ctx, c, UpdateScheduleOptions(n, every))
}
