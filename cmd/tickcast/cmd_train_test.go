package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/workflows"
)

func TestTrainAndSchedulesUsageErrors(t *testing.T) {
	tests := [][]string{
		{"train"},                   // no pair
		{"train", "--pair", "NOPE"}, // bad pair
		{"train", "--pair", "ETH/USDT", "--horizon", "-1"}, // bad horizon
		{"train", "--pair", "ETH/USDT", "--trials", "-3"},
		{"train", "--pair", "ETH/USDT", "--from", "yesterday"},
		{"train", "--pair", "ETH/USDT", "extra"},
		{"schedules"},
		{"schedules", "delete"},
		{"schedules", "apply"}, // no pair
		{"schedules", "apply", "--pair", "ETH/USDT", "--every", "10s"},
		{"schedules", "apply", "--pair", "ETH/USDT", "--from", "2025-05-20T00:00:00Z"},
	}
	for _, args := range tests {
		if _, err := runCmd(t, args...); err == nil {
			t.Errorf("tickcast %v: no error", args)
		}
	}
}

func TestTrainLine(t *testing.T) {
	p := workflows.TrainProgress{Phase: workflows.PhaseTuning, TuneID: "x-tune",
		Tune: workflows.TuneProgress{Rung: 1, Rungs: 3, Done: 55, Total: 71, Best: &ml.TrialResult{ID: 7, Rung: 1, Score: 0.000615}}}
	if got, want := trainLine(p), "tuning  trials 55/71  rung 2/3  best CV MAE 0.000615 (trial 7, rung 2)"; got != want {
		t.Errorf("line = %q\nwant   %q", got, want)
	}
}

// The CLI end to end on a real week of Binance ETH/USDT: backfill, `train
// --wait` (exit 0, the report folder and the gate's decision printed), then
// `schedules apply` twice (created, then updated in place) and `schedules list`.
func TestTrainWaitAndSchedules(t *testing.T) {
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
	o.archives = listFlag{filepath.Dir(file)} // the worker may read the archive file
	stop, err := startWorker(ctx, e, o)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, args, getenv, &out, &errOut); err != nil {
			t.Fatalf("%v: %v\n%s\n%s", args, err, errOut.String(), logs.String())
		}
		return out.String()
	}
	cli("backfill", "--pair", "ETH/USDT", "--files", file, "--from", "2025-05-20T00:00:00Z", "--to", "2025-05-27T00:00:00Z", "--data-dir", dir, "--wait")
	out := cli("train", "--pair", "ethusdt", "--trials", "3", "--data-dir", dir, "--wait")
	i := strings.LastIndex(out, "report ")
	if i < 0 || !strings.Contains(out, "ETH/USDT h1 version 1: ") || !strings.Contains(out, "zero-return MAE") {
		t.Fatalf("stdout = %q", out)
	}
	report := strings.TrimSpace(out[i+len("report "):])
	if _, err := os.Stat(filepath.Join(report, ml.FilePredictions)); err != nil || !strings.HasPrefix(report, filepath.Join(dir, "reports", "ETH-USDT", "h1")) {
		t.Errorf("report folder %q: %v", report, err)
	}
	apply := []string{"schedules", "apply", "--pair", "ETH/USDT", "--trials", "5", "--data-dir", dir}
	if out := cli(apply...); !strings.Contains(out, "schedule retrain-ETH-USDT-h1 created") {
		t.Errorf("first apply: %q", out)
	}
	if out := cli(append(apply, "--every", "12h")...); !strings.Contains(out, "schedule retrain-ETH-USDT-h1 updated") || !strings.Contains(out, "every 12h0m0s") {
		t.Errorf("second apply: %q", out)
	}
	deadline := time.Now().Add(10 * time.Second) // the list is eventually consistent
	for {
		out := cli("schedules", "list")
		if strings.Contains(out, "retrain-ETH-USDT-h1") && strings.Contains(out, "every 12h0m0s") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedules list = %q", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
