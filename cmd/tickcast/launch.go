package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
)

// launchFlags are what the commands that start a workflow share: whether to
// follow the run, whether to run a worker while following, the UI to link.
type launchFlags struct {
	wait, worker bool
	uiURL        string
	kraken       *krakenFlags // the embedded worker's Kraken REST (nil: the environment's)
	archives     []string     // what else than the data dir the embedded worker may read (the files of a backfill)
}

func (l *launchFlags) register(fs *flag.FlagSet, e env, waitUsage string) {
	fs.BoolVar(&l.wait, "wait", false, waitUsage)
	fs.BoolVar(&l.worker, "worker", true, "with --wait, also run a worker in this process, so the command works on its own (false: leave the work to running workers)")
	fs.StringVar(&l.uiURL, "ui-url", envOr(e.getenv, "TEMPORAL_UI_URL", "http://127.0.0.1:8233"), "Temporal UI, for the link printed ($TEMPORAL_UI_URL)")
}

type (
	startFunc  func(context.Context, client.Client) (client.WorkflowRun, error)
	followFunc func(context.Context, env, client.Client, client.WorkflowRun) error
)

// launch starts a workflow, prints its IDs and UI link and, with --wait,
// follows it to the end (with a worker in this process unless --worker=false).
func launch(ctx context.Context, e env, t temporalFlags, l launchFlags, kind, dataDir string, start startFunc, follow followFunc) error {
	c, err := dialTemporal(ctx, e, t)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := start(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s %s run %s\n%s/namespaces/%s/workflows/%s\n",
		kind, run.GetID(), run.GetRunID(), strings.TrimRight(l.uiURL, "/"), t.namespace, run.GetID())
	if !l.wait {
		return nil
	}
	if l.worker {
		defer embeddedWorker(e, c, dataDir, l)()
	}
	return follow(ctx, e, c, run)
}

// follower follows a workflow of kind started by launch: it asks query for
// R's progress P every second, shows each answer with show and, once the
// workflow completed, shows final's progress (if any) and prints the result.
type follower[R, P any] struct {
	kind  string
	query func(context.Context, client.Client, string) (P, error)
	show  func(*lineWriter, P)
	final func(R) P // nil: nothing more to show at the end
	print func(io.Writer, R)
}

// follow polls run's progress until it closes (a followFunc); Ctrl-C stops
// following, not the workflow.
func (f follower[R, P]) follow(ctx context.Context, e env, c client.Client, run client.WorkflowRun) error {
	done := make(chan error, 1)
	var res R
	go func() { done <- run.Get(context.WithoutCancel(ctx), &res) }()
	lw := &lineWriter{w: e.stderr, tty: isTerminal(e.stderr), start: time.Now()}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err == nil && f.final != nil {
				f.show(lw, f.final(res))
			}
			lw.end()
			if err != nil {
				return fmt.Errorf("%s %s: %w", f.kind, run.GetID(), err)
			}
			f.print(e.stdout, res)
			return nil
		case <-tick.C:
			qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			p, err := f.query(qctx, c, run.GetID())
			cancel()
			if err == nil {
				f.show(lw, p)
			}
		case <-ctx.Done():
			lw.end()
			fmt.Fprintf(e.stderr, "stopped following; %s %s goes on in Temporal\n", f.kind, run.GetID())
			return ctx.Err()
		}
	}
}

// lineWriter rewrites one line on a terminal, or prints a line per change
// elsewhere (CI logs).
type lineWriter struct {
	w     io.Writer
	tty   bool
	last  string
	start time.Time
}

func (l *lineWriter) show(line string) { l.showTTY(line, line+"  ") }

// showTTY prints line when it changed; on a terminal it rewrites the line
// as ttyLine followed by the time elapsed.
func (l *lineWriter) showTTY(line, ttyLine string) {
	if line == l.last {
		return
	}
	l.last = line
	if !l.tty {
		fmt.Fprintln(l.w, line)
		return
	}
	fmt.Fprintf(l.w, "\r\033[K%s%s", ttyLine, time.Since(l.start).Truncate(time.Second))
}

func (l *lineWriter) end() {
	if l.tty && l.last != "" {
		fmt.Fprintln(l.w)
	}
}
