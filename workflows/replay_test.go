package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
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
