package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/training"
	"github.com/tickcast/tickcast/workflows"
)

type backtestFlags struct {
	temporal         temporalFlags
	pairs, horizons  listFlag
	days, policyDays int
	end, dataDir     string
	rounds, parallel int
	seriesAtOnce     int
	launch           launchFlags
}

func parseBacktestFlags(e env, args []string) (*backtestFlags, error) {
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &backtestFlags{}
	f.temporal.register(fs, e.getenv)
	fs.Var(&f.pairs, "pair", "pairs to backtest, comma list or repeated (ETH/USDT,BTC/USDT)")
	fs.Var(&f.horizons, "horizon", "horizons, comma list or repeated (default 1)")
	fs.IntVar(&f.days, "days", workflows.DefaultBacktestDays, "scored days: the last N days of the store's data (before --end)")
	fs.IntVar(&f.policyDays, "policy-days", workflows.DefaultBacktestPolicyDays, "days before the window the update policy is chosen on")
	fs.StringVar(&f.end, "end", "", "first day after the window, YYYY-MM-DD (default: the store's last day, excluded)")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "data directory (as the worker sees it): the store; the report goes to reports/backtest/<run id>/")
	fs.IntVar(&f.rounds, "rounds", workflows.DefaultBacktestRounds, "boosting rounds at most per fit (early stopping)")
	fs.IntVar(&f.parallel, "parallel", workflows.DefaultBacktestParallel, "days at once per series (2 XGBoost threads each)")
	fs.IntVar(&f.seriesAtOnce, "series", workflows.DefaultBacktestSeries, "series (pair × horizon) at once")
	f.launch.register(fs, e, "follow the backtest; exit 0 once it completed, printing the skills and the report folder")
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("backtest: unexpected arguments %v: %w", fs.Args(), errUsage)
	}
	return f, nil
}

func (f *backtestFlags) request() (workflows.BacktestRequest, error) {
	req := workflows.BacktestRequest{Pairs: f.pairs, Days: f.days, PolicyDays: f.policyDays, Rounds: f.rounds,
		Parallel: f.parallel, Series: f.seriesAtOnce}
	for _, h := range f.horizons {
		n, err := strconv.Atoi(h)
		if err != nil {
			return req, fmt.Errorf("backtest: horizon %q: %w", h, errUsage)
		}
		req.Horizons = append(req.Horizons, n)
	}
	if f.end != "" {
		end, err := time.Parse(time.DateOnly, f.end)
		if err != nil {
			return req, fmt.Errorf("backtest: end %q: want YYYY-MM-DD: %w", f.end, errUsage)
		}
		req.End = end
	}
	var err error
	if req.DataDir, err = filepath.Abs(f.dataDir); err != nil {
		return req, err
	}
	n, err := req.Normalize()
	if err != nil {
		return req, fmt.Errorf("backtest: %w: %w", err, errUsage)
	}
	return n, nil
}

// cmdBacktest starts Backtest (or attaches to the identical one running)
// and, with --wait, follows it to the end.
func cmdBacktest(ctx context.Context, e env, args []string) error {
	f, err := parseBacktestFlags(e, args)
	if err != nil {
		return err
	}
	req, err := f.request()
	if err != nil {
		return err
	}
	start := func(ctx context.Context, c client.Client) (client.WorkflowRun, error) {
		return temporalclient.StartBacktest(ctx, c, req)
	}
	return launch(ctx, e, f.temporal, f.launch, "backtest", req.DataDir, start, followBacktest)
}

// followBacktest follows the backtest (the parent's phase, then each
// running child's days) to its skills table.
var followBacktest = follower[workflows.BacktestResult, workflows.BacktestProgress]{kind: "backtest",
	query: temporalclient.QueryBacktestProgress, print: printBacktestResult,
	show: func(lw *lineWriter, p workflows.BacktestProgress) { lw.show(backtestLine(p)) }}.follow

// backtestLine is the backtest's state in words: the phase and each of its
// series' days done / total.
func backtestLine(p workflows.BacktestProgress) string {
	var b strings.Builder
	b.WriteString(p.Phase)
	if p.Policy != "" {
		fmt.Fprintf(&b, "  policy %s", p.Policy)
	}
	for _, s := range p.Series {
		if s.Phase == p.Phase || s.Status == workflows.StatusRunning {
			fmt.Fprintf(&b, "  %s h%d %d/%d", s.Pair, s.Horizon, s.Done, s.Total)
		}
	}
	return b.String()
}

// printBacktestResult prints the skills of (a) frozen, (b) retrain and (c)
// retrain+updates vs the baseline (d), the differences with their 95% CIs,
// and where the report is.
func printBacktestResult(w io.Writer, r workflows.BacktestResult) {
	s := r.Summary
	fmt.Fprintf(w, "backtest %s: %d days %s → %s, update policy %s\n", r.ID, s.Days,
		s.First.Format(time.DateOnly), s.Last.Format(time.DateOnly), r.Policy.Policy.Key())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "series\tproduct\tbaseline (d)\t(a) frozen\t(b) retrain\t(c) updated\t(c)−(b)\t(b)−(a)")
	for _, row := range s.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Series, row.Product, row.Baseline,
			ciText(row.Skill, training.BacktestFrozen), ciText(row.Skill, training.BacktestRetrain), ciText(row.Skill, training.BacktestUpdated),
			ciText(row.Diffs, training.DiffUpdatedRetrain), ciText(row.Diffs, training.DiffRetrainFrozen))
	}
	tw.Flush()
	fmt.Fprintf(w, "report %s\n", s.ReportDir)
}

func ciText(m map[string]activities.BacktestCI, key string) string {
	ci, ok := m[key]
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%+.2f%% [%+.2f, %+.2f]", 100*float64(ci.Value), 100*float64(ci.Lo), 100*float64(ci.Hi))
}
