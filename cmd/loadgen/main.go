// Command loadgen is a development load generator for tickcast (not part
// of the product): an open-loop HTTP load at a constant rate, and a
// WebSocket fan-out client that measures prediction delivery latency.
//
//	loadgen http --url http://127.0.0.1:8080/v1/predictions/ETH-USDT --rate 5000 --duration 20s --conns 64 [--header K:V]
//	loadgen ws --url ws://127.0.0.1:8080/v1/stream --clients 1000 --duration 60s
//
// Each prints a one-line JSON summary, then a line for people.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  loadgen http --url URL [--rate 5000] [--duration 20s] [--conns 64] [--header K:V]... [--method GET] [--timeout 10s]
  loadgen ws   --url ws://HOST/v1/stream[?pairs=...] [--clients 1000] [--duration 60s] [--dial-concurrency 64]`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no mode given\n%s", usage)
	}
	switch args[0] {
	case "http":
		return runHTTP(ctx, args[1:], stdout, stderr)
	case "ws":
		return runWS(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown mode %q\n%s", args[0], usage)
}
