package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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
		fmt.Fprintln(e.stderr, "usage: tickcast schedules apply --pair P [--horizon H] [--every 24h] [--trials N] --data-dir D | schedules list")
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
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("schedules apply: unexpected arguments %v: %w", fs.Args(), errUsage)
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
