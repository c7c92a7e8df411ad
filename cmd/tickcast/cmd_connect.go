package main

import (
	"context"
	"fmt"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/connect"
	"github.com/tickcast/tickcast/online"
)

// cmdConnect is the Benthos CLI with our plugins: users run, lint and unit
// test their YAML pipelines with it.
func cmdConnect(ctx context.Context, e env, args []string) error {
	if err := checkKrakenEnv(e, args); err != nil {
		return err
	}
	deps := connect.Deps{Logger: e.logger, Latest: &online.Latest{}}
	benv, err := connect.NewEnvironment(deps)
	if err != nil {
		return err
	}
	// A pipeline that selects tickcast_prometheus (the stage pipelines) is
	// scraped at Benthos' http.address /metrics.
	m := connect.NewMetrics()
	if err := m.RegisterExporter(benv); err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "test" {
		if err := connect.RegisterGlobal(deps); err != nil {
			return err
		}
	}
	code, err := service.RunCLIToCode(ctx,
		service.CLIOptSetEnvironment(benv),
		service.CLIOptSetArgs(append([]string{"tickcast connect"}, args...)...),
		service.CLIOptSetBinaryName("tickcast connect"),
		service.CLIOptSetProductName("tickcast pipelines"),
	)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("connect: exit code %d", code)
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
