package connect

import (
	"context"
	"fmt"
	"sync"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
)

func featuresProcessorSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Utility").
		Summary("Computes the feature row of each candle (tickcast_kind=candle) incrementally per pair.").
		Description(`
Adds one message (tickcast_kind=feature) after every candle; other messages pass unchanged.
The same market code computes features in the backfill, so there is no train/serve skew.
Every feature at ts depends only on the last market.FeatureWindow candles ending at or before
ts; rows carry warm=false until that window is full. Candles of a pair must arrive in order
and contiguous (the candles processor guarantees it); others are flagged with an error.
Run with pipeline.threads: 1.`)
}

// featuresProcessor adapts market.Features to Benthos batches and publishes
// the newest row per pair to the online store.
type featuresProcessor struct {
	mu     sync.Mutex
	f      *market.Features
	latest *online.Latest
	rows   *service.MetricCounter
}

func newFeaturesProcessor(latest *online.Latest) service.BatchProcessorConstructor {
	return func(_ *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
		return &featuresProcessor{
			f:      market.NewFeatures(),
			latest: latest,
			rows:   mgr.Metrics().NewCounter("tickcast_feature_rows"),
		}, nil
	}
}

func (p *featuresProcessor) ProcessBatch(_ context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(service.MessageBatch, 0, len(batch)*2)
	for _, msg := range batch {
		out = append(out, msg)
		if kindOf(msg) != KindCandle {
			continue
		}
		row, err := p.update(msg)
		if err != nil {
			msg.SetError(fmt.Errorf("features: %w", err))
			continue
		}
		p.rows.Incr(1)
		if p.latest != nil {
			p.latest.Put(row)
		}
		out = append(out, newRecord(KindFeature, row.Pair, row.AppendJSON(nil), row))
	}
	return []service.MessageBatch{out}, nil
}

func (p *featuresProcessor) update(msg *service.Message) (market.FeatureRow, error) {
	c, err := decode(msg, market.DecodeCandle)
	if err != nil {
		return market.FeatureRow{}, err
	}
	return p.f.Update(c)
}

func (p *featuresProcessor) Close(context.Context) error { return nil }
