package connect

import (
	"context"
	"fmt"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// RunCLI runs the Benthos CLI (run, lint, test, streams, list, ...) with our
// plugins, as binaryName (what its help and errors call it); args exclude
// the binary name. A pipeline that selects tickcast_prometheus (the stage
// pipelines) is scraped at Benthos' http.address /metrics. A non-zero exit
// code is an error; Benthos has printed why.
func RunCLI(ctx context.Context, deps Deps, binaryName string, args []string) error {
	env, err := NewEnvironment(deps)
	if err != nil {
		return err
	}
	if err := NewMetrics().RegisterExporter(env); err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "test" {
		if err := RegisterGlobal(deps); err != nil {
			return err
		}
	}
	code, err := service.RunCLIToCode(ctx,
		service.CLIOptSetEnvironment(env),
		service.CLIOptSetArgs(append([]string{binaryName}, args...)...),
		service.CLIOptSetBinaryName(binaryName),
		service.CLIOptSetProductName("tickcast pipelines"),
	)
	if err != nil {
		return fmt.Errorf("benthos cli: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("exit code %d", code)
	}
	return nil
}
