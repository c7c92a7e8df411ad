package main

import (
	"context"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickcast/tickcast/api"
	"github.com/tickcast/tickcast/dashboard"
	"github.com/tickcast/tickcast/driftwatch"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/redis"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/scoring"
	"github.com/tickcast/tickcast/stream"
	"github.com/tickcast/tickcast/temporalclient"
)

// Serving intervals.
const (
	refreshEvery = time.Second // champions reloaded from the registry
	scoresEvery  = time.Minute // scored predictions appended to Parquet
	subscribeBuf = 1024        // feature rows the API may lag behind the pipeline
)

// startServing serves the prediction API, WebSocket stream, dashboard and
// metrics on --http, over the online features the pipeline fills, until
// the returned stop is called (graceful: in-flight requests finish, the
// scorer flushes). Empty --http serves nothing.
func startServing(ctx context.Context, e env, f *runFlags, plan *runPlan, latest *online.Latest, candles *online.Candles, gaps *online.Gaps, pipeline prometheus.Gatherer) (stop func(), err error) {
	if f.serve.http == "" {
		return func() {}, nil
	}
	interval, err := time.ParseDuration(f.interval)
	if err != nil {
		return nil, fmt.Errorf("run: --interval %q: %w", f.interval, errUsage)
	}
	d := apiDeps{cmd: "run", addr: f.serve.http, dataDir: f.dataDir, adminKey: f.serve.adminKey, uiURL: f.uiURL,
		scoresDir: datadir.Predictions(f.dataDir),
		interval:  interval, staleAfter: f.serve.staleAfter, modelMaxAge: f.serve.modelMaxAge, noNearCache: !f.serve.nearCache, speed: plan.speed,
		features: latest, candles: candles, gaps: gaps, clock: predict.WallClock{}, metrics: pipeline,
		drift: f.serve.drift, temporal: f.serve.temporal}
	d.cache, d.cacheName, err = openCache(ctx, e, f.serve.redis, &d.closers)
	if err != nil {
		return nil, err
	}
	// Live, features age on the wall clock; a replay's on its market clock,
	// one per pair (replays of different periods each keep their own time),
	// moved by the rows it delivers.
	if !plan.live {
		d.market = predict.NewMarketClock(plan.speed)
		d.clock = d.market
	}
	d.follow = func(context.Context) (<-chan market.FeatureRow, func(), error) {
		rows, unsubscribe, dropped := latest.Subscribe(subscribeBuf)
		return rows, func() {
			unsubscribe()
			if n := dropped(); n > 0 {
				e.logger.Warn("feature rows the API fell behind on", "dropped", n)
			}
		}, nil
	}
	return startAPI(ctx, e, d)
}

// apiDeps is what the serving side is built from, shared by `run` (features
// in process) and `serve` (features on Redis).
type apiDeps struct {
	cmd                            string // for error messages
	addr, dataDir, adminKey, uiURL string
	scoresDir                      string // the scorer's Parquet directory
	interval                       time.Duration
	staleAfter                     int
	modelMaxAge                    time.Duration
	noNearCache                    bool
	speed                          float64
	features                       predict.Features
	// gaps is the pipeline's gap state (run); nil in serve, where the
	// pipeline runs elsewhere: predictions then say gap_open false.
	gaps predict.Gaps
	// follow subscribes to the feature rows of closing candles (pushes,
	// scoring); its stop runs after the API stopped reading.
	follow    func(ctx context.Context) (rows <-chan market.FeatureRow, stop func(), err error)
	candles   api.Candles
	metrics   prometheus.Gatherer // served on /metrics beside the API's; may be nil
	clock     predict.Clock
	market    *predict.MarketClock // the clock when it is a market clock, else nil
	cache     predict.Cache
	cacheName string
	closers   []func() error // closed last, in reverse
	// drift starts a Train on Temporal at temporal when drift fires.
	drift    bool
	temporal temporalFlags
}

