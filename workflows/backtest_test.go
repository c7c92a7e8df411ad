package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/tickcast/tickcast/activities"
)

// fakeBacktest is the backtest's activities, recording their inputs and
// how many days run at once (per series and in all).
type fakeBacktest struct {
	mu                 sync.Mutex
	end                time.Time
	frozen             []activities.BacktestFrozenInput
	days               []activities.BacktestDayInput
	calls              int
	running, maxAll    int
	perSeries, maxEach map[string]int
	failOnce           map[string]bool // series+day keys that fail their first attempt
	choose, report     []activities.BacktestDaysInput
}

func newFakeBacktest() *fakeBacktest {
	return &fakeBacktest{end: date("2025-08-18T00:00:00Z"), perSeries: map[string]int{}, maxEach: map[string]int{}, failOnce: map[string]bool{}}
}

func (f *fakeBacktest) env() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Backtest)
	env.RegisterWorkflow(BacktestSeries)
	env.RegisterActivity(acts)
	env.OnActivity(acts.BacktestPlan, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BacktestPlanInput) (activities.BacktestPlan, error) {
			from := make([]time.Time, len(in.Pairs))
			for i := range from {
				from[i] = f.end.AddDate(0, 0, -90)
			}
			return activities.BacktestPlan{End: f.end, From: from, ReportDir: "/data/reports/backtest/" + in.Key}, nil
		})
	env.OnActivity(acts.BacktestFrozen, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BacktestFrozenInput) (activities.BacktestFrozen, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.frozen = append(f.frozen, in)
			return activities.BacktestFrozen{File: "models/" + seriesKey(in.Series) + ".json"}, nil
		})
	env.OnActivity(acts.BacktestDay, mock.Anything, mock.Anything).Return(f.day)
	env.OnActivity(acts.BacktestChoose, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BacktestDaysInput) (activities.BacktestChoice, error) {
			f.choose = append(f.choose, in)
			return activities.BacktestChoice{Policy: in.Alternatives[len(in.Alternatives)-1]}, nil
		})
	env.OnActivity(acts.BacktestReport, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BacktestDaysInput) (activities.BacktestSummary, error) {
			f.report = append(f.report, in)
			return activities.BacktestSummary{ReportDir: "/data/reports/backtest/" + in.Key, Days: len(in.Days)}, nil
		})
	return env
}

func seriesKey(s activities.BacktestSeriesKey) string {
	return fmt.Sprintf("%s-%s-h%d", s.Phase, s.Pair, s.Horizon)
}

func (f *fakeBacktest) day(_ context.Context, in activities.BacktestDayInput) (activities.BacktestDayResult, error) {
	k := seriesKey(in.Series)
	f.mu.Lock()
	f.calls++
	f.running++
	f.perSeries[k]++
	f.maxAll, f.maxEach[k] = max(f.maxAll, f.running), max(f.maxEach[k], f.perSeries[k])
	dk := k + in.Day.Format(time.DateOnly)
	fail := f.failOnce[dk]
	f.failOnce[dk] = false
	if !fail {
		f.days = append(f.days, in)
	}
	f.mu.Unlock()
	time.Sleep(5 * time.Millisecond) // real time: let concurrent days overlap
	f.mu.Lock()
	f.running--
	f.perSeries[k]--
	f.mu.Unlock()
	if fail {
		return activities.BacktestDayResult{}, errors.New("worker lost") // retryable
	}
	return activities.BacktestDayResult{Pair: in.Series.Pair, Horizon: in.Series.Horizon, Day: in.Day, Rows: 1440, Seconds: 1}, nil
}

