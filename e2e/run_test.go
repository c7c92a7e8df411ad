package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"go/build"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/redistest"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/workflows"
)

// temporalBin is the temporal CLI: $TICKCAST_TEMPORAL_BIN, else the copy
// `make temporal-cli` caches in GOPATH/bin (as workflows' integration tests).
func temporalBin() string {
	if p := os.Getenv("TICKCAST_TEMPORAL_BIN"); p != "" {
		return p
	}
	return filepath.Join(build.Default.GOPATH, "bin", "temporal-v1.5.1")
}

// `tickcast run` as a user starts it, on a fresh data directory: two pairs
// from two real files of different years (Binance ETHUSDT klines, Kraken
// XBTUSD OHLCVT), each split into a backfill and a 6-hour live replay at
// 120×. The replay streams at once; the bootstrap runs alongside as the
// Temporal workflow Bootstrap (backfills, tuning, training, gating,
// schedules), which the test waits for explicitly; then the API serves
// predictions of the registry's champions, cached in Redis and pushed over
// WebSocket; SIGINT stops it cleanly.
func TestRunWholeSystem(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: Temporal dev server, Redis, the tickcast binary")
	}
	eth := realdata.Path(t, realdata.BinanceETH90d)
	xbt := realdata.Path(t, realdata.KrakenXBT1m21d)
	tbin := temporalBin()
	if _, err := os.Stat(tbin); err != nil {
		if os.Getenv(redistest.EnvRequire) != "" {
			t.Fatalf("no temporal CLI at %s (make temporal-cli): %v", tbin, err)
		}
		t.Skipf("no temporal CLI at %s (make temporal-cli, or set TICKCAST_TEMPORAL_BIN): %v", tbin, err)
	}
	redisAddr := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: tbin, LogLevel: "error", Stdout: io.Discard})
	cancel()
	if err != nil {
		t.Fatalf("dev server: %v", err)
	}
	t.Cleanup(func() { _ = dev.Stop() })

	bin := buildTickcast(t)
	httpAddr := freeAddr(t)
	base := "http://" + httpAddr
	dataDir := t.TempDir()
	// 6 hours at 120×: three minutes of stream, long enough for the
	// bootstrap and, when the stream's first candle came before the
	// backfill's (no warm start), for its own 120-candle warm-up (a minute).
	cmd := exec.Command(bin, "run", "--data-dir", dataDir,
		"--replay", "ETH/USDT="+eth+",BTC/USD="+xbt, "--replay-span", "6h", "--speed", "120",
		"--trials", "4", "--horizons", "1",
		"--redis", redisAddr, "--http", httpAddr)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+dev.FrontendHostPort(), "TEMPORAL_UI_URL=http://127.0.0.1:1/none")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			t.Logf("tickcast killed: %v", <-exited)
		}
		if t.Failed() {
			t.Logf("tickcast output:\n%s", out.String())
		}
	})

	// The stream does not wait for the bootstrap: the API is ready (the
	// zero-return baselines, features flowing) while it runs.
	waitFor(t, 60*time.Second, exited, "GET /readyz 200", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == http.StatusOK
	})
	readyAt := time.Now()
	res := waitBootstrap(t, dev.Client(), &out, exited)
	if closed := bootstrapClosed(t, dev.Client(), &out); !readyAt.Before(closed) {
		t.Errorf("ready at %s, after the bootstrap closed at %s: the stream waited for it", readyAt, closed)
	}
	var steps []string
	for _, s := range res.Steps {
		steps = append(steps, s.Kind+" "+s.ID+" "+s.Status)
	}
	got := strings.Join(steps, "\n")
	for _, want := range []string{"backfill backfill-archive-ETH-USDT-", "backfill backfill-archive-BTC-USD-", "train train-ETH-USDT-h1 completed",
		"train train-BTC-USD-h1 completed", "schedules retrain-BTC-USD-h1,retrain-ETH-USDT-h1 completed"} {
		if !strings.Contains(got, want) {
			t.Errorf("bootstrap steps lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "failed") {
		t.Errorf("a bootstrap step failed:\n%s", got)
	}
	// run logs the steps as they go.
	waitFor(t, 10*time.Second, exited, "the bootstrap's steps in the log", func() bool {
		log := out.String()
		return strings.Contains(log, `msg="bootstrap step" kind=train target="ETH/USDT h1" id=train-ETH-USDT-h1 status=completed`) &&
			strings.Contains(log, `msg="bootstrap completed"`)
	})
	champions := registryChampions(t, dataDir, "ETH/USDT", "BTC/USD")

	// The two files are from different years (2025 and 2023): each pair
	// keeps its own market clock, so both are fresh.
	first := map[string]predict.Prediction{}
	for _, u := range []string{"/v1/predictions/ETH-USDT", "/v1/predictions/BTC-USD"} {
		var p predict.Prediction
		// The champion the bootstrap's gate chose (the API reloads champions
		// every 10 s), once the features are warm.
		waitFor(t, 90*time.Second, exited, "GET "+u+" from the champion", func() bool {
			code, body := get(t, base+u)
			return code == http.StatusOK && json.Unmarshal(body, &p) == nil &&
				p.Model.Name == champions[p.Pair].Name && p.Model.Version == champions[p.Pair].Version
		})
		first[p.Pair] = p
		t.Logf("%s: %s h%d as_of %s return %.3g model %s v%d", u, p.Pair, p.Horizon, p.AsOf, p.PredictedReturn, p.Model.Name, p.Model.Version)
		if p.Horizon != 1 || p.Model.Name == "" || p.LastPrice <= 0 {
			t.Errorf("%s: %+v", u, p)
		}
	}
	if len(first) != 2 {
		t.Fatalf("predictions for %v, want ETH-USDT and BTC-USD", first)
	}

	// An immediate second request is a cache hit (Redis), unless a candle
	// closed in between: then the one after is.
	cached := false
	for range 3 {
		var a, b predict.Prediction
		getJSON(t, base+"/v1/predictions/ETH-USDT", &a)
		getJSON(t, base+"/v1/predictions/ETH-USDT", &b)
		if b.AsOf.Equal(a.AsOf) {
			cached = b.Cached
			break
		}
	}
	if !cached {
		t.Error("a second GET of the same candle's prediction was not cached")
	}

	// A WebSocket client receives pushed predictions.
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+httpAddr+"/v1/stream?pairs=ETH-USDT", nil)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	resp.Body.Close()
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var frame struct {
			Type       string             `json:"type"`
			Prediction predict.Prediction `json:"prediction"`
		}
		if err := ws.ReadJSON(&frame); err != nil {
			t.Fatalf("stream: no prediction frame: %v", err)
		}
		if frame.Type == "prediction" {
			if frame.Prediction.Pair != "ETH-USDT" {
				t.Errorf("stream pushed %s to a client of ETH-USDT", frame.Prediction.Pair)
			}
			break
		}
	}

	// as_of advances as candles close.
	for pair, p := range first {
		u := base + "/v1/predictions/" + pair
		waitFor(t, 30*time.Second, exited, pair+" as_of advancing", func() bool {
			var q predict.Prediction
			getJSON(t, u, &q)
			return q.AsOf.After(p.AsOf)
		})
	}

	// SIGINT: everything stops cleanly.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("tickcast exited with %v after SIGINT", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("tickcast did not exit within 40s of SIGINT")
	}
}

