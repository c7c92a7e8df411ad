package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"go/build"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/workflows"
)

func TestBackfillUsageErrors(t *testing.T) {
	tests := [][]string{
		{"backfill", "--source", "kraken"},                       // no pair
		{"backfill", "--pair", "NOPE"},                           // bad pair
		{"backfill", "--pair", "BTC/USD", "--source", "ftp"},     // bad source
		{"backfill", "--pair", "BTC/USD", "--from", "yesterday"}, // bad time
		{"backfill", "--pair", "BTC/USD", "--from", "2025-02-01T00:00:00Z", "--to", "2025-01-01T00:00:00Z"},
		{"backfill", "--source", "archive"},                                         // no file
		{"backfill", "--pair", "BTC/USD", "--chunk-days", "-2"},                     // bad chunking
		{"backfill", "--pair", "BTC/USD", "extra"},                                  // stray argument
		{"backfill", "--pair", "BTC/USD", "--interval", "7m"},                       // does not divide a day
		{"worker", "--kraken-rate", "fast"},                                         // bad flag value
		{"backfill", "--pair", "BTC/USD", "--files", "x.csv", "--source", "kraken"}, // files with kraken
	}
	for _, args := range tests {
		if _, err := runCmd(t, args...); err == nil {
			t.Errorf("tickcast %v: no error", args)
		}
	}
}

func TestProgressLinesWithoutTerminal(t *testing.T) {
	var buf bytes.Buffer
	lw := &lineWriter{w: &buf}
	p := workflows.Progress{Phase: workflows.PhaseRunning, Total: 4,
		Pairs: []workflows.PairResult{{Pair: "ETH/USDT", Chunks: 2}}}
	showProgress(lw, p)
	showProgress(lw, p) // no change, no line
	p.Done, p.Pairs[0].Imported, p.Pairs[0].Rows = 1, 1, 1440
	showProgress(lw, p)
	lw.end()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || lines[1] != "running  25%  imported 1/2  built 0/2 chunks  rows 1440  candles 0  features 0" {
		t.Errorf("lines = %q", lines)
	}
}

// temporalBin is the temporal CLI the Makefile caches (or $TICKCAST_TEMPORAL_BIN).
func temporalBin() string {
	if p := os.Getenv("TICKCAST_TEMPORAL_BIN"); p != "" {
		return p
	}
	return filepath.Join(build.Default.GOPATH, "bin", "temporal-v1.5.1")
}

func startDevServer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: Temporal dev server")
	}
	bin := temporalBin()
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no temporal CLI at %s (make temporal-cli, or set TICKCAST_TEMPORAL_BIN): %v", bin, err)
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := testsuite.StartDevServer(t.Context(), testsuite.DevServerOptions{ExistingPath: bin, LogLevel: "error",
		ClientOptions: &client.Options{Logger: tlog.NewStructuredLogger(quiet)}, Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv.FrontendHostPort()
}

// The CLI end to end: a worker as `tickcast run` starts it, then `tickcast
// backfill --wait` of a week of the real Binance ETH/USDT file, then export.
func TestBackfillWaitWithWorker(t *testing.T) {
	addr := startDevServer(t)
	file := realdata.Path(t, "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	getenv := func(k string) string {
		return map[string]string{"TEMPORAL_ADDRESS": addr, "TICKCAST_LOG_LEVEL": "error"}[k]
	}
	var logs bytes.Buffer
	e := env{getenv: getenv, stdout: &logs, stderr: &logs, logger: newLogger(getenv, &logs)}
	o := defaultWorkerOptions(getenv, dir)
	o.archives = listFlag{filepath.Dir(file)} // as `tickcast run --archive-dirs` or `tickcast worker --archive-dirs` give it
	stop, err := startWorker(ctx, e, o)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	args := []string{"backfill", "--pair", "ETH/USDT", "--files", file, "--from", "2025-05-20T00:00:00Z",
		"--to", "2025-05-27T00:00:00Z", "--data-dir", dir, "--wait"}
	for range 2 { // the second run redoes the same merges: idempotent
		var out, errOut bytes.Buffer
		if err := run(ctx, args, getenv, &out, &errOut); err != nil {
			t.Fatalf("backfill: %v\n%s\n%s", err, errOut.String(), logs.String())
		}
		if !strings.Contains(out.String(), "chunks 1  candles in 10080  candles 10080 (empty 0)  features 10080") {
			t.Errorf("stdout = %q", out.String())
		}
		if !strings.Contains(errOut.String(), "completed 100%") {
			t.Errorf("no progress on stderr: %q", errOut.String())
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"export", "candles", "--pair", "ETH/USDT", "--data-dir", dir}, getenv, &out, &out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 1+10080 {
		t.Errorf("%d exported rows, %v; want header + 10080", len(rows), err)
	}
}
