package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/connect"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/replay"
	"github.com/tickcast/tickcast/workflows"
)

const (
	defaultPipeline = "connect/pipelines/live.yaml"
	// offlineSpeed is the default replay speed of the offline demo: a
	// 1-minute candle every 6 seconds.
	offlineSpeed = "10"
)

type runFlags struct {
	fake       fakeFlags
	pairSet    bool
	replayFrom string
	replaySpan time.Duration
	dataDir    string
	pipeline   string
	pairs      string
	interval   string
	grace      string
	exitAtEnd  bool
	offline    bool
	kraken     krakenFlags
	probeWait  time.Duration
	backoffMin string
	worker     bool
	warmStart  bool
	archives   listFlag // more archive files or directories the worker may read
	temporal   temporalFlags
	uiURL      string
	boot       bootFlags
	serve      serveFlags
}

func parseRunFlags(e env, args []string) (*runFlags, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &runFlags{}
	f.fake.register(fs)
	fs.Lookup("replay").Usage = "replay instead of streaming live: a comma list of FILE or PAIR=FILE (ETH/USDT=a.csv.gz,BTC/USD=b.csv); " +
		"real Kraken trade CSVs replay whole, candle files (Binance klines, Kraken OHLCVT) as trades reconstructed from them, split at --replay-from"
	fs.Lookup("pair").Usage = "pair(s) of the --replay files named without PAIR=; when not given, the pair each file's name tells, else this default"
	fs.Lookup("speed").Usage = "replay speed: a multiple of real time, or max (the offline demo without --replay: " + offlineSpeed + ")"
	fs.StringVar(&f.replayFrom, "replay-from", "", "candle files: first candle streamed, RFC3339; the candles before it are backfilled (default: --replay-span before the file's end)")
	fs.DurationVar(&f.replaySpan, "replay-span", replay.DefaultSpan, "candle files without --replay-from: how much of the file's end streams")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "data directory (Parquet store, registry, late trades, dead letters)")
	fs.StringVar(&f.pipeline, "pipeline", defaultPipeline, "pipeline YAML (the embedded copy when the file is absent)")
	fs.StringVar(&f.pairs, "pairs", "BTC/USD,ETH/USD", "pairs to stream live")
	fs.StringVar(&f.interval, "interval", "1m", "candle interval")
	fs.StringVar(&f.grace, "grace", "2s", "grace period for out-of-order trades")
	fs.BoolVar(&f.exitAtEnd, "exit-at-end", false, "with --replay: flush the last window and exit when the file is done (no worker, no bootstrap; serves only with an explicit --http)")
	fs.BoolVar(&f.offline, "offline", false, "do not try live Kraken: replay real data through the fake Kraken")
	f.kraken.register(fs, e.getenv, true)
	fs.DurationVar(&f.probeWait, "probe-timeout", 3*time.Second, "how long to wait for Kraken before going offline")
	fs.StringVar(&f.backoffMin, "backoff-min", "1s", "first reconnect delay")
	fs.BoolVar(&f.worker, "worker", true, "run a Temporal worker in-process when Temporal answers at --temporal-address")
	fs.BoolVar(&f.warmStart, "warm-start", true, "warm each pair's features up from the store's candles on its first live candle")
	fs.Var(&f.archives, "archive-dirs", "directories the in-process worker may read archive files of backfills from, besides --data-dir and the --replay files (repeat, or comma-separated)")
	f.temporal.register(fs, e.getenv)
	fs.StringVar(&f.uiURL, "ui-url", envOr(e.getenv, "TEMPORAL_UI_URL", "http://127.0.0.1:8233"), "Temporal UI, for the links printed and shown ($TEMPORAL_UI_URL)")
	f.boot.register(fs)
	f.serve.register(fs, e)
	f.serve.drift = true
	fs.Lookup("drift").DefValue = "true"
	fs.Lookup("drift").Usage = "while the in-process Temporal worker is up: watch the live rows for drift and start a full Train when a detector fires, at most once per pair × horizon per hour"
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("run: unexpected arguments %v: %w", fs.Args(), errUsage)
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	f.pairSet = set["pair"]
	f.serve.temporal = f.temporal
	if !set["speed"] && f.fake.replay == "" {
		f.fake.speed = offlineSpeed
	}
	if f.exitAtEnd && !set["http"] {
		f.serve.http = ""
	}
	if f.fake.replay == "" && f.fake.historyCandles != "" {
		f.fake.replay = f.fake.historyCandles // the same path: candles replayed as reconstructed trades
	}
	if err := f.kraken.resolve(); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	if _, err := parseSpeed(f.fake.speed); err != nil {
		return nil, fmt.Errorf("run: %w: %w", err, errUsage)
	}
	if _, err := f.boot.parseHorizons(); err != nil {
		return nil, fmt.Errorf("run: %w: %w", err, errUsage)
	}
	if _, err := parseTime("replay-from", f.replayFrom); err != nil {
		return nil, fmt.Errorf("run: %w: %w", err, errUsage)
	}
	return f, nil
}

