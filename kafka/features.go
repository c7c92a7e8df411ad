// Package kafka holds tickcast's Kafka clients outside the pipelines (which
// use the tickcast_kafka Benthos components of package connect): an API
// replica following the features topic. It speaks the Kafka API through
// franz-go, which Redpanda implements too.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/wire"
)

// FeaturesConfig configures a features follower.
type FeaturesConfig struct {
	Brokers []string
	Topic   string        // default "features"
	Since   time.Duration // start this far back in record time (default 5m): the newest rows of every pair
	Logger  *slog.Logger
}

// Sink takes the rows followed (*online.Latest: newest row per pair,
// fanned out to subscribers).
type Sink interface {
	Put(market.FeatureRow)
}

// FollowFeatures reads every partition of the features topic (no consumer
// group: every API replica sees every pair) from Since ago until ctx ends,
// and puts each row into sink unless a row of that pair and TS with a
// higher revision came before (at-least-once delivery may repeat an older
// one). Undecodable records are logged and skipped. It returns nil when ctx
// ends, an error when the client cannot be made.
func FollowFeatures(ctx context.Context, cfg FeaturesConfig, sink Sink) error {
	if len(cfg.Brokers) == 0 {
		return fmt.Errorf("kafka features: no brokers: %w", market.ErrInvalid)
	}
	if cfg.Topic == "" {
		cfg.Topic = "features"
	}
	if cfg.Since <= 0 {
		cfg.Since = 5 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(time.Now().Add(-cfg.Since).UnixMilli())))
	if err != nil {
		return fmt.Errorf("kafka features: %w", err)
	}
	defer cl.Close()
	latest := map[string]seen{} // per pair: the newest TS and its revision
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				log.Warn("kafka features: fetch", "topic", t, "partition", p, "err", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			row, err := wire.DecodeFeatureRow(r.Value)
			if err != nil {
				log.Warn("kafka features: record skipped", "partition", r.Partition, "offset", r.Offset, "err", err)
				return
			}
			if s, ok := latest[row.Pair]; ok && (row.TS.Before(s.ts) || (row.TS.Equal(s.ts) && row.Revision < s.revision)) {
				return // older than what the sink holds
			}
			latest[row.Pair] = seen{row.TS, row.Revision}
			sink.Put(row)
		})
	}
}

type seen struct {
	ts       time.Time
	revision int
}
