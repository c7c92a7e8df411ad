package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/connect"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/workflows"
)

const (
	defaultPipeline = "connect/pipelines/live.yaml"
	krakenWSURL     = "wss://ws.kraken.com/v2"
	// offlineSpeed is the default replay speed of the offline demo: an hour of
	// real trades in six minutes.
	offlineSpeed = "10"
)

type runFlags struct {
	fake       fakeFlags
	dataDir    string
	pipeline   string
	pairs      string
	interval   string
	grace      string
	exitAtEnd  bool
	offline    bool
	krakenURL  string
	probeWait  time.Duration
	backoffMin string
	worker     bool
}

func parseRunFlags(e env, args []string) (*runFlags, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &runFlags{}
	f.fake.register(fs)
	fs.StringVar(&f.dataDir, "data-dir", "./data", "data directory (Parquet store, late trades, dead letters)")
	fs.StringVar(&f.pipeline, "pipeline", defaultPipeline, "pipeline YAML (the embedded copy when the file is absent)")
	fs.StringVar(&f.pairs, "pairs", "BTC/USD,ETH/USD", "pairs to stream live")
	fs.StringVar(&f.interval, "interval", "1m", "candle interval")
	fs.StringVar(&f.grace, "grace", "2s", "grace period for out-of-order trades")
	fs.BoolVar(&f.exitAtEnd, "exit-at-end", false, "with --replay: flush the last window and exit when the file is done")
	fs.BoolVar(&f.offline, "offline", false, "do not try live Kraken: replay real data through the fake Kraken")
	fs.StringVar(&f.krakenURL, "kraken-url", krakenWSURL, "Kraken WebSocket v2 endpoint")
	fs.DurationVar(&f.probeWait, "probe-timeout", 3*time.Second, "how long to wait for Kraken before going offline")
	fs.StringVar(&f.backoffMin, "backoff-min", "1s", "first reconnect delay")
	fs.BoolVar(&f.worker, "worker", true, "run a Temporal worker in-process (backfills) when Temporal answers at $TEMPORAL_ADDRESS (default 127.0.0.1:7233)")
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	speedSet := false
	fs.Visit(func(fl *flag.Flag) { speedSet = speedSet || fl.Name == "speed" })
	if !speedSet && f.fake.replay == "" {
		f.fake.speed = offlineSpeed
	}
	return f, nil
}

// cmdRun runs the pipeline in-process against live Kraken or, offline or
// with --replay, against the fake Kraken replaying real trades.
func cmdRun(ctx context.Context, e env, args []string) error {
	f, err := parseRunFlags(e, args)
	if err != nil {
		return err
	}
	vars := map[string]string{
		"TICKCAST_DATA_DIR":    f.dataDir,
		"TICKCAST_PAIRS":       f.pairs,
		"TICKCAST_INTERVAL":    f.interval,
		"TICKCAST_GRACE":       f.grace,
		"TICKCAST_BACKOFF_MIN": f.backoffMin,
	}
	if f.fake.replay == "" && !f.offline && reachable(ctx, f.krakenURL, f.probeWait) {
		vars["TICKCAST_KRAKEN_WS_URL"] = f.krakenURL
		e.logger.Info("streaming live from Kraken", "url", f.krakenURL, "pairs", f.pairs)
	} else {
		stop, err := startFake(e, f, vars)
		if err != nil {
			return err
		}
		defer stop()
	}
	if f.worker && !f.exitAtEnd {
		stop := startWorkerInBackground(ctx, e, f.dataDir, vars["TICKCAST_KRAKEN_REST_URL"])
		defer stop()
	}
	return runPipeline(ctx, e, f.pipeline, vars)
}

// startWorkerInBackground runs the backfill worker in this process when a
// Temporal server answers; without one the pipeline runs on alone. Offline,
// the worker's Kraken REST is the fake Kraken's.
func startWorkerInBackground(ctx context.Context, e env, dataDir, restURL string) (stop func()) {
	o := defaultWorkerOptions(e.getenv, dataDir)
	if restURL != "" {
		o.krakenURL, o.krakenRate = restURL, -1
	}
	var (
		mu       sync.Mutex
		stopW    func()
		finished = make(chan struct{})
	)
	go func() {
		defer close(finished)
		s, err := startWorker(ctx, e, o)
		if err != nil {
			e.logger.Warn("no Temporal worker: backfills need a Temporal server (make temporal)", "err", err)
			return
		}
		e.logger.Info("Temporal worker running", "temporal", o.temporal.address, "task_queue", workflows.TaskQueue,
			"ui", "http://127.0.0.1:8233")
		mu.Lock()
		stopW = s
		mu.Unlock()
	}()
	return func() {
		<-finished
		mu.Lock()
		defer mu.Unlock()
		if stopW != nil {
			stopW()
		}
	}
}

