package connect

import (
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/online"
)

// candlesProcessorWith builds candles processors that publish each pair's
// gap state to gaps (nil: nowhere) after every batch.
func candlesProcessorWith(gaps *online.Gaps) service.BatchProcessorConstructor {
	return func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
		bp, err := newCandlesProcessor(conf, mgr)
		if err != nil {
			return nil, err
		}
		bp.(*candlesProcessor).gaps = gaps
		return bp, nil
	}
}

// publishGaps tells gaps which pairs have an open gap: an unresolved outage
// or a trade_id gap still within the correction horizon. Callers hold p.mu.
func (p *candlesProcessor) publishGaps() {
	if p.gaps == nil {
		return
	}
	for pair, open := range p.agg.GapsOpen() {
		p.gaps.Set(pair, open)
	}
}
