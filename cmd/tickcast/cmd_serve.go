package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tickcast/tickcast/kafka"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/redis"
)

// candlesEvery is how often serve reloads the dashboard's candles from the
// Parquet store, and candlesSpan how far back.
const (
	candlesEvery = time.Minute
	candlesSpan  = 24 * time.Hour
)

type serveCmdFlags struct {
	serve          serveFlags
	featuresPrefix string
	featuresFrom   string // redis or kafka
	kafkaBrokers   string
	featuresTopic  string
	dataDir        string
	interval       time.Duration
	uiURL          string
	replica        string
}

func parseServeFlags(e env, args []string) (*serveCmdFlags, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &serveCmdFlags{}
	f.serve.register(fs, e)
	fs.Lookup("http").Usage = "listen address of the prediction API, WebSocket stream, dashboard and metrics"
	fs.Lookup("redis").Usage = "Redis host:port of the online features (written by a pipeline's tickcast_redis_features output) and the prediction cache (required)"
	fs.StringVar(&f.featuresPrefix, "features-prefix", redis.DefaultFeaturesPrefix, "key prefix of the feature store in Redis (the output's prefix)")
	fs.StringVar(&f.featuresFrom, "features-from", "redis", "where the newest feature rows come from: redis (the pipeline's tickcast_redis_features output) or kafka (the features stage's topic, every partition read by every replica)")
	fs.StringVar(&f.kafkaBrokers, "kafka-brokers", envOr(e.getenv, "TICKCAST_KAFKA_BROKERS", "127.0.0.1:9092"), "with --features-from kafka: seed brokers, comma-separated ($TICKCAST_KAFKA_BROKERS)")
	fs.StringVar(&f.featuresTopic, "features-topic", "features", "with --features-from kafka: the features topic")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "shared data directory: model registry and Parquet store (e.g. a shared volume)")
	fs.DurationVar(&f.interval, "interval", time.Minute, "candle interval")
	fs.StringVar(&f.uiURL, "ui-url", envOr(e.getenv, "TEMPORAL_UI_URL", "http://127.0.0.1:8233"), "Temporal UI, for the links shown ($TEMPORAL_UI_URL)")
	fs.StringVar(&f.replica, "replica", "", "this replica's name: its scored predictions go to <data-dir>/parquet/predictions/replica=<name> (default: the host name)")
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve: unexpected arguments %v: %w", fs.Args(), errUsage)
	}
	if f.serve.redis == "" || f.serve.http == "" || f.interval <= 0 {
		return nil, fmt.Errorf("serve: --redis and --http are required, --interval positive: %w", errUsage)
	}
	if f.featuresFrom != "redis" && f.featuresFrom != "kafka" {
		return nil, fmt.Errorf("serve: --features-from %q: want redis or kafka: %w", f.featuresFrom, errUsage)
	}
	if f.replica == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("serve: no --replica and no host name: %w", err)
		}
		f.replica = host
	}
	if strings.ContainsAny(f.replica, `/\`) || f.replica == "." || f.replica == ".." {
		return nil, fmt.Errorf("serve: --replica %q: not a directory name: %w", f.replica, errUsage)
	}
	return f, nil
}

// cmdServe is the scaled mode's API replica: the pipelines run elsewhere
// and write features to Redis; any number of these serve them behind a load
// balancer, sharing the registry and the Parquet store on --data-dir.
func cmdServe(ctx context.Context, e env, args []string) error {
	f, err := parseServeFlags(e, args)
	if err != nil {
		return err
	}
	client, err := redis.Open(ctx, f.serve.redis, redis.Options{Logger: e.logger})
	if err != nil {
		return fmt.Errorf("serve: --redis %s: %w", f.serve.redis, err)
	}
	features, follow, stopFeatures := serveFeatures(ctx, e, f, client)
	defer stopFeatures()
	candles := &online.Candles{}
	root := datadir.Parquet(f.dataDir)
	d := apiDeps{cmd: "serve", addr: f.serve.http, dataDir: f.dataDir, adminKey: f.serve.adminKey, uiURL: f.uiURL,
		scoresDir: filepath.Join(datadir.Predictions(f.dataDir), "replica="+f.replica),
		interval:  f.interval, staleAfter: f.serve.staleAfter, modelMaxAge: f.serve.modelMaxAge, noNearCache: !f.serve.nearCache, speed: 1,
		features: features, candles: candles, clock: predict.WallClock{},
		cache: client.Cache(), cacheName: "redis " + f.serve.redis,
		closers: []func() error{client.Close},
		drift:   f.serve.drift, temporal: f.serve.temporal,
		follow: follow,
	}
	stop, err := startAPI(ctx, e, d)
	if err != nil {
		return err
	}
	defer stop()
	e.logger.Info("API replica", "replica", f.replica, "features_from", f.featuresFrom, "data_dir", f.dataDir)
	loadCandles(e, root, features, candles)
	t := time.NewTicker(candlesEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			e.logger.Info("shutting down")
			return nil
		case <-t.C:
			loadCandles(e, root, features, candles)
		}
	}
}

// loadCandles adds the store's candles of the last candlesSpan, newer than
// those held, of every pair with features in Redis: the rows carry no OHLC,
// so the dashboard's chart comes from the store the pipelines write.
func loadCandles(e env, root string, features predict.Features, candles *online.Candles) {
	from := time.Now().Add(-candlesSpan)
	for _, row := range features.All() {
		since := from
		if held := candles.Recent(row.Pair, 1); len(held) == 1 && held[0].Start.After(from) {
			since = held[0].Start // the newest held may have been partial
		}
		cs, err := parquet.ReadCandles(root, row.Pair, since, time.Time{})
		if err != nil {
			e.logger.Warn("dashboard candles", "pair", row.Pair, "err", err)
			continue
		}
		for _, c := range cs {
			candles.Put(c)
		}
	}
}

// serveFeatures is where a replica's newest feature rows come from, and
// its follow: Redis (the newest row per pair and its PUBLISH), or the
// features topic on Kafka, read whole by every replica into an in-process
// online.Latest (stop ends that reader).
func serveFeatures(ctx context.Context, e env, f *serveCmdFlags, client *redis.Client) (predict.Features, func(context.Context) (<-chan market.FeatureRow, func(), error), func()) {
	if f.featuresFrom == "redis" {
		features := client.Features(f.featuresPrefix)
		return features, func(ctx context.Context) (<-chan market.FeatureRow, func(), error) {
			rows, err := features.Subscribe(ctx)
			return rows, func() {}, err // the channel closes with ctx
		}, func() {}
	}
	latest := &online.Latest{}
	kctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		cfg := kafka.FeaturesConfig{Brokers: strings.Split(f.kafkaBrokers, ","), Topic: f.featuresTopic, Logger: e.logger}
		if err := kafka.FollowFeatures(kctx, cfg, latest); err != nil {
			e.logger.Error("serve: features from Kafka", "brokers", f.kafkaBrokers, "err", err)
		}
	}()
	return latest, func(context.Context) (<-chan market.FeatureRow, func(), error) {
			rows, unsubscribe, _ := latest.Subscribe(followBuffer)
			return rows, unsubscribe, nil
		}, func() {
			cancel()
			<-done
		}
}

// followBuffer is how many rows a replica's follower may lag before rows
// are dropped (counted by online.Latest).
const followBuffer = 1024
