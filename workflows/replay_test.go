package workflows

import (
	"os"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The recorded history of a real run (14 days of the Binance ETH/USDT file
// in 2-day chunks on the dev server; re-record it with
// TICKCAST_RECORD_HISTORY=1 go test -run IntegrationArchiveBackfill ./workflows/)
// must replay on the current code: a change that would break running
// backfills fails here.
func TestBackfillReplaysRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(Backfill)
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/backfill_history.json"); err != nil {
		t.Fatal(err)
	}
}

// The recorded histories of a real Train (4 trials on 14 days of the Binance
// ETH/USDT file) must replay on the current code: train_history.json from
// before the products steps (their workflow.GetVersion markers absent), and
// train_products_history.json with them (re-record it with
// TICKCAST_RECORD_HISTORY=1 go test -run IntegrationTrain ./workflows/).
func TestTrainReplaysRecordedHistory(t *testing.T) {
	for _, name := range []string{"testdata/train_history.json", "testdata/train_products_history.json"} {
		t.Run(name, func(t *testing.T) { replayTrain(t, name) })
	}
}

func replayTrain(t *testing.T, name string) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(Train)
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The child workflow IDs and the report folder derive from the run's own
	// IDs: replay it under the recorded ones.
	start := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	exec := workflow.Execution{ID: start.GetWorkflowId(), RunID: start.GetOriginalExecutionRunId()}
	if err := r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec}); err != nil {
		t.Fatal(err)
	}
}

// The recorded history of a real Bootstrap (a backfill of 14 days of the
// Binance ETH/USDT file, a training, the schedules; its first worker stopped
// mid-training and a second one finished it; re-record it with
// TICKCAST_RECORD_HISTORY=1 go test -run IntegrationBootstrapResumes ./workflows/)
// must replay on the current code.
func TestBootstrapReplaysRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(Bootstrap)
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/bootstrap_history.json"); err != nil {
		t.Fatal(err)
	}
}
