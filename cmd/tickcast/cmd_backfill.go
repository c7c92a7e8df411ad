package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/workflows"
)

// listFlag is a repeatable flag whose values may also be comma lists.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

type backfillFlags struct {
	temporal               temporalFlags
	pairs, files           listFlag
	source, from, to       string
	dataDir, interval      string
	chunkDays, concurrency int
	launch                 launchFlags
	kraken                 krakenFlags
}

func parseBackfillFlags(e env, args []string) (*backfillFlags, error) {
	fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &backfillFlags{}
	f.temporal.register(fs, e.getenv)
	fs.Var(&f.pairs, "pair", "pair, any spelling (repeat, or comma-separated); archive: default from the file names")
	fs.Var(&f.files, "files", "archive files (repeat, or comma-separated): Kraken OHLCVT or trade CSVs, Binance klines; .gz ok")
	fs.StringVar(&f.source, "source", "", "kraken (REST trades) or archive (files); default archive when --files is given")
	fs.StringVar(&f.from, "from", "", "first time included, RFC3339 (kraken default: 90 days before --to)")
	fs.StringVar(&f.to, "to", "", "first time excluded, RFC3339 (kraken default: now; archive: the files' end)")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "data directory to fill (as the worker sees it)")
	fs.StringVar(&f.interval, "interval", "", "candle interval for trade sources (default 1m)")
	fs.IntVar(&f.chunkDays, "chunk-days", 0, "days per activity (default 1 for kraken, 7 for archive)")
	fs.IntVar(&f.concurrency, "concurrency", 0, "activities of this backfill at once (default 4)")
	f.launch.register(fs, e, "follow the backfill with a progress bar; exit 0 once it completed")
	f.kraken.register(fs, e.getenv, false)
	f.launch.kraken = &f.kraken
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if err := f.kraken.resolve(); err != nil {
		return nil, fmt.Errorf("backfill: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("backfill: unexpected arguments %v: %w", fs.Args(), errUsage)
	}
	return f, nil
}

// request turns the flags into a request with absolute paths (the worker
// resolves them, maybe in another directory) and checks it.
func (f *backfillFlags) request() (workflows.BackfillRequest, error) {
	req := workflows.BackfillRequest{Pairs: f.pairs, Source: f.source, Interval: f.interval,
		ChunkDays: f.chunkDays, Concurrency: f.concurrency}
	var err error
	if req.From, err = parseTime("from", f.from); err != nil {
		return req, err
	}
	if req.To, err = parseTime("to", f.to); err != nil {
		return req, err
	}
	if req.DataDir, err = filepath.Abs(f.dataDir); err != nil {
		return req, err
	}
	for _, p := range f.files {
		abs, err := filepath.Abs(p)
		if err != nil {
			return req, err
		}
		req.Files = append(req.Files, abs)
	}
	if _, err := req.Normalize(); err != nil {
		return req, fmt.Errorf("backfill: %w: %w", err, errUsage)
	}
	return req, nil
}

// cmdBackfill starts a backfill (or attaches to the identical one running)
// and, with --wait, follows it to the end.
func cmdBackfill(ctx context.Context, e env, args []string) error {
	f, err := parseBackfillFlags(e, args)
	if err != nil {
		return err
	}
	req, err := f.request()
	if err != nil {
		return err
	}
	start := func(ctx context.Context, c client.Client) (client.WorkflowRun, error) {
		return temporalclient.StartBackfill(ctx, c, req)
	}
	f.launch.archives = req.Files // the --wait worker reads these files, and writes the data dir only
	return launch(ctx, e, f.temporal, f.launch, "backfill", req.DataDir, start, follow)
}

// embeddedWorker runs a worker in this process (over dataDir, reading l's
// archive files, fetching from l's REST endpoint when given) until the
// returned stop is called, so
// that a --wait command works on its own; other workers polling the queue
// share the work. Whether any is polling cannot be told reliably (the server
// lists pollers for a while after they left).
func embeddedWorker(e env, c client.Client, dataDir string, l launchFlags) (stop func()) {
	o := defaultWorkerOptions(e.getenv, dataDir)
	if l.kraken != nil {
		o.kraken = *l.kraken
	}
	o.archives = l.archives
	w, err := newWorker(c, e, o)
	if err == nil {
		err = w.Start()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "no worker could start in this process (%v): waiting for other workers on task queue %q\n", err, workflows.TaskQueue)
		return func() {}
	}
	return w.Stop
}

// follow follows a backfill, with a progress bar, to its per-pair counts.
var follow = follower[workflows.BackfillResult, workflows.Progress]{kind: "backfill",
	query: temporalclient.QueryProgress, show: showProgress, final: completed, print: printResult}.follow

func completed(res workflows.BackfillResult) workflows.Progress {
	p := workflows.Progress{Phase: workflows.PhaseCompleted, Pairs: res.Pairs}
	for _, r := range res.Pairs {
		p.Total += 2 * r.Chunks
	}
	p.Done = p.Total
	return p
}

func printResult(w io.Writer, res workflows.BackfillResult) {
	for _, p := range res.Pairs {
		fmt.Fprintf(w, "%-10s %s … %s  chunks %d  %s in %d  candles %d (empty %d)  features %d\n",
			p.Pair, p.From.Format(time.RFC3339), p.To.Format(time.RFC3339), p.Chunks, p.Kind, p.Rows, p.Candles, p.Empty, p.Features)
	}
}

// isTerminal tells a terminal from a pipe or file, without a dependency.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

const barWidth = 24

// showProgress shows p's line, after a bar of its done/total on a terminal.
func showProgress(lw *lineWriter, p workflows.Progress) {
	line := progressLine(p)
	fill := 0
	if p.Total > 0 {
		fill = barWidth * p.Done / p.Total
	}
	lw.showTTY(line, fmt.Sprintf("[%s%s] %s ", strings.Repeat("#", fill), strings.Repeat(".", barWidth-fill), line))
}

// progressLine is the state in words; equal lines mean no change.
func progressLine(p workflows.Progress) string {
	var imported, built, chunks, rows, candles, features int
	for _, r := range p.Pairs {
		imported, built, chunks = imported+r.Imported, built+r.Built, chunks+r.Chunks
		rows, candles, features = rows+r.Rows, candles+r.Candles, features+r.Features
	}
	pct := 0
	if p.Total > 0 {
		pct = 100 * p.Done / p.Total
	}
	return fmt.Sprintf("%s %3d%%  imported %d/%d  built %d/%d chunks  rows %d  candles %d  features %d",
		p.Phase, pct, imported, chunks, built, chunks, rows, candles, features)
}
