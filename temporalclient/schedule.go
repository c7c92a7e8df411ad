package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/tickcast/tickcast/workflows"
)

// ScheduleOptions describe the retraining schedule of req: Train every
// `every`, skipped while the previous run is still going.
func ScheduleOptions(req workflows.TrainRequest, every time.Duration) client.ScheduleOptions {
	return scheduleOptions(workflows.ScheduleID(req), workflows.Train, req, every,
		"tickcast: daily retraining (tickcast schedules apply)")
}

// scheduleOptions run workflow wf with req every `every` under id (the
// schedule's and the workflow's), skipped while the previous run still goes.
func scheduleOptions(id string, wf, req any, every time.Duration, note string) client.ScheduleOptions {
	return client.ScheduleOptions{
		ID:      id,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Action:  &client.ScheduleWorkflowAction{ID: id, Workflow: wf, Args: []any{req}, TaskQueue: workflows.TaskQueue},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note:    note,
	}
}

// ApplySchedule creates req's retraining schedule, or updates the existing
// one to req and every: applying it twice changes nothing.
func ApplySchedule(ctx context.Context, c client.Client, req workflows.TrainRequest, every time.Duration) (created bool, err error) {
	n, err := req.Normalize()
	if err != nil {
		return false, err
	}
	return applySchedule(ctx, c, ScheduleOptions(n, every))
}

// applySchedule creates the schedule opts (one interval of at least a
// minute), or updates the existing one of its ID to opts' spec, action and
// overlap policy.
func applySchedule(ctx context.Context, c client.Client, opts client.ScheduleOptions) (created bool, err error) {
	if every := opts.Spec.Intervals[0].Every; every < time.Minute {
		return false, fmt.Errorf("every %s: want at least 1m", every)
	}
	_, err = c.ScheduleClient().Create(ctx, opts)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return false, fmt.Errorf("create schedule %s: %w", opts.ID, err)
	}
	h := c.ScheduleClient().GetHandle(ctx, opts.ID)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec = &opts.Spec
		s.Action = opts.Action
		if s.Policy != nil {
			s.Policy.Overlap = opts.Overlap
		}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return false, fmt.Errorf("update schedule %s: %w", opts.ID, err)
	}
	return false, nil
}

// Scheduler applies retraining schedules with a Temporal client: the
// activities.Scheduler a worker hands its activities (the Bootstrap's
// ApplySchedules step).
type Scheduler struct{ Client client.Client }

// ApplySchedule creates or updates the retraining schedule of one series.
func (s Scheduler) ApplySchedule(ctx context.Context, pair string, horizon, trials int, dataDir string, every time.Duration) (string, bool, error) {
	req := workflows.TrainRequest{Pair: pair, Horizon: horizon, Trials: trials, DataDir: dataDir}
	created, err := ApplySchedule(ctx, s.Client, req, every)
	return workflows.ScheduleID(req), created, err
}