// startFake starts the fake Kraken on loopback and points the pipeline at it.
func startFake(e env, f *runFlags, vars map[string]string) (func(), error) {
	if f.fake.replay == "" {
		p, err := defaultReplayFile()
		if err != nil {
			return nil, err
		}
		f.fake.replay = p
		e.logger.Info("Kraken unreachable or --offline: replaying real trades through the fake Kraken", "file", p, "speed", f.fake.speed)
	}
	srv, pairs, last, err := f.fake.server(e)
	if err != nil {
		return nil, err
	}
	u, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	speed, _ := parseSpeed(f.fake.speed) // validated by server()
	vars["TICKCAST_KRAKEN_WS_URL"] = u
	// Repairs go to the fake's REST endpoints, which know its trade ids.
	vars["TICKCAST_KRAKEN_REST_URL"] = fakekraken.RESTURL(u)
	vars["TICKCAST_REST_RATE"] = "-1"
	vars["TICKCAST_PAIRS"] = strings.Join(pairs, ",")
	vars["TICKCAST_CLOCK_SPEED"] = strconv.FormatFloat(speed, 'f', -1, 64)
	if f.exitAtEnd {
		vars["TICKCAST_STOP_AT"] = last.UTC().Format(time.RFC3339Nano)
	}
	return func() { srv.Close() }, nil
}

func defaultReplayFile() (string, error) {
	dir, ok := realdata.Dir()
	if !ok {
		return "", errors.New("offline and no real data found: pass --replay FILE or set " + realdata.EnvDir)
	}
	return filepath.Join(dir, realdata.KrakenTrades1h), nil
}

// reachable tells whether Kraken's WebSocket host answers a TCP dial.
func reachable(ctx context.Context, wsURL string, wait time.Duration) bool {
	u, err := url.Parse(wsURL)
	if err != nil {
		return false
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// runPipeline runs a pipeline YAML in-process until it ends or ctx is done.
func runPipeline(ctx context.Context, e env, path string, vars map[string]string) error {
	yaml, err := readPipeline(path)
	if err != nil {
		return err
	}
	latest := &online.Latest{}
	benv, err := connect.NewEnvironment(connect.Deps{Logger: e.logger, Latest: latest})
	if err != nil {
		return err
	}
	b := benv.NewStreamBuilder()
	// Benthos' own INFO lines (component started, ...) are noise next to ours.
	b.SetLogger(slog.New(minLevel{e.logger.Handler(), slog.LevelWarn}))
	b.SetEnvVarLookupFunc(func(name string) (string, bool) {
		if v, ok := vars[name]; ok {
			return v, true
		}
		v := e.getenv(name)
		return v, v != ""
	})
	if err := b.SetYAML(yaml); err != nil {
		return fmt.Errorf("pipeline %s: %w", path, err)
	}
	stream, err := b.Build()
	if err != nil {
		return fmt.Errorf("pipeline %s: %w", path, err)
	}
	e.logger.Info("pipeline running", "pipeline", path, "data_dir", vars["TICKCAST_DATA_DIR"])
	stopReport := reportLatest(e, latest, statusEvery)
	defer stopReport()
	return runStream(ctx, stream, path)
}

// runStream runs until the input ends; on cancellation it stops the stream
// gracefully so that buffered rows reach the store.
func runStream(ctx context.Context, stream *service.Stream, path string) error {
	done := make(chan error, 1)
	go func() { done <- stream.Run(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("pipeline %s: %w", path, err)
		}
		return nil
	case <-ctx.Done():
		if err := stream.StopWithin(shutdownTimeout); err != nil {
			return fmt.Errorf("pipeline %s: stop: %w", path, err)
		}
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("pipeline %s: %w", path, err)
		}
		return nil
	}
}

// statusEvery is how often `run` logs the newest feature row of each pair.
const statusEvery = 15 * time.Second

// reportLatest logs the newest candle close per pair now and then, so that
// whoever runs the system sees it working.
func reportLatest(e env, latest *online.Latest, every time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, r := range latest.All() {
					e.logger.Info("latest features", "pair", r.Pair, "ts", r.TS.Format(time.RFC3339), "close", r.Close, "warm", r.Warm)
				}
			}
		}
	}()
	return func() { close(done) }
}

// minLevel drops records below its level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}

// shutdownTimeout bounds a graceful stop (flushing buffered rows).
const shutdownTimeout = 20 * time.Second

// readPipeline reads the file, or the embedded copy of the same name.
func readPipeline(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return string(b), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	b, embErr := fs.ReadFile(connect.Pipelines, filepath.ToSlash(filepath.Join("pipelines", filepath.Base(path))))
	if embErr != nil {
		return "", fmt.Errorf("pipeline %s: %w", path, err)
	}
	return string(b), nil
}