func buildTickcast(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tickcast")
	b := exec.Command("go", "build", "-o", bin, "./cmd/tickcast")
	b.Dir = repoRoot(t)
	if msg, err := b.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	return bin
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd) // go test runs in e2e/
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond every 250ms until it holds; failing when the process
// exits or the time is up.
func waitFor(t *testing.T, limit time.Duration, exited <-chan error, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		select {
		case err := <-exited:
			t.Fatalf("tickcast exited (%v) while waiting for %s", err, what)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, limit)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	code, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// syncBuffer is a bytes.Buffer the process's two pipes write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitBootstrap reads the Bootstrap workflow's ID from run's output and
// waits for it to complete.
func waitBootstrap(t *testing.T, c client.Client, out *syncBuffer, exited <-chan error) workflows.BootstrapResult {
	t.Helper()
	re := regexp.MustCompile(`(?m)^bootstrap (bootstrap-\S+) run `)
	var id string
	waitFor(t, 30*time.Second, exited, "the bootstrap's workflow ID", func() bool {
		m := re.FindStringSubmatch(out.String())
		if m != nil {
			id = m[1]
		}
		return m != nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Second)
	defer cancel()
	var res workflows.BootstrapResult
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		t.Fatalf("bootstrap %s: %v", id, err)
	}
	if res.Phase != workflows.PhaseCompleted {
		t.Fatalf("bootstrap %s: phase %s", id, res.Phase)
	}
	return res
}

// bootstrapClosed is when the Bootstrap workflow closed, on the server's clock.
func bootstrapClosed(t *testing.T, c client.Client, out *syncBuffer) time.Time {
	t.Helper()
	m := regexp.MustCompile(`(?m)^bootstrap (bootstrap-\S+) run `).FindStringSubmatch(out.String())
	d, err := c.DescribeWorkflow(t.Context(), m[1], "")
	if err != nil {
		t.Fatal(err)
	}
	return d.RawResponse.GetWorkflowExecutionInfo().GetCloseTime().AsTime()
}

// registryChampions reads each pair's horizon-1 champion from the registry.
func registryChampions(t *testing.T, dataDir string, pairs ...string) map[string]predict.ModelRef {
	t.Helper()
	reg, err := registry.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]predict.ModelRef{}
	for _, p := range pairs {
		m, err := reg.Get(t.Context(), p, 1, registry.Champion)
		if err != nil {
			t.Fatalf("champion of %s: %v", p, err)
		}
		out[market.PairSlug(p)] = predict.ModelRef{Name: m.Name, Version: m.Version}
	}
	return out
}
