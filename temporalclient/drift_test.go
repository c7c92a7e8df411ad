package temporalclient

import (
	"go/build"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/tickcast/tickcast/workflows"
)

func TestDriftTrainStartOptions(t *testing.T) {
	at := time.Date(2026, 12, 7, 8, 59, 0, 0, time.FixedZone("CET", 3600)) // 07:59 UTC
	o := DriftTrainStartOptions(workflows.TrainRequest{Pair: "eth/usdt", Horizon: 5}, at, "regime: x")
	if o.ID != "train-ETH-USDT-h5-drift-2026120707" || o.TaskQueue != workflows.TaskQueue ||
		o.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL ||
		o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE ||
		!o.WorkflowExecutionErrorWhenAlreadyStarted {
		t.Errorf("options %+v: want ID train-ETH-USDT-h5-drift-2026120707, fail on conflict, reject duplicates", o)
	}
}

// Against a real dev server (no worker: the Train waits on its queue): the
// first start of the hour starts, the second does not and is no error, nor
// is it once the first has closed; the next hour starts again.
func TestDriftTrainerDedup(t *testing.T) {
	c := devClient(t)
	tr := DriftTrainer{Client: c}
	at := time.Date(2026, 12, 7, 8, 10, 0, 0, time.UTC)
	start := func(at time.Time) (string, bool) {
		id, started, err := tr.StartTrain(t.Context(), "ETH/USDT", 1, at, "test")
		if err != nil {
			t.Fatal(err)
		}
		return id, started
	}
	id, started := start(at)
	if id != "train-ETH-USDT-h1-drift-2026120708" || !started {
		t.Fatalf("first start: %s, started %v", id, started)
	}
	if _, started := start(at.Add(40 * time.Minute)); started {
		t.Error("second start of the hour (running) started")
	}
	if err := c.TerminateWorkflow(t.Context(), id, "", "test"); err != nil {
		t.Fatal(err)
	}
	if _, started := start(at); started {
		t.Error("start of the hour after the first closed started")
	}
	if id, started := start(at.Add(time.Hour)); !started || id != "train-ETH-USDT-h1-drift-2026120709" {
		t.Errorf("next hour: %s, started %v", id, started)
	}
}

// devClient starts a Temporal dev server for the test (about a second) and
// dials it, or skips: in -short, or without the temporal CLI
// ($TICKCAST_TEMPORAL_BIN, else the copy `make temporal-cli` caches).
func devClient(t *testing.T) client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: Temporal dev server")
	}
	bin := os.Getenv("TICKCAST_TEMPORAL_BIN")
	if bin == "" {
		bin = filepath.Join(build.Default.GOPATH, "bin", "temporal-v1.5.1")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no temporal CLI at %s: %v", bin, err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := testsuite.StartDevServer(t.Context(), testsuite.DevServerOptions{ExistingPath: bin, LogLevel: "error",
		ClientOptions: &client.Options{Logger: tlog.NewStructuredLogger(quiet)}, Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv.Client()
}
