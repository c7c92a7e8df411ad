package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/workflows"
)

// temporalFlags say where the Temporal service is; worker and backfill share them.
type temporalFlags struct {
	address, namespace string
}

func (t *temporalFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&t.address, "temporal-address", envOr(getenv, "TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port ($TEMPORAL_ADDRESS)")
	fs.StringVar(&t.namespace, "namespace", envOr(getenv, "TEMPORAL_NAMESPACE", "default"), "Temporal namespace ($TEMPORAL_NAMESPACE)")
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// workerOptions configure a Temporal worker of tickcast's workflows and activities.
type workerOptions struct {
	temporal temporalFlags
	// dataDir serves requests that name no data directory; roots are the
	// only directories requests may name as one (default: dataDir alone);
	// archives are what archive files may also be read from (read only).
	dataDir  string
	roots    string
	archives listFlag
	// kraken is the REST endpoint; krakenRate the requests per second of this
	// whole process (one limiter shared by all its activities; <= 0: off).
	kraken     krakenFlags
	krakenRate float64
	// queueRate is worker.Options.TaskQueueActivitiesPerSecond: activity starts
	// per second on the task queue, enforced by the server for all workers (0: off).
	queueRate     float64
	maxActivities int
}

// defaultWorkerOptions are the worker flags' defaults (the environment's
// Kraken endpoint included), for `run` and --wait commands to start an
// in-process worker over their data directory.
func defaultWorkerOptions(getenv func(string) string, dataDir string) workerOptions {
	var o workerOptions
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	o.register(fs, getenv)
	o.dataDir = dataDir
	return o
}

func (o *workerOptions) register(fs *flag.FlagSet, getenv func(string) string) {
	o.temporal.register(fs, getenv)
	fs.StringVar(&o.dataDir, "data-dir", "./data", "data directory of backfills that name none")
	fs.StringVar(&o.roots, "data-roots", "", "comma-separated directories requests may name as data_dir, to read and write (default: --data-dir alone)")
	fs.Var(&o.archives, "archive-dirs", "directories archive files of backfills may be read from, besides the data roots (repeat, or comma-separated; default: none)")
	o.kraken.register(fs, getenv, false)
	fs.Float64Var(&o.krakenRate, "kraken-rate", 1, "Kraken REST requests per second for this whole worker process (<= 0: unlimited)")
	fs.Float64Var(&o.queueRate, "activities-per-second", 0, "cluster-wide bound on activity starts on task queue "+workflows.TaskQueue+", enforced by the Temporal server (0: none)")
	fs.IntVar(&o.maxActivities, "max-activities", 8, "activities this worker runs at once")
}

// cmdWorker runs a Temporal worker of the backfill until interrupted.
func cmdWorker(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var o workerOptions
	o.register(fs, e.getenv)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if err := o.kraken.resolve(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	stop, err := startWorker(ctx, e, o)
	if err != nil {
		return err
	}
	e.logger.Info("worker running", "temporal", o.temporal.address, "namespace", o.temporal.namespace,
		"task_queue", workflows.TaskQueue, "data_dir", o.dataDir, "data_roots", o.roots, "archive_dirs", o.archives.String(),
		"kraken_rest_url", o.kraken.rest, "kraken_rate", o.krakenRate)
	<-ctx.Done()
	stop()
	return nil
}

// startWorker dials Temporal and runs a worker in the background; stop
// stops it (letting running activities finish for a few seconds) and closes
// the client.
func startWorker(ctx context.Context, e env, o workerOptions) (stop func(), err error) {
	c, err := dialTemporal(ctx, e, o.temporal)
	if err != nil {
		return nil, err
	}
	w, err := newWorker(c, e, o)
	if err == nil {
		err = w.Start()
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("worker: %w", err)
	}
	return func() { w.Stop(); c.Close() }, nil
}

// workerStopTimeout is how long a stopping worker lets activities finish;
// the rest are retried elsewhere after their heartbeat timeout.
const workerStopTimeout = 5 * time.Second

func newWorker(c client.Client, e env, o workerOptions) (worker.Worker, error) {
	acts, err := newActivities(e, o)
	if err != nil {
		return nil, err
	}
	acts.Schedules = temporalclient.Scheduler{Client: c} // the bootstrap's retraining schedules
	w := worker.New(c, workflows.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: o.maxActivities,
		TaskQueueActivitiesPerSecond:       o.queueRate,
		WorkerStopTimeout:                  workerStopTimeout,
		// Heartbeat details are progress shown in the UI: send them every
		// 2 s rather than every 0.8 × the heartbeat timeout.
		MaxHeartbeatThrottleInterval: 2 * time.Second,
	})
	temporalclient.Register(w, acts)
	return w, nil
}

// newActivities builds the activities with one Kraken rate limiter for the
// whole process, so concurrent fetches share Kraken's budget.
func newActivities(e env, o workerOptions) (*activities.Activities, error) {
	if err := o.kraken.resolve(); err != nil {
		return nil, err
	}
	rest, err := kraken.NewREST(kraken.RESTConfig{
		BaseURL: o.kraken.rest,
		Limiter: kraken.NewRateLimiter(o.krakenRate, 1),
		Logger:  e.logger,
	})
	if err != nil {
		return nil, err
	}
	a := &activities.Activities{REST: rest, Logger: e.logger, DataDir: o.dataDir, ArchiveRoots: o.archives}
	for r := range strings.SplitSeq(o.roots, ",") {
		if r = strings.TrimSpace(r); r != "" {
			a.Roots = append(a.Roots, r)
		}
	}
	return a, nil
}

// dialTemporal connects to the Temporal frontend, logging through our logger.
func dialTemporal(ctx context.Context, e env, t temporalFlags) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  t.address,
		Namespace: t.namespace,
		Logger:    tlog.NewStructuredLogger(e.logger),
	})
	if err != nil {
		return nil, fmt.Errorf("temporal at %s (start one with `make temporal`): %w", t.address, err)
	}
	return c, nil
}
