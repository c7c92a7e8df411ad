package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
)

// env carries what every command gets from main, so tests can call run.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	logger         *slog.Logger
}

type command struct {
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"run":        {"run the whole system: live Kraken (or replays through the fake Kraken) → pipeline → store at once, the bootstrap (backfill, train) as a Temporal workflow alongside, prediction API + dashboard", cmdRun},
		"serve":      {"serve the prediction API alone (scaled mode, one of many replicas): features from Redis, models from the shared --data-dir", cmdServe},
		"connect":    {"the pipelines CLI (Benthos) with tickcast's plugins: connect run|lint|test|list …", cmdConnect},
		"topics":     {"the Kafka topics of the distributed stages (trades, candles, features; keyed by pair): topics apply --brokers B [--partitions 6] [--replication 1] | topics list --brokers B", cmdTopics},
		"fakekraken": {"serve the protocol-exact fake Kraken (WebSocket v2) replaying real trades", cmdFakeKraken},
		"export":     {"print trades|candles|features from the store: export candles --pair P [--from] [--to] --format csv|jsonl", cmdExport},
		"sql":        {"read-only SQL over the store (DuckDB): views trades, candles, features, predictions, models: sql [--data-dir] [--skip-corrupt] [--format table|csv|json] [QUERY] (statements from stdin without QUERY)", cmdSQL},
		"store":      {"the data directory's files: store check (every unreadable Parquet file; fails if any) | store compact [--keep-days 30] [--max-mb 64] (late, dead-letter, gap files)", cmdStore},
		"worker":     {"run a Temporal worker of tickcast's workflows (Bootstrap, Backfill, Train) and activities (task queue tickcast)", cmdWorker},
		"backfill":   {"start a backfill on Temporal: backfill --pair P --source kraken|archive [--files F] [--from] [--to] [--wait]", cmdBackfill},
		"train":      {"train, tune, evaluate, register and promote a model on Temporal: train --pair P [--horizon H] [--trials N] [--wait]", cmdTrain},
		"backtest":   {"walk-forward backtest of the training loop on Temporal: backtest --pair P[,Q] [--horizon 1,5] [--days 30] [--end YYYY-MM-DD] [--wait]", cmdBacktest},
		"schedules":  {"retraining schedules on Temporal: schedules apply --pair P [--horizon H] [--every 24h] | schedules list", cmdSchedules},
		"runs":       {"the training runs (report folders, like an experiment tracker): runs list [--pair P] [--horizon H] [--format table|json] | show RUN | compare RUN_A RUN_B", cmdRuns},
		"models":     {"the model registry: models list [--pair P] | show champion|latest|N --pair P | promote N --pair P | rollback --pair P | prune [--pair P] [--keep-last N] [--keep-days D] [--apply]", cmdModels},
	}
}

// run is the whole program behind main.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdout: stdout, stderr: stderr, logger: newLogger(getenv, stderr)}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	startPprof(ctx, getenv("TICKCAST_PPROF"), e.logger)
	return cmd.run(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tickcast <command> [flags]\n\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'tickcast <command> -h' for a command's flags.")
}

// newLogger logs text to w at $TICKCAST_LOG_LEVEL (debug, info, warn, error;
// info by default), as cmd/tickcast-connect's does.
func newLogger(getenv func(string) string, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(getenv("TICKCAST_LOG_LEVEL"))) // unknown or empty: info
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// errUsage marks a bad command line (flag parse errors are already printed).
var errUsage = errors.New("bad usage")
