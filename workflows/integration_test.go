package workflows_test

// Integration tests against a real Temporal dev server (the temporal CLI the
// Makefile builds), with real workers and real data from ../shared/data.

import (
	"bytes"
	"context"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"go/build"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/workflows"
)

const binanceETH = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"

// temporalBin is the temporal CLI: $TICKCAST_TEMPORAL_BIN, else the copy
// `make temporal-cli` caches in GOPATH/bin.
func temporalBin() string {
	if p := os.Getenv("TICKCAST_TEMPORAL_BIN"); p != "" {
		return p
	}
	return filepath.Join(build.Default.GOPATH, "bin", "temporal-v1.5.1")
}

// The dev server is shared by the package's tests and stopped by TestMain.
var dev struct {
	once   sync.Once
	server *testsuite.DevServer
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ref.dir != "" {
		os.RemoveAll(ref.dir)
	}
	if dev.server != nil {
		_ = dev.server.Stop()
	}
	os.Exit(code)
}

// devClient starts the dev server on first use (about a second), or skips.
func devClient(t *testing.T) client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: Temporal dev server")
	}
	bin := temporalBin()
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no temporal CLI at %s (make temporal-cli, or set TICKCAST_TEMPORAL_BIN): %v", bin, err)
	}
	dev.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dev.server, dev.err = testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
			ExistingPath:  bin,
			LogLevel:      "error",
			Stdout:        io.Discard, // its banner
			ClientOptions: &client.Options{Logger: tlog.NewStructuredLogger(quietLogger())},
		})
	})
	if dev.err != nil {
		t.Fatalf("dev server: %v", dev.err)
	}
	return dev.server.Client()
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// startWorker runs a worker of the real activities on queue until the test ends.
func startWorker(t *testing.T, c client.Client, queue string, a *activities.Activities) worker.Worker {
	t.Helper()
	w := worker.New(c, queue, worker.Options{WorkerStopTimeout: 5 * time.Second})
	temporalclient.Register(w, a)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

// start starts req on its own task queue, so that tests do not share workers.
func start(t *testing.T, c client.Client, queue string, req workflows.BackfillRequest) client.WorkflowRun {
	t.Helper()
	opts := temporalclient.BackfillStartOptions(req)
	opts.TaskQueue = queue
	run, err := c.ExecuteWorkflow(t.Context(), opts, workflows.Backfill, req)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func wait(t *testing.T, run client.WorkflowRun) workflows.BackfillResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var res workflows.BackfillResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("backfill %s: %v", run.GetID(), err)
	}
	return res
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// twoWeeks is 14 days of the real Binance ETH/USDT file in 2-day chunks.
// testActivities are a test worker's activities: the tests' data
// directories are temporary ones, their archive files the real data.
func testActivities() *activities.Activities {
	real, _ := realdata.Dir()
	return &activities.Activities{Logger: quietLogger(), Roots: []string{os.TempDir()}, ArchiveRoots: []string{real}}
}

func twoWeeks(t *testing.T, dataDir string) workflows.BackfillRequest {
	return workflows.BackfillRequest{Source: workflows.SourceArchive, Pairs: []string{"ETH/USDT"},
		Files: []string{realdata.Path(t, binanceETH)}, From: date("2025-05-20T00:00:00Z"), To: date("2025-06-03T00:00:00Z"),
		DataDir: dataDir, ChunkDays: 2}
}

// ref is the uninterrupted archive backfill, run once and shared: the
// archive test checks it against the file, the kill test compares with it.
var ref struct {
	once sync.Once
	dir  string
	id   string
	res  workflows.BackfillResult
	err  error
}

func reference(t *testing.T, c client.Client) (dir, id string, res workflows.BackfillResult) {
	t.Helper()
	ref.once.Do(func() {
		if ref.dir, ref.err = os.MkdirTemp("", "tickcast-ref-"); ref.err != nil {
			return
		}
		startWorker(t, c, "archive", testActivities())
		req := twoWeeks(t, ref.dir)
		run := start(t, c, "archive", req)
		if again := start(t, c, "archive", req); again.GetRunID() != run.GetRunID() {
			ref.err = fmt.Errorf("second start made run %s, want to attach to %s", again.GetRunID(), run.GetRunID())
		}
		ref.id, ref.res = run.GetID(), wait(t, run)
	})
	if ref.err != nil {
		t.Fatal(ref.err)
	}
	return ref.dir, ref.id, ref.res
}

// An archive backfill on a real worker: the store holds the file's candles
// exactly, and features for each; starting it again attaches to the run.
func TestIntegrationArchiveBackfill(t *testing.T) {
	c := devClient(t)
	dir, id, res := reference(t, c)
	p := res.Pairs[0]
	if len(res.Pairs) != 1 || p.Chunks != 7 || p.Built != 7 || p.Rows != 20160 || p.Candles != 20160 || p.Features != 20160 || p.Empty != 0 {
		t.Errorf("result = %+v", res.Pairs)
	}
	req := twoWeeks(t, dir)
	checkCandlesEqualFile(t, dir, req)
	// A feature row's ts is its candle's end: the last one is at To.
	feats, err := parquet.ReadFeatures(datadir.Parquet(dir), "ETH/USDT", req.From, req.To.Add(time.Minute))
	if err != nil || len(feats) != 20160 {
		t.Errorf("%d feature rows, %v; want 20160", len(feats), err)
	}
	prog, err := temporalclient.QueryProgress(t.Context(), c, id)
	if err != nil || prog.Phase != workflows.PhaseCompleted || prog.Done != 14 || prog.Total != 14 {
		t.Errorf("progress = %+v, %v", prog, err)
	}
	if os.Getenv("TICKCAST_RECORD_HISTORY") != "" {
		recordHistory(t, id, "testdata/backfill_history.json")
	}
}

func checkCandlesEqualFile(t *testing.T, dir string, req workflows.BackfillRequest) {
	t.Helper()
	src, _, err := archive.ReadCandles(req.Files[0], archive.BinanceKlines, "ETH/USDT")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquet.ReadCandles(datadir.Parquet(dir), "ETH/USDT", req.From, req.To)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20160 {
		t.Fatalf("%d candles stored, want 14 days = 20160", len(got))
	}
	for i, c := range got {
		s := src[i]
		if !c.Start.Equal(s.Start) || c.Open != s.Open || c.High != s.High || c.Low != s.Low || c.Close != s.Close || c.Volume != s.Volume {
			t.Fatalf("candle %d = %+v, the file has %+v", i, c, s)
		}
	}
}

// recordHistory writes the run's history as `temporal workflow show --output
// json` does, for the replay test (TICKCAST_RECORD_HISTORY=1 go test -run ArchiveBackfill).
func recordHistory(t *testing.T, id, path string) {
	t.Helper()
	out, err := exec.Command(temporalBin(), "workflow", "show", "--address", dev.server.FrontendHostPort(),
		"--workflow-id", id, "--output", "json").Output()
	if err != nil {
		t.Fatalf("temporal workflow show: %v", err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s (%d bytes)", path, len(out))
}

// A Kraken backfill against the fake Kraken's REST API serving the real
// trade file: every trade stored once, an hour of candles and features.
func TestIntegrationKrakenBackfill(t *testing.T) {
	c := devClient(t)
	trades, err := archive.ReadTrades(realdata.Path(t, realdata.KrakenTrades1h), archive.KrakenTrades, "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := fakekraken.New(fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}})
	if err != nil {
		t.Fatal(err)
	}
	wsURL, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rest, err := kraken.NewREST(kraken.RESTConfig{BaseURL: fakekraken.RESTURL(wsURL), Limiter: kraken.NewRateLimiter(20, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	startWorker(t, c, "kraken", &activities.Activities{REST: rest, DataDir: dir, Logger: quietLogger()})
	req := workflows.BackfillRequest{Source: workflows.SourceKraken, Pairs: []string{"XBTUSD"},
		From: date("2019-07-01T00:00:00Z"), To: date("2019-07-02T00:00:00Z")} // DataDir: the worker's
	res := wait(t, start(t, c, "kraken", req))
	p := res.Pairs[0]
	if p.Pair != "BTC/USD" || p.Rows != 2672 || p.Pages != 3 || p.Candles != 60 || p.Features != 60 {
		t.Errorf("result = %+v, want 2672 trades in 3 pages, 60 candles and feature rows", p)
	}
	stored, err := parquet.ReadTrades(datadir.Parquet(dir), "BTC/USD", req.From, req.To)
	if err != nil || len(stored) != 2672 {
		t.Fatalf("%d trades stored, %v", len(stored), err)
	}
}

// Killing the worker mid-backfill and starting another gives the same store
// as an uninterrupted run: no gap, no duplicate, byte for byte.
func TestIntegrationKillWorker(t *testing.T) {
	c := devClient(t)
	refDir, _, _ := reference(t, c)
	dir := t.TempDir()

	req := twoWeeks(t, dir)
	req.ChunkDays = 1 // more, shorter activities: the kill lands among them
	run := start(t, c, "kill", req)
	a := startWorkerProcess(t, "kill")
	waitDone(t, c, run.GetID(), 3)
	if err := a.Process.Kill(); err != nil { // SIGKILL: no graceful stop
		t.Fatal(err)
	}
	_ = a.Wait()
	began := time.Now()
	startWorker(t, c, "kill", testActivities())
	res := wait(t, run)
	n := retried(t, c, run.GetID())
	t.Logf("worker B finished in %v; %d activities were retried", time.Since(began).Round(time.Millisecond), n)
	if n == 0 {
		t.Error("no activity was retried: the kill did not land mid-activity")
	}
	if p := res.Pairs[0]; p.Candles != 20160 || p.Features != 20160 {
		t.Errorf("result = %+v", p)
	}
	checkCandlesEqualFile(t, dir, req)
	sameFiles(t, refDir, dir)
}

// startWorkerProcess runs TestWorkerProcess in a child process: a worker that
// can be killed for real.
func startWorkerProcess(t *testing.T, queue string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$")
	cmd.Env = append(os.Environ(), "TICKCAST_TEST_WORKER="+dev.server.FrontendHostPort()+","+queue)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("worker process output:\n%s", out.String())
		}
	})
	return cmd
}

// TestWorkerProcess is the child process of TestIntegrationKillWorker.
func TestWorkerProcess(t *testing.T) {
	hostQueue := os.Getenv("TICKCAST_TEST_WORKER")
	if hostQueue == "" {
		t.Skip("the child process of TestIntegrationKillWorker")
	}
	host, queue, _ := strings.Cut(hostQueue, ",")
	c, err := client.Dial(client.Options{HostPort: host, Logger: tlog.NewStructuredLogger(quietLogger())})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, queue, worker.Options{})
	temporalclient.Register(w, testActivities())
	if err := w.Run(worker.InterruptCh()); err != nil {
		t.Fatal(err)
	}
}

// waitDone polls the progress query until n activities are done.
func waitDone(t *testing.T, c client.Client, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p, err := temporalclient.QueryProgress(t.Context(), c, id)
		if err == nil && p.Done >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("backfill %s: %d activities not done in 30s", id, n)
}

// retried counts activities that completed on a later attempt.
func retried(t *testing.T, c client.Client, id string) int {
	it := c.GetWorkflowHistory(t.Context(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
			n++
		}
		if os.Getenv("DEBUG_HISTORY") != "" {
			t.Logf("%s %d %s", ev.GetEventTime().AsTime().Format("15:04:05.000"), ev.GetEventId(), ev.GetEventType())
		}
	}
	return n
}

// sameFiles compares every data file of two data directories byte for byte.
// Temporary files a killed write leaves behind are not data (readers only see
// data.parquet) and are only logged.
func sameFiles(t *testing.T, want, got string) {
	t.Helper()
	a, b := dataFiles(t, want), dataFiles(t, got)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d files, want %d", len(b), len(a))
	}
	for name, wb := range a {
		gb, ok := b[name]
		if !ok {
			t.Errorf("missing %s", name)
			continue
		}
		if !bytes.Equal(wb, gb) {
			t.Errorf("%s differs", name)
		}
	}
}

func dataFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasSuffix(d.Name(), ".lock") {
			return nil
		}
		if strings.Contains(d.Name(), ".tmp") {
			t.Logf("ignoring %s", rel)
			return nil
		}
		b, err := os.ReadFile(path)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
