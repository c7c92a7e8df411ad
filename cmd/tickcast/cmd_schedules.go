package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/workflows"
)

// cmdSchedules manages the retraining schedules: apply (create or update,
// idempotent) and list.
func cmdSchedules(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "usage: tickcast schedules apply --pair P [--horizon H] [--every 24h] [--trials N] --data-dir D\n"+
			"       tickcast schedules apply --updates --method refresh|continue --pair P [--horizon H] [--products return,vol,p_up] [--update-every 60m] --data-dir D\n"+
			"       tickcast schedules list")
		return errUsage
	}
	switch args[0] {
	case "apply":
		return cmdSchedulesApply(ctx, e, args[1:])
	case "list":
		return cmdSchedulesList(ctx, e, args[1:])
	}
	return fmt.Errorf("schedules %q: want apply or list: %w", args[0], errUsage)
}

func cmdSchedulesApply(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("schedules apply", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &trainFlags{}
	f.register(fs, e)
	every := fs.Duration("every", workflows.DefaultRetrainEvery, "how often to retrain")
	u := &updateFlags{}
	u.register(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("schedules apply: unexpected arguments %v: %w", fs.Args(), errUsage)
	}
	if u.on || u.method != "" {
		return applyUpdateSchedules(ctx, e, f, u)
	}
	req, err := f.request()
	if err != nil {
		return err
	}
	if f.from != "" || f.to != "" {
		return fmt.Errorf("schedules apply: --from/--to would retrain on the same data every time: %w", errUsage)
	}
	if *every < time.Minute {
		return fmt.Errorf("schedules apply: --every %s: want at least 1m: %w", *every, errUsage)
	}
	c, err := dialTemporal(ctx, e, f.temporal)
	if err != nil {
		return err
	}
	defer c.Close()
	created, err := temporalclient.ApplySchedule(ctx, c, req, *every)
	if err != nil {
		return err
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	fmt.Fprintf(e.stdout, "schedule %s %s: Train %s h%d every %s, %d trials, data dir %s\n",
		workflows.ScheduleID(req), verb, req.Pair, req.Horizon, *every, req.Trials, req.DataDir)
	return nil
}

func cmdSchedulesList(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("schedules list", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var t temporalFlags
	t.register(fs, e.getenv)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	c, err := dialTemporal(ctx, e, t)
	if err != nil {
		return err
	}
	defer c.Close()
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return fmt.Errorf("list schedules: %w", err)
	}
	for it.HasNext() {
		s, err := it.Next()
		if err != nil {
			return fmt.Errorf("list schedules: %w", err)
		}
		printSchedule(e.stdout, s)
	}
	return nil
}

func printSchedule(w io.Writer, s *client.ScheduleListEntry) {
	var every []string
	if s.Spec != nil {
		for _, iv := range s.Spec.Intervals {
			every = append(every, iv.Every.String())
		}
	}
	next := "-"
	if len(s.NextActionTimes) > 0 {
		next = s.NextActionTimes[0].UTC().Format(time.RFC3339)
	}
	last := "-"
	if n := len(s.RecentActions); n > 0 {
		last = s.RecentActions[n-1].ActualTime.UTC().Format(time.RFC3339)
	}
	paused := ""
	if s.Paused {
		paused = "  paused"
	}
	fmt.Fprintf(w, "%-28s %-8s every %-8s next %s  last %s%s\n", s.ID, s.WorkflowType.Name, strings.Join(every, ","), next, last, paused)
}

// updateFlags are schedules apply's flags for incremental updates, which
// are off by default: on real data they made the champion worse
// (docs/incremental.md), so only --updates with a --method creates them.
type updateFlags struct {
	on                    bool
	method, products      string
	every                 time.Duration
	trees, window, shadow int
}

func (u *updateFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&u.on, "updates", false, "apply incremental-update schedules (one per product) instead of the retraining schedule; "+
		"off by default: measured on real data, updates made the champion worse (docs/incremental.md)")
	fs.StringVar(&u.method, "method", "", "with --updates: refresh (re-estimate the leaves) or continue (boost more trees); required")
	fs.StringVar(&u.products, "products", "return,vol,p_up", "with --updates: products to update (return, vol, p_up)")
	fs.DurationVar(&u.every, "update-every", workflows.DefaultUpdateEvery, "with --updates: how often an update step runs")
	fs.IntVar(&u.trees, "update-trees", workflows.DefaultUpdateTrees, "with --updates --method continue: trees added per update")
	fs.IntVar(&u.window, "update-window", workflows.DefaultUpdateWindow, "with --updates: newest labelled rows an update trains on")
	fs.IntVar(&u.shadow, "shadow", workflows.DefaultUpdateShadow, "with --updates: next labelled rows an update is shadow-scored on before it may replace the champion")
}

// requests are the update requests of the pair and horizon of f, one per
// product, normalized.
func (u *updateFlags) requests(f *trainFlags) ([]workflows.UpdateRequest, error) {
	switch {
	case !u.on:
		return nil, fmt.Errorf("schedules apply: --method is for --updates: %w", errUsage)
	case u.method == "":
		return nil, fmt.Errorf("schedules apply --updates: --method refresh or continue is required (updates are off by default): %w", errUsage)
	case u.every < time.Minute:
		return nil, fmt.Errorf("schedules apply: --update-every %s: want at least 1m: %w", u.every, errUsage)
	case f.from != "" || f.to != "":
		return nil, fmt.Errorf("schedules apply: --from/--to do not apply to updates: %w", errUsage)
	}
	dir, err := filepath.Abs(f.dataDir)
	if err != nil {
		return nil, err
	}
	var out []workflows.UpdateRequest
	for _, p := range strings.Split(u.products, ",") {
		req := workflows.UpdateRequest{Pair: f.pair, Horizon: f.horizon, Product: strings.TrimSpace(p), Method: u.method,
			Trees: u.trees, Window: u.window, Shadow: u.shadow, DataDir: dir}
		if u.method != workflows.UpdateMethodContinue {
			req.Trees = 0
		}
		n, err := req.Normalize()
		if err != nil {
			return nil, fmt.Errorf("schedules apply --updates: %w: %w", err, errUsage)
		}
		out = append(out, n)
	}
	return out, nil
}

func applyUpdateSchedules(ctx context.Context, e env, f *trainFlags, u *updateFlags) error {
	reqs, err := u.requests(f)
	if err != nil {
		return err
	}
	c, err := dialTemporal(ctx, e, f.temporal)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, req := range reqs {
		created, err := temporalclient.ApplyUpdateSchedule(ctx, c, req, u.every)
		if err != nil {
			return err
		}
		verb := "updated"
		if created {
			verb = "created"
		}
		fmt.Fprintf(e.stdout, "schedule %s %s: Update %s h%d %s every %s, %s on %d rows, shadow %d rows, data dir %s\n",
			workflows.UpdateID(req), verb, req.Pair, req.Horizon, req.Product, u.every, req.Method, req.Window, req.Shadow, req.DataDir)
	}
	return nil
}
