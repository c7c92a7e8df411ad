package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/workflows"
)

// bootFlags say what the bootstrap `run` starts beside the stream does, so
// that it soon predicts with trained models.
type bootFlags struct {
	enabled      bool
	backfillDays int
	horizons     string
	trials       int
	retrainEvery time.Duration
}

func (b *bootFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&b.enabled, "bootstrap", true, "with Temporal: start the Bootstrap workflow beside the stream (never waited for): backfill what the store lacks, "+
		"train every pair × horizon that has no trained model, apply the retraining schedules")
	fs.IntVar(&b.backfillDays, "backfill-days", 7, "live: how far back the bootstrap's Kraken REST backfill reaches, from the end of each pair's stored candles to now "+
		"(replays backfill what comes before the streamed part)")
	fs.StringVar(&b.horizons, "horizons", "1,5", "horizons (candles ahead) to serve: each pair × horizon gets a champion (a trained model, or the zero-return baseline)")
	fs.IntVar(&b.trials, "trials", workflows.DefaultTrials, "tuning trials of the bootstrap trainings")
	fs.DurationVar(&b.retrainEvery, "retrain-every", workflows.DefaultRetrainEvery,
		"with Temporal: a schedule retrains (tune, fit, gate, promote) every pair × horizon this often on all the store holds (0: no schedule)")
}

func (b *bootFlags) parseHorizons() ([]int, error) {
	var hs []int
	for s := range strings.SplitSeq(b.horizons, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		h, err := strconv.Atoi(s)
		if err != nil || h < 1 || h > market.MaxHorizon {
			return nil, fmt.Errorf("horizon %q: want 1…%d", s, market.MaxHorizon)
		}
		hs = append(hs, h)
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("--horizons %q: want at least one", b.horizons)
	}
	slices.Sort(hs)
	return slices.Compact(hs), nil
}

// bootstrap makes sure every pair × horizon has a champion, the zero-return
// baseline at least (synchronously: local and fast); with Temporal
// (workerUp) it starts the Bootstrap workflow (or attaches to the one
// running) and returns at once: the stream never waits for it. Its progress
// is logged until it ends or stop is called.
func bootstrap(ctx context.Context, e env, f *runFlags, plan *runPlan, workerUp bool) (stop func(), err error) {
	horizons, _ := f.boot.parseHorizons() // checked by parseRunFlags
	reg, err := registry.Open(f.dataDir)
	if err != nil {
		return nil, err
	}
	for _, p := range plan.pairs {
		for _, h := range horizons {
			if _, err := reg.EnsureBaseline(ctx, p, h); err != nil {
				return nil, fmt.Errorf("baseline %s h%d: %w", p, h, err)
			}
		}
	}
	if !f.boot.enabled {
		return func() {}, nil
	}
	if !workerUp {
		e.logger.Warn("bootstrap skipped without Temporal: serving the models the registry holds (at least the zero-return baseline)")
		return func() {}, nil
	}
	// Planned before the stream writes: what the store lacks up to now.
	req := workflows.BootstrapRequest{Pairs: plan.pairs, Horizons: horizons, DataDir: f.dataDir, Trials: f.boot.trials,
		Backfills: backfillRequests(e, f, plan, time.Now()), RetrainEvery: f.boot.retrainEvery}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := startBootstrap(ctx, e, f, req); err != nil && ctx.Err() == nil {
			e.logger.Warn("bootstrap not started: serving the models the registry holds", "err", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// startBootstrap starts (or attaches to) the Bootstrap workflow, prints its
// IDs and UI link, and logs its progress until it ends or ctx is done.
func startBootstrap(ctx context.Context, e env, f *runFlags, req workflows.BootstrapRequest) error {
	c, err := dialTemporal(ctx, e, f.temporal)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := temporalclient.StartBootstrap(ctx, c, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "bootstrap %s run %s\n%s/namespaces/%s/workflows/%s\n",
		run.GetID(), run.GetRunID(), strings.TrimRight(f.uiURL, "/"), f.temporal.namespace, run.GetID())
	e.logger.Info("bootstrap running in Temporal (backfill, training, schedules); streaming meanwhile", "id", run.GetID(),
		"backfills", len(req.Backfills), "pairs", strings.Join(req.Pairs, ","))
	return watchBootstrap(ctx, e, c, run, bootstrapLogEvery)
}

// bootstrapLogEvery is how often `run` looks at the bootstrap's progress.
const bootstrapLogEvery = 5 * time.Second

// watchBootstrap logs each step of the bootstrap as it changes, and the
// progress of a running backfill, until the workflow closes.
func watchBootstrap(ctx context.Context, e env, c client.Client, run client.WorkflowRun, every time.Duration) error {
	done := make(chan error, 1)
	var res workflows.BootstrapResult
	go func() { done <- run.Get(ctx, &res) }()
	seen := map[string]string{}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("bootstrap %s: %w", run.GetID(), err)
			}
			logSteps(e, res, seen)
			e.logger.Info("bootstrap completed", "id", run.GetID(), "steps", len(res.Steps))
			return nil
		case <-tick.C:
			qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			p, err := temporalclient.QueryBootstrapProgress(qctx, c, run.GetID())
			if err == nil {
				logSteps(e, p, seen)
				logBackfills(qctx, e, c, p, seen)
			}
			cancel()
		case <-ctx.Done():
			return nil
		}
	}
}

