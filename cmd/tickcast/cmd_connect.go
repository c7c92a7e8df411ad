package main

import (
	"context"
	"fmt"

	"github.com/tickcast/tickcast/connect"
	"github.com/tickcast/tickcast/online"
)

// cmdConnect is the Benthos CLI with our plugins: users run, lint and unit
// test their YAML pipelines with it. bin/tickcast-connect is the same CLI in a
// binary of its own, lean for the stage processes.
func cmdConnect(ctx context.Context, e env, args []string) error {
	if err := checkKrakenEnv(e, args); err != nil {
		return err
	}
	deps := connect.Deps{Logger: e.logger, Latest: &online.Latest{}}
	if err := connect.RunCLI(ctx, deps, "tickcast connect", args); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// checkKrakenEnv refuses to run pipelines whose $TICKCAST_KRAKEN_WS_URL is
// not the public Kraken while $TICKCAST_KRAKEN_REST_URL is unset: live.yaml
// would repair gaps from api.kraken.com, another exchange than the stream's.
func checkKrakenEnv(e env, args []string) error {
	if len(args) == 0 || (args[0] != "run" && args[0] != "streams") {
		return nil
	}
	k := krakenFlags{ws: e.getenv(envKrakenWS), rest: e.getenv(envKrakenREST)}
	if err := k.resolve(); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}
