package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/registry"
)

// Without Temporal, run warns, registers the zero-return baseline so that
// every pair × horizon has a champion, streams and serves: a real trade
// file replays cold (no backfill), so the API answers warming_up.
func TestRunWithoutTemporalServesBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: fake Kraken + pipeline + API")
	}
	file := realdata.Path(t, realdata.KrakenTrades1h)
	dir := t.TempDir()
	addr := freeAddr(t)
	closed := freeAddr(t) // nothing listens there: no Temporal
	getenv := func(k string) string {
		if k == "TEMPORAL_ADDRESS" {
			return closed
		}
		return ""
	}
	var out, errOut lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "--replay", file, "--speed", "max", "--data-dir", dir, "--http", addr, "--horizons", "1,5"},
			getenv, &out, &errOut)
	}()
	defer func() {
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := httpGet("http://" + addr + "/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("not ready within 30s (last %d)", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The in-process pipeline's metrics are served beside the API's.
	_, metrics := httpGet("http://" + addr + "/metrics")
	for _, name := range []string{"tickcast_candles_emitted{", "tickcast_gaps{", "tickcast_candle_emit_lag_seconds_count{",
		"benthos_input_received{", "tickcast_http_request_duration_seconds_count{"} {
		if !bytes.Contains(metrics, []byte("\n"+name)) {
			t.Errorf("/metrics has no %s…", name)
		}
	}
	code, body := httpGet("http://" + addr + "/v1/predictions/BTC-USD")
	var e struct{ Error string }
	_ = json.Unmarshal(body, &e)
	if code != http.StatusServiceUnavailable || e.Error != "warming_up" {
		t.Errorf("GET a cold pair: %d %s", code, body)
	}
	if !strings.Contains(errOut.String(), "no Temporal server") || !strings.Contains(out.String(), "/v1/predictions") {
		t.Errorf("want a warning about Temporal and the URLs printed")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30s")
	}
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []int{1, 5} {
		if m, err := reg.Get(context.Background(), "BTC/USD", h, "champion"); err != nil || m.Name != registry.BaselineName {
			t.Errorf("h%d champion: %+v, %v", h, m, err)
		}
	}
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

func httpGet(url string) (int, []byte) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// lockedBuffer is written by the command's goroutines and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The pairs of a replay group stream through one fake Kraken and one
// pipeline on one market clock, as live does: two real Binance kline files
// of the same days, the last hour replayed as reconstructed trades at max
// speed, give each pair the same candle minutes.
func TestRunReplayGroupOnePipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: fake Kraken + pipeline + Parquet")
	}
	eth, btc := realdata.Path(t, realdata.BinanceETH90d), realdata.Path(t, realdata.BinanceBTC90d)
	dir := t.TempDir()
	var out, errOut lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run(ctx, []string{"run", "--replay", "ETH/USDT=" + eth + ",BTC/USDT=" + btc, "--replay-span", "1h",
		"--speed", "max", "--exit-at-end", "--data-dir", dir}, func(string) string { return "" }, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut.String())
	}
	if n := strings.Count(errOut.String(), "fakekraken: listening"); n != 1 {
		t.Errorf("%d fake Krakens, want one for the group", n)
	}
	var first []string
	for _, pair := range []string{"ETH-USDT", "BTC-USDT"} {
		csvOut, err := runCmd(t, "export", "candles", "--data-dir", dir, "--pair", pair, "--format", "csv")
		if err != nil {
			t.Fatalf("export %s: %v", pair, err)
		}
		rows := strings.Split(strings.TrimSpace(csvOut), "\n")
		t.Logf("%s: %d candles, %s … %s", pair, len(rows)-1, rows[1], rows[len(rows)-1])
		first = append(first, strings.Split(rows[1], ",")[1]+" "+strings.Split(rows[len(rows)-1], ",")[1]+" "+strconv.Itoa(len(rows)))
	}
	if first[0] != first[1] {
		t.Errorf("ETH candles %s, BTC %s: want the same minutes", first[0], first[1])
	}
}