// Two pairs × two horizons: the selection (2 days) and the window (3 days)
// each fan out to 4 children with their frozen model and one activity per
// day, at most 2 series and 2 days per series at once; the policy chosen
// on the selection scores the window; a failed day is retried; the report
// is aggregated once over every window day; the progress shows every
// series done.
func TestBacktestFanOut(t *testing.T) {
	f := newFakeBacktest()
	selDay := f.end.AddDate(0, 0, -4) // the selection's last day
	f.failOnce["select-ETH/USDT-h5"+selDay.Format(time.DateOnly)] = true
	env := f.env()
	req := BacktestRequest{Pairs: []string{"ethusdt", "BTC/USDT"}, Horizons: []int{5, 1}, Days: 3, PolicyDays: 2, DataDir: "/data"}
	res, err := execute[BacktestResult](t, env, Backtest, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.frozen) != 8 || len(f.days) != 4*2+4*3 || f.calls != len(f.days)+1 {
		t.Errorf("frozen %d, days %d, calls %d: want 8, 20, 21", len(f.frozen), len(f.days), f.calls)
	}
	if f.maxAll > 4 || f.maxAll < 1 {
		t.Errorf("at most %d days at once; want ≤ 2 series × 2 days", f.maxAll)
	}
	for k, m := range f.maxEach {
		if m > 2 {
			t.Errorf("%s: %d days at once; want ≤ 2", k, m)
		}
	}
	t.Logf("days at once: %d in all, per series %v", f.maxAll, f.maxEach)
	chosen := DefaultBacktestPolicies[3]
	for _, d := range f.days {
		sel := d.Series.Phase == PhaseBacktestSelect
		if sel && (d.Update != DefaultBacktestPolicies[0] || len(d.Alternatives) != 3) || !sel && (d.Update != chosen || d.Alternatives != nil) {
			t.Errorf("%s %s: update %+v, alternatives %d", seriesKey(d.Series), d.Day, d.Update, len(d.Alternatives))
		}
		if d.Frozen != "models/"+seriesKey(d.Series)+".json" || d.Fit.Rounds != DefaultBacktestRounds {
			t.Errorf("%s: frozen %q, fit %+v", seriesKey(d.Series), d.Frozen, d.Fit)
		}
	}
	for _, fr := range f.frozen {
		first := f.end.AddDate(0, 0, -3)
		if fr.Series.Phase == PhaseBacktestSelect {
			first = f.end.AddDate(0, 0, -5)
		}
		if !fr.Before.Equal(first) {
			t.Errorf("%s: frozen before %s, want the phase's first day %s", seriesKey(fr.Series), fr.Before, first)
		}
	}
	if len(f.choose) != 1 || len(f.choose[0].Series) != 4 || len(f.choose[0].Days) != 2 {
		t.Errorf("choose calls %+v", f.choose)
	}
	if len(f.report) != 1 || len(f.report[0].Series) != 4 || !slices.Equal(f.report[0].Days, backtestDays(f.end, 3, 0)) {
		t.Fatalf("report calls %+v", f.report)
	}
	if res.Policy.Policy != chosen || res.Summary.Days != 3 || res.ID == "" {
		t.Errorf("result %+v", res)
	}
	var p BacktestProgress
	if q, err := env.QueryWorkflow(ProgressQuery); err != nil || q.Get(&p) != nil {
		t.Fatal(err)
	}
	if p.Phase != PhaseCompleted || len(p.Series) != 8 || p.Policy != chosen.Key() || !p.End.Equal(f.end) {
		t.Errorf("progress %+v", p)
	}
	for _, s := range p.Series {
		if s.Status != StatusCompleted || s.Done != s.Total {
			t.Errorf("series %+v", s)
		}
	}
}

// A fixed update policy skips the selection: 2 children, no choice.
func TestBacktestFixedPolicy(t *testing.T) {
	f := newFakeBacktest()
	env := f.env()
	upd := activities.BacktestPolicy{Method: "off"}
	req := BacktestRequest{Pairs: []string{"ETH/USDT"}, Horizons: []int{1, 5}, Days: 2, Update: &upd, Parallel: 1, Series: 1}
	if _, err := execute[BacktestResult](t, env, Backtest, req); err != nil {
		t.Fatal(err)
	}
	if len(f.frozen) != 2 || len(f.days) != 4 || len(f.choose) != 0 || len(f.report) != 1 || f.maxAll != 1 {
		t.Errorf("frozen %d, days %d, choose %d, report %d, max at once %d", len(f.frozen), len(f.days), len(f.choose), len(f.report), f.maxAll)
	}
}

func TestBacktestRequest(t *testing.T) {
	req := BacktestRequest{Pairs: []string{"ethusdt", "BTC/USDT"}, Horizons: []int{5, 1, 5}, End: date("2025-08-18T00:00:00Z")}
	if id := BacktestID(req); id != "backtest-BTC-USDT_ETH-USDT-h1_5-d30-20250818" {
		t.Errorf("BacktestID = %q", id)
	}
	if id := BacktestID(BacktestRequest{Pairs: []string{"ETH/USDT"}}); id != "backtest-ETH-USDT-h1-d30-latest" {
		t.Errorf("BacktestID = %q", id)
	}
	for name, r := range map[string]BacktestRequest{
		"no pair":     {},
		"end not 0h":  {Pairs: []string{"ETH/USDT"}, End: date("2025-08-18T01:00:00Z")},
		"horizon 0":   {Pairs: []string{"ETH/USDT"}, Horizons: []int{0}},
		"days":        {Pairs: []string{"ETH/USDT"}, Days: 1000},
		"relative dd": {Pairs: []string{"ETH/USDT"}, DataDir: "data"},
	} {
		if _, err := r.Normalize(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