// runPlan is what a run streams: live Kraken, or replay groups through
// fake Krakens.
type runPlan struct {
	live    bool
	pairs   []string
	groups  []*replay.Group
	sources []*replay.Source
	speed   float64 // market seconds per wall second; 1 live, 0 as fast as possible
}

// planRun decides between live Kraken and a replay and loads the replay.
func planRun(ctx context.Context, e env, f *runFlags) (*runPlan, error) {
	if f.fake.replay == "" && !f.offline && reachable(ctx, f.kraken.ws, f.probeWait) {
		pairs, err := market.SplitPairs(f.pairs)
		if err != nil {
			return nil, err
		}
		return &runPlan{live: true, pairs: pairs, speed: 1}, nil
	}
	list := f.fake.replay
	if list == "" {
		def, err := replay.DefaultOffline()
		if err != nil {
			return nil, err
		}
		list = def
		e.logger.Info("Kraken unreachable or --offline: replaying real Binance candles through the fake Kraken", "speed", f.fake.speed)
	}
	items, err := replay.ParseList(list, f.fake.pair, f.pairSet)
	if err != nil {
		return nil, fmt.Errorf("run: %w: %w", err, errUsage)
	}
	from, _ := parseTime("replay-from", f.replayFrom) // checked by parseRunFlags
	plan := &runPlan{}
	plan.speed, _ = parseSpeed(f.fake.speed)
	for _, it := range items {
		src, err := replay.Load(it, from, f.replaySpan)
		if err != nil {
			return nil, err
		}
		attrs := []any{"pair", src.Pair, "files", strings.Join(src.Files, ","), "trades", src.Count,
			"from", src.First().UTC().Format(time.RFC3339), "to", src.Last().UTC().Format(time.RFC3339)}
		if src.Candles {
			attrs = append(attrs, "reconstructed", true, "backfill_before", src.Split.UTC().Format(time.RFC3339))
		}
		e.logger.Info("replay", attrs...)
		plan.sources = append(plan.sources, src)
		plan.pairs = append(plan.pairs, src.Pair)
	}
	plan.groups = replay.GroupSources(plan.sources)
	return plan, nil
}

// cmdRun runs the whole system in one process: the pipeline (live Kraken,
// or replays through fake Krakens), a Temporal worker, the bootstrap
// (backfill, training: a Temporal workflow the stream does not wait for)
// and the prediction API with its dashboard.
func cmdRun(ctx context.Context, e env, args []string) error {
	f, err := parseRunFlags(e, args)
	if err != nil {
		return err
	}
	if f.dataDir, err = filepath.Abs(f.dataDir); err != nil {
		return err
	}
	plan, err := planRun(ctx, e, f)
	if err != nil {
		return err
	}
	base := map[string]string{
		"TICKCAST_DATA_DIR":    f.dataDir,
		"TICKCAST_PAIRS":       strings.Join(plan.pairs, ","),
		"TICKCAST_INTERVAL":    f.interval,
		"TICKCAST_GRACE":       f.grace,
		"TICKCAST_BACKOFF_MIN": f.backoffMin,
	}
	if f.warmStart {
		base["TICKCAST_WARM_START"] = f.dataDir
	}
	streams, stopFakes, err := pipelineVars(e, f, plan, base)
	if err != nil {
		return err
	}
	defer stopFakes()

	workerUp := false
	if f.worker && !f.exitAtEnd {
		stop, ok := startRunWorker(ctx, e, f, streams[0][envKrakenREST], append(plan.files(), f.archives...))
		defer stop()
		workerUp = ok
	}
	if f.serve.drift && !workerUp {
		f.serve.drift = false
		e.logger.Info("drift detection off: no Temporal worker to retrain on")
	}
	latest, candles, gaps, pm := &online.Latest{}, &online.Candles{}, &online.Gaps{}, connect.NewMetrics()
	stopServing, err := startServing(ctx, e, f, plan, latest, candles, gaps, pm.Gatherer())
	if err != nil {
		return err
	}
	defer stopServing()
	if !f.exitAtEnd {
		stopBoot, err := bootstrap(ctx, e, f, plan, workerUp)
		if err != nil {
			return err
		}
		defer stopBoot()
	}
	if ctx.Err() != nil {
		return nil
	}
	stopReport := reportLatest(e, latest, statusEvery)
	defer stopReport()
	r := connect.Runner{Deps: connect.Deps{Logger: e.logger, Latest: latest, Candles: candles, Gaps: gaps}, Metrics: pm, Getenv: e.getenv}
	return r.RunAll(ctx, f.pipeline, streams)
}

