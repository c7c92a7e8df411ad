package market

import "iter"

// GapsOpen yields, for every pair the aggregator knows, whether it has a gap
// that may still change its candles: an unresolved outage, or a trade_id gap
// within the correction horizon (a trade filling it would still be merged).
// A trade_id gap older than the horizon is no longer open: its trades would
// be late, and the candles it overlapped stay incomplete for good.
func (a *Aggregator) GapsOpen() iter.Seq2[string, bool] {
	return func(yield func(string, bool) bool) {
		for pair, p := range a.byPair {
			if !yield(pair, len(p.outages) > 0 || a.idGapOpen(p)) {
				return
			}
		}
	}
}

func (a *Aggregator) idGapOpen(p *pairState) bool {
	oldest := p.base - int64(p.closed.n)*a.iv // start of the oldest repairable window
	for _, g := range p.gaps {
		if g.to >= oldest {
			return true
		}
	}
	return false
}
