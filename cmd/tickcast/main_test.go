package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/wire"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	getenv := func(string) string { return "" }
	err := run(ctx, args, getenv, &out, &errOut)
	if err != nil {
		t.Logf("stderr: %s", errOut.String())
	}
	return out.String(), err
}

// The acceptance path of the streaming issue: a one-shot replay of the real
// file through the fake Kraken and the real pipeline, then exports.
func TestRunReplayExitAtEndThenExport(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: fake Kraken + pipeline + Parquet + DuckDB")
	}
	file := realdata.Path(t, realdata.KrakenTrades1h)
	dir := t.TempDir()
	if _, err := runCmd(t, "run", "--replay", file, "--pair", "XBT/USD", "--speed", "max", "--exit-at-end", "--data-dir", dir); err != nil {
		t.Fatalf("run: %v", err)
	}
	out, err := runCmd(t, "export", "candles", "--data-dir", dir, "--pair", "BTC-USD", "--format", "csv")
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(wire.CandleCSVHeader, ",") {
		t.Errorf("header = %v", rows[0])
	}
	if len(rows) != 61 {
		t.Fatalf("%d candle rows, want 60", len(rows)-1)
	}
	if rows[1][1] != "2019-07-01T00:00:00Z" || rows[60][1] != "2019-07-01T00:59:00Z" {
		t.Errorf("first/last start = %s/%s", rows[1][1], rows[60][1])
	}
	out, err = runCmd(t, "export", "features", "--data-dir", dir, "--pair", "XBTUSD",
		"--from", "2019-07-01T00:30:00Z", "--to", "2019-07-01T00:40:00Z", "--format", "jsonl")
	if err != nil {
		t.Fatalf("export features: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d feature rows in [00:30, 00:40), want 10", len(lines))
	}
	if _, err := wire.DecodeFeatureRow([]byte(lines[0])); err != nil {
		t.Errorf("feature line does not decode: %v", err)
	}
	out, err = runCmd(t, "export", "trades", "--data-dir", dir, "--pair", "BTC/USD", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "\n"); n != 2673 {
		t.Errorf("%d trade lines, want header + 2672", n)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := [][]string{
		{"nope"},
		{"export"},
		{"export", "candles", "--data-dir", dir},
		{"export", "candles", "--data-dir", dir, "--pair", "NOT A PAIR"},
		{"export", "candles", "--data-dir", dir, "--pair", "BTC/USD", "--format", "xml"},
		{"export", "candles", "--data-dir", dir, "--pair", "BTC/USD", "--from", "yesterday"},
		{"export", "bananas", "--data-dir", dir, "--pair", "BTC/USD"},
		{"run", "--speed", "fast", "--replay", "x.csv"},
		{"run", "--no-such-flag"},
		{"fakekraken", "--replay", ""},
	}
	for _, args := range tests {
		if _, err := runCmd(t, args...); err == nil {
			t.Errorf("tickcast %v: no error", args)
		}
	}
	out, err := runCmd(t, "help")
	if err != nil || !strings.Contains(out, "fakekraken") {
		t.Errorf("help: %v %q", err, out)
	}
}

func TestExportEmptyStorePrintsHeader(t *testing.T) {
	out, err := runCmd(t, "export", "candles", "--data-dir", t.TempDir(), "--pair", "ETH/USD")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != strings.Join(wire.CandleCSVHeader, ",") {
		t.Errorf("empty export = %q", out)
	}
}
