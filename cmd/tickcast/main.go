// Command tickcast is the one binary of tickcast: the embedded system (run),
// the pipelines CLI (connect), the fake Kraken, exports from the store.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tickcast:", err)
		os.Exit(1)
	}
}
