package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/connect"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/workflows"
)

// bootFlags say what `run` does before streaming so that it predicts with
// trained models from the first live candle.
type bootFlags struct {
	enabled      bool
	backfillDays int
	horizons     string
	trials       int
	retrainEvery time.Duration
}

func (b *bootFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&b.enabled, "bootstrap", true, "with Temporal: backfill the pairs the store lacks, then train every pair × horizon that has no trained model")
	fs.IntVar(&b.backfillDays, "backfill-days", 7, "live: days of Kraken REST trades a pair without candles is backfilled with (replays backfill what comes before the streamed part)")
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
		if err != nil || h < 1 || h > 1440 {
			return nil, fmt.Errorf("horizon %q: want 1…1440", s)
		}
		hs = append(hs, h)
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("--horizons %q: want at least one", b.horizons)
	}
	slices.Sort(hs)
	return slices.Compact(hs), nil
}

// bootstrap makes sure every pair × horizon has a champion: the zero-return
// baseline at least; with Temporal (workerUp), a backfill of the pairs the
// store lacks and a training of the series without a trained model, waited
// for. Failures of single steps are logged: the system serves what it has.
func bootstrap(ctx context.Context, e env, f *runFlags, plan *runPlan, workerUp bool) error {
	horizons, _ := f.boot.parseHorizons() // checked by parseRunFlags
	reg, err := registry.Open(f.dataDir)
	if err != nil {
		return err
	}
	for _, p := range plan.pairs {
		for _, h := range horizons {
			if _, err := reg.EnsureBaseline(ctx, p, h); err != nil {
				return fmt.Errorf("baseline %s h%d: %w", p, h, err)
			}
		}
	}
	if !f.boot.enabled {
		return nil
	}
	if !workerUp {
		e.logger.Warn("bootstrap skipped without Temporal: serving the models the registry holds (at least the zero-return baseline)")
		return nil
	}
	l := launchFlags{wait: true, worker: false, uiURL: f.uiURL}
	for _, req := range backfillRequests(e, f, plan) {
		e.logger.Info("bootstrap: backfilling", "pairs", strings.Join(req.Pairs, ","), "source", req.Source,
			"from", fmtTime(req.From), "to", fmtTime(req.To))
		start := func(ctx context.Context, c client.Client) (client.WorkflowRun, error) {
			return workflows.StartBackfill(ctx, c, req)
		}
		if err := launch(ctx, e, f.temporal, l, "backfill", f.dataDir, start, follow); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.logger.Warn("bootstrap: backfill failed; going on", "pairs", strings.Join(req.Pairs, ","), "err", err)
		}
	}
	for _, p := range plan.pairs {
		for _, h := range horizons {
			if ctx.Err() != nil {
				return nil
			}
			bootTrain(ctx, e, f, l, reg, p, h)
		}
	}
	applySchedules(ctx, e, f, plan.pairs, horizons)
	if req, ok := topUpRequest(f, plan, time.Now()); ok && ctx.Err() == nil {
		e.logger.Info("bootstrap: topping the store up to now, so that the stream starts warm", "pairs", strings.Join(req.Pairs, ","),
			"from", fmtTime(req.From), "to", fmtTime(req.To))
		start := func(ctx context.Context, c client.Client) (client.WorkflowRun, error) {
			return workflows.StartBackfill(ctx, c, req)
		}
		if err := launch(ctx, e, f.temporal, l, "backfill", f.dataDir, start, follow); err != nil && ctx.Err() == nil {
			e.logger.Warn("bootstrap: top-up backfill failed; the stream may start cold", "err", err)
		}
	}
	return nil
}

