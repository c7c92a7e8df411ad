package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/workflows"
)

type trainFlags struct {
	temporal        temporalFlags
	pair, from, to  string
	dataDir         string
	horizon, trials int
	folds, conc     int
	maxRows, rounds int
	seed            int64
	launch          launchFlags
}

// register declares the flags train and schedules apply share.
func (f *trainFlags) register(fs *flag.FlagSet, e env) {
	f.temporal.register(fs, e.getenv)
	fs.StringVar(&f.pair, "pair", "", "pair to train, any spelling (ETH/USDT)")
	fs.IntVar(&f.horizon, "horizon", workflows.DefaultHorizon, "candles ahead to predict")
	fs.IntVar(&f.trials, "trials", workflows.DefaultTrials, "parameter sets tried (random search + successive halving)")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "data directory (as the worker sees it): the store, datasets, reports, registry")
	fs.StringVar(&f.from, "from", "", "first feature time included, RFC3339 (default: all the store holds)")
	fs.StringVar(&f.to, "to", "", "first feature time excluded, RFC3339 (default: all the store holds)")
	fs.Int64Var(&f.seed, "seed", 0, "seed of the parameter sampling and the model")
	fs.IntVar(&f.folds, "folds", workflows.DefaultFolds, "walk-forward CV folds per trial")
	fs.IntVar(&f.conc, "concurrency", workflows.DefaultTrainConcurrency, "trials at once (one thread each)")
	fs.IntVar(&f.maxRows, "max-rows", 0, fmt.Sprintf("training rows per fold at the last rung (default %d)", workflows.DefaultMaxRows))
	fs.IntVar(&f.rounds, "rounds", 0, fmt.Sprintf("boosting rounds at most (default %d; early stopping)", workflows.DefaultRounds))
}

func (f *trainFlags) request() (workflows.TrainRequest, error) {
	req := workflows.TrainRequest{Pair: f.pair, Horizon: f.horizon, Trials: f.trials, Seed: f.seed, Folds: f.folds,
		Concurrency: f.conc, MaxRows: f.maxRows, Rounds: f.rounds}
	var err error
	if req.From, err = parseTime("from", f.from); err != nil {
		return req, fmt.Errorf("%w: %w", err, errUsage)
	}
	if req.To, err = parseTime("to", f.to); err != nil {
		return req, fmt.Errorf("%w: %w", err, errUsage)
	}
	if req.DataDir, err = filepath.Abs(f.dataDir); err != nil {
		return req, err
	}
	n, err := req.Normalize()
	if err != nil {
		return req, fmt.Errorf("train: %w: %w", err, errUsage)
	}
	return n, nil
}

func parseTrainFlags(e env, args []string) (*trainFlags, error) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &trainFlags{}
	f.register(fs, e)
	f.launch.register(fs, e, "follow the training; exit 0 once it completed, printing the report folder")
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("train: unexpected arguments %v: %w", fs.Args(), errUsage)
	}
	return f, nil
}

// cmdTrain starts Train (or attaches to the one running for the pair and
// horizon) and, with --wait, follows it to the end.
func cmdTrain(ctx context.Context, e env, args []string) error {
	f, err := parseTrainFlags(e, args)
	if err != nil {
		return err
	}
	req, err := f.request()
	if err != nil {
		return err
	}
	start := func(ctx context.Context, c client.Client) (client.WorkflowRun, error) {
		return temporalclient.StartTrain(ctx, c, req)
	}
	return launch(ctx, e, f.temporal, f.launch, "train", req.DataDir, start, followTrain)
}

// followTrain follows Train, showing trainLine, to its result.
var followTrain = follower[workflows.TrainResult, workflows.TrainProgress]{kind: "train",
	query: temporalclient.QueryTrainProgress, print: printTrainResult,
	show: func(lw *lineWriter, p workflows.TrainProgress) { lw.show(trainLine(p)) }}.follow

// trainLine is the training's state in words; equal lines mean no change.
func trainLine(p workflows.TrainProgress) string {
	var b strings.Builder
	b.WriteString(p.Phase)
	if p.Dataset != nil {
		fmt.Fprintf(&b, "  rows %d", p.Dataset.Rows)
	}
	t := p.Tune
	if t.Total > 0 {
		fmt.Fprintf(&b, "  trials %d/%d  rung %d/%d", t.Done, t.Total, t.Rung+1, t.Rungs)
	}
	best := p.Best
	if best == nil {
		best = t.Best
	}
	if best != nil {
		fmt.Fprintf(&b, "  best CV MAE %.6g (trial %d, rung %d)", best.Score, best.ID, best.Rung+1)
	}
	if p.Version > 0 {
		fmt.Fprintf(&b, "  version %d", p.Version)
	}
	return b.String()
}

func printTrainResult(w io.Writer, r workflows.TrainResult) {
	status := "challenger"
	if r.Champion {
		status = "champion"
	}
	fmt.Fprintf(w, "%s h%d version %d: %s\n  %s\n", r.Pair, r.Horizon, r.Version, status, r.Reason)
	fmt.Fprintf(w, "  test rows %d  model MAE %.6g  zero-return MAE %.6g  skill %s  dir acc %s\n",
		r.TestRows, r.ModelMAE, r.BaselineMAE, metric(r.Metrics, "skill"), metric(r.Metrics, "dir_acc"))
	fmt.Fprintf(w, "report %s\n", r.ReportDir)
}

// metric formats an optional metric: undefined ones (a model that never
// predicts a direction has no directional accuracy) are absent.
func metric(m map[string]float64, key string) string {
	v, ok := m[key]
	if !ok {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}
