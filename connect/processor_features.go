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
A candle whose start is not after the pair's last one is a correction (re-emitted after a
gap repair): it replaces the candle held and the rows at it and at every later candle of
the window are recomputed and emitted again (same ts: a store keeps the latest). A
correction older than the window cannot change the rows: it passes on, counted and logged.
Run with pipeline.threads: 1.`)
}

// featuresProcessor adapts market.Features to Benthos batches and publishes
// the newest row per pair to the online store.
type featuresProcessor struct {
	mu        sync.Mutex
	f         *market.Features
	latest    *online.Latest
	candles   *online.Candles
	log       *service.Logger
	rows      *service.MetricCounter
	corrected *service.MetricCounter // rows emitted again after a correction
	stale     *service.MetricCounter // corrections too old to apply
}

func newFeaturesProcessor(latest *online.Latest, candles *online.Candles) service.BatchProcessorConstructor {
	return func(_ *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
		m := mgr.Metrics()
		return &featuresProcessor{
			f:         market.NewFeatures(),
			latest:    latest,
			candles:   candles,
			log:       mgr.Logger(),
			rows:      m.NewCounter("tickcast_feature_rows"),
			corrected: m.NewCounter("tickcast_feature_rows_corrected"),
			stale:     m.NewCounter("tickcast_candle_corrections_too_old"),
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
		c, err := decode(msg, market.DecodeCandle)
		if err != nil {
			msg.SetError(fmt.Errorf("features: %w", err))
			continue
		}
		if p.candles != nil {
			p.candles.Put(c)
		}
		if newest, ok := p.f.Newest(c.Pair); ok && !c.Start.After(newest.Start) {
			out = p.correct(msg, c, newest, out)
			continue
		}
		row, err := p.f.Update(c)
		if err != nil {
			msg.SetError(fmt.Errorf("features: %w", err))
			continue
		}
		p.rows.Incr(1)
		out = p.appendRow(row, out)
	}
	return []service.MessageBatch{out}, nil
}

// correct applies a corrected candle and appends the recomputed rows. A
// correction older than the feature window is still a good candle (only the
// rows cannot follow it): it is logged, not flagged; any other refusal is.
func (p *featuresProcessor) correct(msg *service.Message, c, newest market.Candle, out service.MessageBatch) service.MessageBatch {
	rows, err := p.f.Correct(c)
	if err != nil && newest.Start.Sub(c.Start) >= market.FeatureWindow*newest.End.Sub(newest.Start) {
		p.stale.Incr(1)
		p.log.Warnf("features: correction older than the feature window not applied: %v", err)
		return out
	}
	if err != nil {
		msg.SetError(fmt.Errorf("features: %w", err))
		return out
	}
	p.corrected.Incr(int64(len(rows)))
	for _, row := range rows {
		out = p.appendRow(row, out)
	}
	return out
}

func (p *featuresProcessor) appendRow(row market.FeatureRow, out service.MessageBatch) service.MessageBatch {
	if p.latest != nil {
		p.latest.Put(row)
	}
	return append(out, newRecord(KindFeature, row.Pair, row.AppendJSON(nil), row))
}

func (p *featuresProcessor) Close(context.Context) error { return nil }