// topUpRequest is, live, the Kraken backfill from the end of each pair's
// stored candles (within --backfill-days) to the current minute: the store
// then reaches the stream's first candle, which warm start needs, however
// long the bootstrap took or however old the store was.
func topUpRequest(f *runFlags, plan *runPlan, now time.Time) (workflows.BackfillRequest, bool) {
	var req workflows.BackfillRequest
	if !plan.live || f.boot.backfillDays <= 0 {
		return req, false
	}
	to := now.UTC().Truncate(time.Minute)
	floor := to.AddDate(0, 0, -f.boot.backfillDays)
	from := to
	for _, p := range plan.pairs {
		cs, err := parquet.ReadCandles(connect.ParquetDir(f.dataDir), p, floor, time.Time{})
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

// bootTrain trains pair at horizon h unless the registry has a trained
// version of it or the store has no features to train on.
func bootTrain(ctx context.Context, e env, f *runFlags, l launchFlags, reg *registry.Registry, pair string, h int) {
	metas, err := reg.List(ctx, pair, h)
	if err != nil {
		e.logger.Warn("bootstrap: registry", "pair", pair, "horizon", h, "err", err)
		return
	}
	if slices.ContainsFunc(metas, func(m registry.Meta) bool { return m.Version > 0 }) {
		return
	}
	if !storeHolds(f.dataDir, parquet.DatasetFeatures, pair) {
		e.logger.Warn("bootstrap: no features stored to train on; serving the zero-return baseline", "pair", pair, "horizon", h)
		return
	}
	req, err := workflows.TrainRequest{Pair: pair, Horizon: h, Trials: f.boot.trials, DataDir: f.dataDir}.Normalize()
	if err != nil {
		e.logger.Warn("bootstrap: train request", "pair", pair, "horizon", h, "err", err)
		return
	}
	e.logger.Info("bootstrap: training (tune, fit, evaluate, gate, promote)", "pair", pair, "horizon", h, "trials", req.Trials)
	start := func(ctx context.Context, c client.Client) (client.WorkflowRun, error) {
		return workflows.StartTrain(ctx, c, req)
	}
	if err := launch(ctx, e, f.temporal, l, "train", f.dataDir, start, followTrain); err != nil && ctx.Err() == nil {
		e.logger.Warn("bootstrap: training failed; serving the current champion", "pair", pair, "horizon", h, "err", err)
	}
}

// applySchedules creates (or updates: it is idempotent) the retraining
// schedule of every pair × horizon, so that models follow the market
// without anyone starting a training; each run is visible in the Temporal UI.
func applySchedules(ctx context.Context, e env, f *runFlags, pairs []string, horizons []int) {
	if f.boot.retrainEvery <= 0 || ctx.Err() != nil {
		return
	}
	c, err := dialTemporal(ctx, e, f.temporal)
	if err != nil {
		e.logger.Warn("bootstrap: no retraining schedules", "err", err)
		return
	}
	defer c.Close()
	for _, p := range pairs {
		for _, h := range horizons {
			req := workflows.TrainRequest{Pair: p, Horizon: h, Trials: f.boot.trials, DataDir: f.dataDir}
			created, err := workflows.ApplySchedule(ctx, c, req, f.boot.retrainEvery)
			if err != nil {
				e.logger.Warn("bootstrap: retraining schedule", "pair", p, "horizon", h, "err", err)
				continue
			}
			e.logger.Info("bootstrap: retraining schedule", "id", workflows.ScheduleID(req), "every", f.boot.retrainEvery, "created", created)
		}
	}
}

// backfillRequests are the backfills of the pairs whose candles the store
// lacks: live, Kraken REST trades of the last --backfill-days; replaying
// candle files, what the files hold before the streamed part.
func backfillRequests(e env, f *runFlags, plan *runPlan) []workflows.BackfillRequest {
	var reqs []workflows.BackfillRequest
	if plan.live {
		var missing []string
		for _, p := range plan.pairs {
			if !storeHolds(f.dataDir, parquet.DatasetCandles, p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 && f.boot.backfillDays > 0 {
			to := time.Now().UTC().Truncate(time.Minute)
			reqs = append(reqs, workflows.BackfillRequest{Pairs: missing, Source: workflows.SourceKraken,
				From: to.AddDate(0, 0, -f.boot.backfillDays), To: to, DataDir: f.dataDir})
		}
		return reqs
	}
	for _, s := range plan.sources {
		switch {
		case storeHolds(f.dataDir, parquet.DatasetCandles, s.pair):
		case !s.candles:
			e.logger.Info("bootstrap: a trade file replays whole: nothing to backfill", "pair", s.pair)
		case !s.backfill:
			e.logger.Info("bootstrap: the candle files hold nothing before the streamed part: nothing to backfill", "pair", s.pair)
		default:
			reqs = append(reqs, workflows.BackfillRequest{Pairs: []string{s.pair}, Source: workflows.SourceArchive,
				Files: s.files, To: s.split, DataDir: f.dataDir})
		}
	}
	return reqs
}

// storeHolds tells whether the store has any file of dataset d for pair.
func storeHolds(dataDir string, d parquet.Dataset, pair string) bool {
	parts, err := parquet.Partitions(connect.ParquetDir(dataDir), d, pair, time.Time{}, time.Time{})
	return err == nil && len(parts) > 0
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "start"
	}
	return t.UTC().Format(time.RFC3339)
}
