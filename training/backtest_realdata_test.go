package training

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/ml"
)

// backtestPolicies are the update policies the selection days choose from.
var backtestPolicies = []BacktestPolicy{
	{Method: UpdateRefresh, Window: 1440, Every: 60},
	{Method: UpdateRefresh, Window: 4320, Every: 240},
	{Method: UpdateContinue, Trees: 5, Window: 1440, Every: 60},
	{Method: UpdateContinue, Trees: 2, Window: 4320, Every: 240},
}

// TestBacktestRealData is the walk-forward backtest of the loop on the real
// 90 Binance days of both pairs (cross-pair features as the backfill sets
// them) at the horizons of TICKCAST_BACKTEST_HORIZONS (default 1,5): the
// update policy is chosen on the days of TICKCAST_BACKTEST_SELECT (default
// 31-60, pooled over the series), then the days of TICKCAST_BACKTEST_DAYS
// (default 61-90) are scored with (a) the model fitted before the first of
// them, (b) the daily retrain, (c) (b) with the chosen updates, (d) the
// baselines. Days are 1-based, "a-b" or "a,b,c" or "a-b/k" (every k-th).
// Fits use the products' fixed candidate (no tuning: zero params), 400
// rounds at most, 2 threads. Writes report.json, days.json, policy.json,
// vol_skill.svg and timings.txt into TICKCAST_BACKTEST_OUT:
//
//	TICKCAST_BACKTEST_OUT=/tmp/backtest go test ./training -run TestBacktestRealData -v -timeout 120m
func TestBacktestRealData(t *testing.T) {
	out := os.Getenv("TICKCAST_BACKTEST_OUT")
	if out == "" {
		t.Skip("set TICKCAST_BACKTEST_OUT to a folder to backtest the loop on the real 90 days")
	}
	start := time.Now()
	series := backtestRealSeries(t, envList(t, "TICKCAST_BACKTEST_HORIZONS", "1,5"))
	day0 := series[0].DS.TS[0].Truncate(24 * time.Hour)
	dayAt := func(d int) time.Time { return day0.Add(time.Duration(d-1) * 24 * time.Hour) }
	fit := BacktestFit{Rounds: 400, Threads: 2}
	sel := envList(t, "TICKCAST_BACKTEST_SELECT", "31-60")
	in := BacktestDayInput{Fit: fit, Update: backtestPolicies[0], Alternatives: backtestPolicies[1:]}
	selRes := runBacktestDays(t, series, in, sel, dayAt)
	policy, scores := ChooseUpdatePolicy(selRes, in)
	tSelect := time.Since(start)
	t.Logf("policy %s chosen on days %v: %+v (%.0f s)", policy.Key(), sel, scores, tSelect.Seconds())
	in = BacktestDayInput{Fit: fit, Update: policy}
	days := envList(t, "TICKCAST_BACKTEST_DAYS", "61-90")
	res := runBacktestDays(t, series, in, days, dayAt)
	tWindow := time.Since(start) - tSelect
	rep := BacktestAggregate(res)
	rep.Notes = append(rep.Notes, fmt.Sprintf("Update policy %s, chosen on days %v by pooled vol MAE; scored days %v.", policy.Key(), sel, days))
	writeJSON(t, filepath.Join(out, "report.json"), rep)
	writeJSON(t, filepath.Join(out, "days.json"), res)
	writeJSON(t, filepath.Join(out, "policy.json"), map[string]any{"chosen": policy, "scores": scores, "days": sel})
	if err := os.WriteFile(filepath.Join(out, "vol_skill.svg"), BacktestVolSVG(rep), 0o644); err != nil {
		t.Fatal(err)
	}
	timing := fmt.Sprintf("select %.0f s (%d series-days), window %.0f s (%d series-days), total %.0f s\n",
		tSelect.Seconds(), len(selRes), tWindow.Seconds(), len(res), time.Since(start).Seconds())
	t.Log(timing)
	if err := os.WriteFile(filepath.Join(out, "timings.txt"), []byte(timing), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range append(rep.Series, rep.Pooled) {
		for _, p := range s.Products {
			t.Logf("%s h%d %s vs %s: skill %v; diffs %v", s.Pair, s.Horizon, p.Product, p.Baseline, p.Skill, p.Diffs)
		}
	}
}

// runBacktestDays runs BacktestDay for every series and day, the frozen
// model fitted before the first day.
func runBacktestDays(t *testing.T, series []BacktestSeries, in BacktestDayInput, days []int, dayAt func(int) time.Time) []BacktestDayResult {
	var out []BacktestDayResult
	for _, s := range series {
		frozen, err := FitBacktestModel(t.Context(), s, in.Fit, dayAt(days[0]))
		if err != nil {
			t.Fatal(err)
		}
		in.Frozen, in.Series, in.Pair, in.Horizon = frozen, &s, s.DS.Pair, s.DS.Horizon
		for _, d := range days {
			in.Day = dayAt(d)
			r, err := BacktestDay(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s h%d day %d: fit %.1f s, day %.1f s, %d rows", s.DS.Pair, s.DS.Horizon, d, r.FitSecs, r.Seconds, r.Rows)
			out = append(out, r)
		}
	}
	return out
}

// backtestRealSeries are both pairs' datasets at each horizon.
func backtestRealSeries(t *testing.T, horizons []int) []BacktestSeries {
	var out []BacktestSeries
	for _, pc := range realPairs(t) {
		for _, h := range horizons {
			ds, err := ml.Build(pc.rows, pc.candles, h)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, BacktestSeries{DS: ds, Candles: pc.candles})
		}
	}
	return out
}

// envList parses "a-b", "a-b/k" and "a,b,c" lists of ints.
func envList(t *testing.T, key, def string) []int {
	s := os.Getenv(key)
	if s == "" {
		s = def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		step := 1
		if a, b, ok := strings.Cut(f, "/"); ok {
			f, step = a, atoi(t, b)
		}
		a, b, ok := strings.Cut(f, "-")
		if !ok {
			out = append(out, atoi(t, a))
			continue
		}
		for d := atoi(t, a); d <= atoi(t, b); d += step {
			out = append(out, d)
		}
	}
	return out
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writeJSON(t *testing.T, path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