// pipelineVars starts a fake Kraken per replay group and returns the
// variables of each pipeline to run: one for live Kraken, one per replay
// group, streaming all the group's pairs as live does so that the features
// stage sees every pair's candle of a time together.
func pipelineVars(e env, f *runFlags, plan *runPlan, base map[string]string) ([]map[string]string, func(), error) {
	if plan.live {
		vars := maps.Clone(base)
		vars[envKrakenWS], vars[envKrakenREST] = f.kraken.ws, f.kraken.rest
		e.logger.Info("streaming live from Kraken", "url", f.kraken.ws, "rest_url", f.kraken.rest, "pairs", strings.Join(plan.pairs, ","))
		return []map[string]string{vars}, func() {}, nil
	}
	var (
		out   []map[string]string
		fakes []*fakekraken.Server
	)
	stop := func() {
		for _, s := range fakes {
			s.Close()
		}
	}
	for _, g := range plan.groups {
		srv, u, err := startGroupFake(e, f, plan.speed, g)
		if err != nil {
			stop()
			return nil, nil, err
		}
		fakes = append(fakes, srv)
		vars := maps.Clone(base)
		vars[envKrakenWS] = u
		// Repairs go to the fake's REST endpoints, which know its trade ids.
		vars[envKrakenREST] = fakekraken.RESTURL(u)
		vars["TICKCAST_REST_RATE"] = "-1"
		vars["TICKCAST_PAIRS"] = strings.Join(g.Pairs(), ",")
		vars["TICKCAST_CLOCK_SPEED"] = strconv.FormatFloat(plan.speed, 'f', -1, 64)
		if f.exitAtEnd {
			vars["TICKCAST_STOP_AT"] = groupEnd(g).UTC().Format(time.RFC3339Nano)
		}
		out = append(out, vars)
	}
	return out, stop, nil
}

// startGroupFake starts one fake Kraken serving every pair of g on one
// market clock, each pair's snapshot its trades up to the group's common
// start (replay.Group.SnapshotSizes). It returns the fake and its
// WebSocket URL.
func startGroupFake(e env, f *runFlags, speed float64, g *replay.Group) (*fakekraken.Server, string, error) {
	sizes, start := g.SnapshotSizes()
	cfg := fakekraken.Config{Sources: map[string]fakekraken.TradeSource{}, SnapshotSizes: map[string]int{}, Speed: speed}
	for i, src := range g.Sources {
		if sizes[i] == replay.SnapshotMax {
			e.logger.Warn("replay: too many trades before the common start for one snapshot: the first candles may be lost",
				"pair", src.Pair, "start", start.UTC().Format(time.RFC3339))
		}
		stream, err := src.Open()
		if err != nil {
			closeStreams(cfg.Sources)
			return nil, "", err
		}
		cfg.Sources[src.Pair], cfg.SnapshotSizes[src.Pair] = stream, sizes[i]
	}
	srv, err := f.fake.newServer(e, cfg) // closes the streams when it fails
	if err != nil {
		return nil, "", err
	}
	u, err := srv.Start("127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, "", err
	}
	return srv, u, nil
}

// groupEnd is where a group's pipeline stops with --exit-at-end: the
// earliest of its pairs' last trades. The input stops once every pair has
// a trade at or after stop_at, which a later time would never see for a
// pair that ends sooner.
func groupEnd(g *replay.Group) time.Time {
	end := g.Sources[0].Last()
	for _, s := range g.Sources[1:] {
		if s.Last().Before(end) {
			end = s.Last()
		}
	}
	return end
}

func closeStreams(srcs map[string]fakekraken.TradeSource) {
	for _, s := range srcs {
		if c, ok := s.(io.Closer); ok {
			c.Close()
		}
	}
}

// startRunWorker runs the Temporal worker in this process when Temporal
// answers; without one the system runs on with the models it has. Offline,
// the worker's Kraken REST is a fake Kraken's. It writes the data dir and
// reads the replayed files (the bootstrap backfills from them), nothing else.
func startRunWorker(ctx context.Context, e env, f *runFlags, restURL string, archives []string) (stop func(), ok bool) {
	if !tcpReachable(ctx, f.temporal.address, 2*time.Second) {
		e.logger.Warn("no Temporal server: no worker, no backfill, no training (start one with `make temporal`)", "temporal", f.temporal.address)
		return func() {}, false
	}
	o := defaultWorkerOptions(e.getenv, f.dataDir)
	o.temporal, o.archives = f.temporal, archives
	o.kraken = f.kraken
	if restURL != f.kraken.rest { // a fake Kraken's REST: no rate limit
		o.kraken.rest, o.krakenRate = restURL, -1
	}
	s, err := startWorker(ctx, e, o)
	if err != nil {
		e.logger.Warn("no Temporal worker: backfills and training need one", "err", err)
		return func() {}, false
	}
	e.logger.Info("Temporal worker running", "temporal", f.temporal.address, "task_queue", workflows.TaskQueue, "ui", f.uiURL)
	return s, true
}

// files are the files a run replays.
func (p *runPlan) files() []string {
	var out []string
	for _, s := range p.sources {
		out = append(out, s.Files...)
	}
	return out
}

// tcpReachable tells whether host:port accepts a TCP connection.
func tcpReachable(ctx context.Context, addr string, wait time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	conn.Close()
	return true
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
