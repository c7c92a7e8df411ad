package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestScheduleUpdatesUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"schedules", "apply", "--pair", "ETH/USDT", "--updates"}, // no method: updates are off by default
		{"schedules", "apply", "--pair", "ETH/USDT", "--method", "refresh"},
		{"schedules", "apply", "--pair", "ETH/USDT", "--updates", "--method", "retrain"},
		{"schedules", "apply", "--pair", "ETH/USDT", "--updates", "--method", "refresh", "--products", "quantiles"},
		{"schedules", "apply", "--pair", "ETH/USDT", "--updates", "--method", "refresh", "--update-every", "10s"},
		{"schedules", "apply", "--pair", "ETH/USDT", "--updates", "--method", "refresh", "--update-window", "100"},
		{"schedules", "apply", "--updates", "--method", "refresh"}, // no pair
	} {
		if _, err := runCmd(t, args...); err == nil {
			t.Errorf("tickcast %v: no error", args)
		}
	}
}

// `schedules apply --updates` against a dev server: one schedule per
// product, created, then updated in place; `schedules list` shows them.
func TestScheduleUpdates(t *testing.T) {
	addr := startDevServer(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	getenv := func(k string) string {
		return map[string]string{"TEMPORAL_ADDRESS": addr, "TICKCAST_LOG_LEVEL": "error"}[k]
	}
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, args, getenv, &out, &errOut); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	apply := []string{"schedules", "apply", "--updates", "--method", "refresh", "--pair", "ethusdt", "--horizon", "5", "--products", "vol,p_up", "--data-dir", dir}
	out := cli(apply...)
	for _, want := range []string{"schedule update-ETH-USDT-h5-vol created", "schedule update-ETH-USDT-h5-p_up created", "every 1h0m0s, refresh on 1440 rows, shadow 60 rows"} {
		if !strings.Contains(out, want) {
			t.Errorf("first apply %q lacks %q", out, want)
		}
	}
	if out := cli(append(apply, "--update-every", "30m")...); !strings.Contains(out, "schedule update-ETH-USDT-h5-vol updated") || !strings.Contains(out, "every 30m0s") {
		t.Errorf("second apply: %q", out)
	}
	deadline := time.Now().Add(10 * time.Second) // the list is eventually consistent
	for {
		out := cli("schedules", "list")
		if strings.Contains(out, "update-ETH-USDT-h5-vol") && strings.Contains(out, "update-ETH-USDT-h5-p_up") && strings.Contains(out, "every 30m0s") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedules list = %q", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
