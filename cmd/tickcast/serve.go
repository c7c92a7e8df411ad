package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/tickcast/tickcast/api"
	"github.com/tickcast/tickcast/connect"
	"github.com/tickcast/tickcast/dashboard"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/redis"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/scoring"
	"github.com/tickcast/tickcast/stream"
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
func startServing(ctx context.Context, e env, f *runFlags, plan *runPlan, latest *online.Latest, candles *online.Candles) (stop func(), err error) {
	if f.serve.http == "" {
		return func() {}, nil
	}
	interval, err := time.ParseDuration(f.interval)
	if err != nil {
		return nil, fmt.Errorf("run: --interval %q: %w", f.interval, errUsage)
	}
	reg, err := registry.Open(f.dataDir)
	if err != nil {
		return nil, err
	}
	var closers []func() error
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			if err := closers[i](); err != nil {
				e.logger.Warn("shutdown", "err", err)
			}
		}
	}
	cache, cacheName, err := openCache(ctx, e, f.serve.redis, &closers)
	if err != nil {
		return nil, err
	}
	// Live, features age on the wall clock; a replay's on its market clock,
	// one per pair (replays of different periods each keep their own time),
	// moved by the rows it delivers.
	var (
		clock  predict.Clock = predict.WallClock{}
		market *predict.MarketClock
	)
	if !plan.live {
		market = predict.NewMarketClock(plan.speed)
		clock = market
	}
	svc, err := predict.New(predict.Config{Registry: reg, Features: latest, Cache: cache, Interval: interval,
		StaleAfter: f.serve.staleAfter, Clock: clock, Speed: plan.speed, Logger: e.logger})
	if err != nil {
		closeAll()
		return nil, err
	}
	closers = append(closers, svc.Close)
	scorer, err := scoring.New(scoring.Config{Dir: filepath.Join(connect.ParquetDir(f.dataDir), "predictions"),
		Interval: interval, Logger: e.logger})
	if err != nil {
		closeAll()
		return nil, err
	}
	hub := stream.NewHub(stream.Config{Logger: e.logger})
	srv, err := api.New(api.Config{Predictions: svc, Scores: scorer, Hub: hub, Registry: reg, Candles: candles,
		Clock: market, AdminKey: f.serve.adminKey, Dashboard: dashboard.Handler(),
		Links: api.Links{TemporalUI: f.uiURL}, Logger: e.logger})
	if err != nil {
		closeAll()
		return nil, err
	}
	ln, err := net.Listen("tcp", f.serve.http)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("run: --http %s: %w", f.serve.http, err)
	}
	if err := svc.Refresh(ctx); err != nil {
		e.logger.Warn("champions", "err", err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rows, unsubscribe, dropped := latest.Subscribe(subscribeBuf)
	var wg sync.WaitGroup
	wg.Go(func() { svc.Watch(sctx, refreshEvery) })
	wg.Go(func() {
		if err := scorer.Run(sctx, scoresEvery); err != nil {
			e.logger.Warn("scorer", "err", err)
		}
	})
	wg.Go(func() { srv.Follow(sctx, rows) })
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(sctx, ln); err != nil {
			e.logger.Error("api", "err", err)
		}
	}()
	printURLs(e, ln.Addr().String(), f.uiURL, cacheName)
	return func() {
		cancel()
		<-served
		unsubscribe()
		wg.Wait()
		if n := dropped(); n > 0 {
			e.logger.Warn("feature rows the API fell behind on", "dropped", n)
		}
		closeAll()
	}, nil
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
