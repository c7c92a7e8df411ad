package online

import "sync"

// Gaps is the pipeline's gap state per pair: whether it has an open gap
// (an outage not yet resolved, a trade_id gap not yet repaired), so that
// its newest candles may still change. The candles processor sets it and
// predictions report it (gap_open). The zero value is ready to use; it is
// safe for concurrent use.
type Gaps struct {
	mu   sync.RWMutex
	open map[string]bool
}

// Set records the state of pair (any spelling).
func (g *Gaps) Set(pair string, open bool) {
	pair = canonical(pair)
	g.mu.RLock()
	cur, known := g.open[pair]
	g.mu.RUnlock()
	if known && cur == open { // the usual case, every batch: no write lock
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open == nil {
		g.open = make(map[string]bool)
	}
	g.open[pair] = open
}

// Open reports whether pair (any spelling) has an open gap; an unknown
// pair has none.
func (g *Gaps) Open(pair string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if open, ok := g.open[pair]; ok {
		return open
	}
	return g.open[canonical(pair)]
}
