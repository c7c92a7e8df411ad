package activities_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/parquet"
)

// backtestStore imports and builds 6 real days of Binance ETH/USDT
// (2025-05-20 → 05-25) into the store of a new data directory.
func backtestStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	candles, _, err := archive.ReadCandles(realdata.Path(t, binanceETH), archive.BinanceKlines, "ETH/USDT")
	if err != nil {
		t.Fatal(err)
	}
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := history.Chunk{Pair: "ETH/USDT", From: date("2025-05-20T00:00:00Z"), To: date("2025-05-26T00:00:00Z")}
	if _, err := history.ImportCandles(t.Context(), st, candles, c); err != nil {
		t.Fatal(err)
	}
	if _, err := history.BuildChunk(t.Context(), st, dir, c, history.KindCandles, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The backtest's activities on a real store, one pair × horizon × day: the
// plan ends the window at the last stored day, the frozen model is written
// to the report folder, the day is scored (and written), the choice and
// the report read it back; report.json and vol_skill.svg are written.
func TestBacktestActivities(t *testing.T) {
	dir := backtestStore(t)
	a := &activities.Activities{DataDir: dir}
	env := newEnv(a)
	run0 := activities.BacktestRun{Key: "run-1"}
	plan := run[activities.BacktestPlan](t, env, a.BacktestPlan,
		activities.BacktestPlanInput{BacktestRun: run0, Pairs: []string{"ETH/USDT"}, Days: 1})
	end := date("2025-05-26T00:00:00Z")
	if !plan.End.Equal(end) || len(plan.From) != 1 || !plan.From[0].Equal(date("2025-05-20T00:00:00Z")) {
		t.Fatalf("plan %+v", plan)
	}
	key := activities.BacktestSeriesKey{Phase: "window", Pair: "ETH/USDT", Horizon: 5, From: plan.From[0]}
	day := end.AddDate(0, 0, -1)
	fit := activities.BacktestFit{Rounds: 30, Threads: 1}
	frozen := run[activities.BacktestFrozen](t, env, a.BacktestFrozen,
		activities.BacktestFrozenInput{BacktestRun: run0, Series: key, Before: day, Fit: fit})
	if frozen.LastLabel.After(day) || frozen.Train.Len() < 1000 {
		t.Errorf("frozen %+v", frozen)
	}
	upd := activities.BacktestPolicy{Method: "continue", Trees: 2, Window: 1440, Every: 240}
	alt := activities.BacktestPolicy{Method: "refresh", Window: 1440, Every: 240}
	res := run[activities.BacktestDayResult](t, env, a.BacktestDay,
		activities.BacktestDayInput{BacktestRun: run0, Series: key, Day: day, Frozen: frozen.File, Fit: fit,
			Update: upd, Alternatives: []activities.BacktestPolicy{alt}})
	if res.Rows < 1000 || !res.Day.Equal(day) || res.Retrain.LastLabel.After(day) || len(res.Losses) != 3 {
		t.Errorf("day: %d rows, day %s, retrain %+v, losses %d", res.Rows, res.Day, res.Retrain, len(res.Losses))
	}
	days := activities.BacktestDaysInput{BacktestRun: run0, Series: []activities.BacktestSeriesKey{key}, Days: []time.Time{day},
		Update: upd, Alternatives: []activities.BacktestPolicy{alt}}
	choice := run[activities.BacktestChoice](t, env, a.BacktestChoose, days)
	if len(choice.Scores) != 3 || (choice.Policy != upd && choice.Policy != alt) {
		t.Errorf("choice %+v", choice)
	}
	sum := run[activities.BacktestSummary](t, env, a.BacktestReport, days)
	if sum.ReportDir != filepath.Join(datadir.Reports(dir), "backtest", "run-1") || len(sum.Rows) != 6 || sum.Days != 1 {
		t.Errorf("summary %+v", sum)
	}
	for _, f := range []string{"report.json", "vol_skill.svg", "policy.json", frozen.File, "days/window/ETH-USDT-h5-2025-05-25.json"} {
		if _, err := os.Stat(filepath.Join(sum.ReportDir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := env.ExecuteActivity(a.BacktestDay, activities.BacktestDayInput{
		BacktestRun: activities.BacktestRun{Key: "../x"}, Series: key, Day: day}); err == nil {
		t.Error("a report key outside reports/backtest: no error")
	}
}