// logSteps logs the steps whose status changed since the last call.
func logSteps(e env, p workflows.BootstrapProgress, seen map[string]string) {
	for _, s := range p.Steps {
		k := s.Kind + " " + s.Target
		if seen[k] == s.Status {
			continue
		}
		seen[k] = s.Status
		level := slog.LevelInfo
		if s.Status == workflows.StepFailed {
			level = slog.LevelWarn
		}
		e.logger.Log(context.Background(), level, "bootstrap step", "kind", s.Kind, "target", s.Target, "id", s.ID, "status", s.Status, "detail", s.Detail)
	}
}

// logBackfills logs the progress of the running backfill children.
func logBackfills(ctx context.Context, e env, c client.Client, p workflows.BootstrapProgress, seen map[string]string) {
	for _, s := range p.Steps {
		if s.Kind != workflows.StepBackfill || s.Status != workflows.StepRunning {
			continue
		}
		bp, err := temporalclient.QueryProgress(ctx, c, s.ID)
		if err != nil {
			continue
		}
		line := progressLine(bp)
		if seen[s.ID] != line {
			seen[s.ID] = line
			e.logger.Info("bootstrap backfill", "id", s.ID, "progress", line)
		}
	}
}

// backfillRequests are what the store lacks: live, the Kraken REST trades
// from the end of each pair's stored candles (at most --backfill-days ago)
// to now; replaying candle files, what the files hold before the streamed part.
func backfillRequests(e env, f *runFlags, plan *runPlan, now time.Time) []workflows.BackfillRequest {
	var reqs []workflows.BackfillRequest
	if plan.live {
		if req, ok := topUpRequest(f, plan, now); ok {
			reqs = append(reqs, req)
		}
		return reqs
	}
	for _, s := range plan.sources {
		switch {
		case storeHolds(f.dataDir, parquet.DatasetCandles, s.Pair):
		case !s.Candles:
			e.logger.Info("bootstrap: a trade file replays whole: nothing to backfill", "pair", s.Pair)
		case !s.Backfill:
			e.logger.Info("bootstrap: the candle files hold nothing before the streamed part: nothing to backfill", "pair", s.Pair)
		default:
			reqs = append(reqs, workflows.BackfillRequest{Pairs: []string{s.Pair}, Source: workflows.SourceArchive,
				Files: s.Files, To: s.Split, DataDir: f.dataDir})
		}
	}
	return reqs
}

// storeHolds tells whether the store has any file of dataset d for pair.
func storeHolds(dataDir string, d parquet.Dataset, pair string) bool {
	parts, err := parquet.Partitions(datadir.Parquet(dataDir), d, pair, time.Time{}, time.Time{})
	return err == nil && len(parts) > 0
}

// topUpRequest is, live, the Kraken backfill from the end of each pair's
// stored candles (within --backfill-days; a pair without candles gets all
// those days) to the current minute, so that the store reaches the stream's
// first candles and a later restart warm-starts from it.
func topUpRequest(f *runFlags, plan *runPlan, now time.Time) (workflows.BackfillRequest, bool) {
	var req workflows.BackfillRequest
	if !plan.live || f.boot.backfillDays <= 0 {
		return req, false
	}
	to := now.UTC().Truncate(time.Minute)
	floor := to.AddDate(0, 0, -f.boot.backfillDays)
	from := to
	for _, p := range plan.pairs {
		cs, err := parquet.ReadCandles(datadir.Parquet(f.dataDir), p, floor, time.Time{})
		end := floor
		if err == nil && len(cs) > 0 {
			end = cs[len(cs)-1].End
		}
		if end.Before(to) {
			req.Pairs = append(req.Pairs, p)
			if end.Before(from) {
				from = end
			}
		}
	}
	if len(req.Pairs) == 0 {
		return req, false
	}
	req.Source, req.From, req.To, req.DataDir = workflows.SourceKraken, from, to, f.dataDir
	return req, true
}
