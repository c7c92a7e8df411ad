package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

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
