package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/workflows"
)

// The flags make the request (pairs and horizons as comma lists, the end
// date, the data directory made absolute); bad values are usage errors.
func TestBacktestFlags(t *testing.T) {
	e := testEnv(envOf(nil))
	f, err := parseBacktestFlags(e, []string{"--pair", "ethusdt,BTC/USDT", "--horizon", "5", "--horizon", "1", "--days", "10",
		"--end", "2025-08-18", "--data-dir", "data", "--parallel", "3", "--wait"})
	if err != nil {
		t.Fatal(err)
	}
	req, err := f.request()
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("data")
	if !slices.Equal(req.Pairs, []string{"BTC/USDT", "ETH/USDT"}) || !slices.Equal(req.Horizons, []int{1, 5}) || req.Days != 10 ||
		req.PolicyDays != 30 || !req.End.Equal(time.Date(2025, 8, 18, 0, 0, 0, 0, time.UTC)) || req.DataDir != abs || req.Parallel != 3 ||
		req.Series != 2 || !f.launch.wait {
		t.Errorf("request %+v", req)
	}
	if id := workflows.BacktestID(req); id != "backtest-BTC-USDT_ETH-USDT-h1_5-d10-20250818" {
		t.Errorf("id %q", id)
	}
	for _, args := range [][]string{
		{"backtest"},
		{"backtest", "--pair", "NOPE"},
		{"backtest", "--pair", "ETH/USDT", "--horizon", "x"},
		{"backtest", "--pair", "ETH/USDT", "--end", "yesterday"},
		{"backtest", "--pair", "ETH/USDT", "--days", "-2"},
		{"backtest", "--pair", "ETH/USDT", "extra"},
	} {
		if _, err := runCmd(t, args...); err == nil {
			t.Errorf("tickcast %v: no error", args)
		}
	}
}

func TestBacktestOutput(t *testing.T) {
	p := workflows.BacktestProgress{Phase: workflows.PhaseBacktestWindow, Policy: "off", Series: []workflows.BacktestSeriesProgress{
		{Phase: "select", Pair: "ETH/USDT", Horizon: 1, Status: workflows.StatusCompleted, Done: 30, Total: 30},
		{Phase: "window", Pair: "ETH/USDT", Horizon: 1, Status: workflows.StatusRunning, Done: 12, Total: 30}}}
	if got, want := backtestLine(p), "window  policy off  ETH/USDT h1 12/30"; got != want {
		t.Errorf("line %q, want %q", got, want)
	}
	ci := activities.BacktestCI{Value: 0.056, Lo: 0.0496, Hi: 0.0634}
	var b bytes.Buffer
	printBacktestResult(&b, workflows.BacktestResult{ID: "backtest-x", Summary: activities.BacktestSummary{ReportDir: "/d/r", Days: 30,
		Rows: []activities.BacktestSummaryRow{{Series: "all", Product: "vol", Baseline: "har-rv", Skill: map[string]activities.BacktestCI{"retrain": ci}}}}})
	if s := b.String(); !strings.Contains(s, "+5.60% [+4.96, +6.34]") || !strings.Contains(s, "report /d/r") {
		t.Errorf("output:\n%s", s)
	}
}