// startAPI builds the prediction service, scorer, stream hub and API over
// d, serves on d.addr and returns the graceful stop.
func startAPI(ctx context.Context, e env, d apiDeps) (stop func(), err error) {
	closeAll := func() {
		for i := len(d.closers) - 1; i >= 0; i-- {
			if err := d.closers[i](); err != nil {
				e.logger.Warn("shutdown", "err", err)
			}
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	reg, err := registry.Open(d.dataDir)
	if err != nil {
		return nil, err
	}
	svc, err := predict.New(predict.Config{Registry: reg, Features: d.features, Cache: d.cache, Interval: d.interval,
		StaleAfter: d.staleAfter, ModelMaxAge: d.modelMaxAge, NoNearCache: d.noNearCache, Clock: d.clock, Speed: d.speed, Gaps: d.gaps,
		Logger: e.logger})
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, svc.Close)
	watch, err := startDrift(ctx, e, &d, svc)
	if err != nil {
		return nil, err
	}
	sc := scoring.Config{Dir: d.scoresDir, Interval: d.interval, Logger: e.logger}
	if watch != nil { // error drift: Page–Hinkley on each scored vol forecast against last-rv
		sc.OnVolScored = func(v scoring.VolScore) {
			watch.ObserveLoss(ctx, v.Pair, v.Horizon, v.At, (v.ModelErr-v.BaselineErr)/v.Baseline)
		}
	}
	scorer, err := scoring.New(sc)
	if err != nil {
		return nil, err
	}
	hub := stream.NewHub(stream.Config{Logger: e.logger})
	if rc, ok := d.cache.(interface{ Collector() prometheus.Collector }); ok { // Redis: its breaker and errors
		d.addMetrics(rc.Collector())
	}
	srv, err := api.New(api.Config{Predictions: svc, Scores: scorer, Hub: hub, Registry: reg, Candles: d.candles,
		DataDir: d.dataDir, AdminKey: d.adminKey, Dashboard: dashboard.Handler(),
		Links: api.Links{TemporalUI: d.uiURL}, Logger: e.logger, Metrics: d.metrics})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", d.addr)
	if err != nil {
		return nil, fmt.Errorf("%s: --http %s: %w", d.cmd, d.addr, err)
	}
	if err := svc.Refresh(ctx); err != nil {
		e.logger.Warn("champions", "err", err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rows, unfollow, err := d.follow(sctx)
	if err != nil {
		cancel()
		ln.Close()
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Go(func() { svc.Watch(sctx, refreshEvery) })
	wg.Go(func() {
		if err := scorer.Run(sctx, scoresEvery); err != nil {
			e.logger.Warn("scorer", "err", err)
		}
	})
	pushes := predict.Pushes{Scores: scorer, Hub: hub, Clock: d.market}
	if watch != nil {
		pushes.Drift = watch
	}
	wg.Go(func() { svc.Follow(sctx, rows, pushes) })
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(sctx, ln); err != nil {
			e.logger.Error("api", "err", err)
		}
	}()
	printURLs(e, ln.Addr().String(), d.uiURL, d.cacheName)
	return func() {
		cancel()
		<-served
		unfollow()
		wg.Wait()
		if watch != nil {
			watch.Wait() // its training starts end with sctx
		}
		closeAll()
	}, nil
}

// addMetrics serves cs on /metrics beside the API's own collectors.
func (d *apiDeps) addMetrics(cs ...prometheus.Collector) {
	r := prometheus.NewRegistry()
	r.MustRegister(cs...)
	if d.metrics != nil {
		d.metrics = prometheus.Gatherers{r, d.metrics}
	} else {
		d.metrics = r
	}
}

// startDrift is the drift watcher Follow feeds when d.drift (else nil): it
// starts Train on Temporal at d.temporal (a client closed with d's closers),
// reads the champions' training rows from the Parquet store, and counts on
// /metrics.
func startDrift(ctx context.Context, e env, d *apiDeps, svc *predict.Service) (*driftwatch.Watcher, error) {
	if !d.drift {
		return nil, nil
	}
	c, err := dialTemporal(ctx, e, d.temporal)
	if err != nil {
		return nil, fmt.Errorf("%s: --drift: %w", d.cmd, err)
	}
	d.closers = append(d.closers, func() error { c.Close(); return nil })
	m := driftwatch.NewMetrics()
	d.addMetrics(m.Collectors()...)
	store := &parquet.Reader{Root: datadir.Parquet(d.dataDir), SkipCorrupt: true, Logger: e.logger}
	w, err := driftwatch.New(driftwatch.Config{Trainer: temporalclient.DriftTrainer{Client: c}, Models: svc,
		Rows: store.Features, Interval: d.interval, Metrics: m, Logger: e.logger})
	if err != nil {
		return nil, err
	}
	e.logger.Info("drift detection on: a firing starts Train on Temporal", "temporal", d.temporal.address)
	return w, nil
}

// openCache is Redis at addr, or the in-memory cache when addr is empty.
func openCache(ctx context.Context, e env, addr string, closers *[]func() error) (predict.Cache, string, error) {
	if addr == "" {
		return predict.NewMemoryCache(), "memory", nil
	}
	c, err := redis.Open(ctx, addr, redis.Options{Logger: e.logger})
	if err != nil {
		return nil, "", fmt.Errorf("run: --redis %s (start one with `make redis`, or leave --redis empty for an in-memory cache): %w", addr, err)
	}
	*closers = append(*closers, c.Close)
	return c.Cache(), "redis " + addr, nil
}

func printURLs(e env, addr, ui, cache string) {
	base := "http://" + addr
	fmt.Fprintf(e.stdout, "\ntickcast is serving (prediction cache: %s)\n"+
		"  dashboard    %s/\n"+
		"  API          %s/v1/predictions  (%s/openapi.json)\n"+
		"  stream       ws://%s/v1/stream\n"+
		"  metrics      %s/metrics\n"+
		"  ready        %s/readyz\n"+
		"  Temporal UI  %s\n\n", cache, base, base, base, addr, base, base, ui)
	e.logger.Info("serving", "http", base, "temporal_ui", ui, "cache", cache)
}
