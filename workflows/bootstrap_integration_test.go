package workflows_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/workflows"
)

// A bootstrap on a real server whose worker stops mid-training: a second
// worker resumes it from its history to completion, without starting any
// child twice; starting it again while it runs attaches to it.
func TestIntegrationBootstrapResumes(t *testing.T) {
	c := devClient(t)
	dir := t.TempDir()
	bf := twoWeeks(t, dir)
	bf.ChunkDays = 1
	req := workflows.BootstrapRequest{Pairs: []string{"ETH/USDT"}, Horizons: []int{3}, DataDir: dir, Trials: 2,
		Backfills: []workflows.BackfillRequest{bf}, RetrainEvery: 24 * time.Hour}
	sched := workflows.ScheduleID(workflows.TrainRequest{Pair: "ETH/USDT", Horizon: 3})
	t.Cleanup(func() { _ = c.ScheduleClient().GetHandle(context.Background(), sched).Delete(context.Background()) })
	acts := func() *activities.Activities {
		a := testActivities()
		a.Schedules = temporalclient.Scheduler{Client: c}
		return a
	}

	a := worker.New(c, "boot", worker.Options{Identity: "worker-A", WorkerStopTimeout: time.Second})
	temporalclient.Register(a, acts())
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	opts := temporalclient.BootstrapStartOptions(req)
	opts.TaskQueue = "boot"
	run, err := c.ExecuteWorkflow(t.Context(), opts, workflows.Bootstrap, req)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.ExecuteWorkflow(t.Context(), opts, workflows.Bootstrap, req); err != nil || again.GetRunID() != run.GetRunID() {
		t.Errorf("second start: %v, %v; want to attach to run %s", again, err, run.GetRunID())
	}
	waitStep(t, c, run.GetID(), workflows.StepTrain, workflows.StepRunning)
	a.Stop() // mid-training: its activities are abandoned, its workflow tasks time out
	b := worker.New(c, "boot", worker.Options{Identity: "worker-B", WorkerStopTimeout: time.Second})
	temporalclient.Register(b, acts())
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var res workflows.BootstrapResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	var got []string
	for _, s := range res.Steps {
		got = append(got, s.Kind+" "+s.ID+" "+s.Status)
	}
	want := []string{"backfill " + workflows.BackfillID(bf) + " completed", "train train-ETH-USDT-h3 completed", "schedules " + sched + " completed"}
	if res.Phase != workflows.PhaseCompleted || !slices.Equal(got, want) {
		t.Errorf("result %s %v, want %v", res.Phase, got, want)
	}
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if metas, err := reg.List(t.Context(), "ETH/USDT", 3); err != nil || len(metas) != 2 {
		t.Errorf("registry: %+v, %v; want the baseline and version 1", metas, err)
	}
	children, identities := bootstrapHistory(t, c, run.GetID())
	if children != 2 || !identities["worker-A"] || !identities["worker-B"] {
		t.Errorf("%d children started (want 2: none twice), workflow tasks by %v (want worker-A and worker-B)", children, identities)
	}
	if os.Getenv("TICKCAST_RECORD_HISTORY") != "" {
		recordHistory(t, run.GetID(), "testdata/bootstrap_history.json")
	}
}

// waitStep polls the progress query until a step of kind has status.
func waitStep(t *testing.T, c client.Client, id, kind, status string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		p, err := temporalclient.QueryBootstrapProgress(t.Context(), c, id)
		if err == nil && slices.ContainsFunc(p.Steps, func(s workflows.BootstrapStep) bool { return s.Kind == kind && s.Status == status }) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("bootstrap %s: no %s step %s within a minute", id, kind, status)
}

// bootstrapHistory counts the children the parent started and names the
// workers that ran its workflow tasks.
func bootstrapHistory(t *testing.T, c client.Client, id string) (children int, identities map[string]bool) {
	t.Helper()
	identities = map[string]bool{}
	it := c.GetWorkflowHistory(t.Context(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED {
			children++
		}
		if a := ev.GetWorkflowTaskStartedEventAttributes(); a != nil {
			identities[strings.TrimSpace(a.GetIdentity())] = true
		}
	}
	return children, identities
}
