// Command tickcast-connect is `tickcast connect` in a binary of its own: the
// Benthos CLI with tickcast's plugins (run, lint, test, streams, list, ...)
// for the stage processes. It links none of what tickcast's other commands
// need (DuckDB, XGBoost, the Temporal SDK), whose pages would count in each
// stage's RSS; internal/deps checks that it stays so.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tickcast/tickcast/connect"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/online"
)

// The Kraken endpoint variables of connect/pipelines/live.yaml and stage-ingest.yaml.
const (
	envKrakenWS   = "TICKCAST_KRAKEN_WS_URL"
	envKrakenREST = "TICKCAST_KRAKEN_REST_URL"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tickcast-connect:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if err := checkKrakenEnv(getenv, args); err != nil {
		return err
	}
	deps := connect.Deps{Logger: newLogger(getenv, stderr), Latest: &online.Latest{}}
	return connect.RunCLI(ctx, deps, "tickcast-connect", args)
}

// checkKrakenEnv refuses, as `tickcast connect` does, to run pipelines whose
// $TICKCAST_KRAKEN_WS_URL is not the public Kraken while
// $TICKCAST_KRAKEN_REST_URL is unset: live.yaml and stage-ingest.yaml would
// repair gaps from api.kraken.com, another exchange than the stream's.
func checkKrakenEnv(getenv func(string) string, args []string) error {
	if len(args) == 0 || (args[0] != "run" && args[0] != "streams") {
		return nil
	}
	_, _, err := kraken.ResolveEndpoints(getenv(envKrakenWS), getenv(envKrakenREST))
	if errors.Is(err, kraken.ErrNoRESTURL) {
		return fmt.Errorf("%w; set $%s to the REST base of the same exchange", err, envKrakenREST)
	}
	return err
}

// newLogger is tickcast's: text on stderr at $TICKCAST_LOG_LEVEL (debug,
// info, warn, error; info by default).
func newLogger(getenv func(string) string, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(getenv("TICKCAST_LOG_LEVEL"))) // unknown or empty: info
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
