package online

import (
	"slices"
	"strings"
	"sync"

	"github.com/tickcast/tickcast/market"
)

// Latest holds the newest feature row per pair. The zero value is ready to
// use; it is safe for concurrent use.
type Latest struct {
	mu   sync.RWMutex
	rows map[string]market.FeatureRow
	subs map[*subscriber]struct{}
}

// subscriber receives every row Put keeps, without ever blocking Put: a
// subscriber that falls behind by its buffer loses rows and is told how many.
type subscriber struct {
	ch      chan market.FeatureRow
	dropped uint64
}

// Put keeps r if it is at least as new as the pair's current row: on equal
// ts the later Put wins, as a re-emitted (corrected) row should.
func (l *Latest) Put(r market.FeatureRow) {
	r.Pair = canonical(r.Pair)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rows == nil {
		l.rows = make(map[string]market.FeatureRow)
	}
	if cur, ok := l.rows[r.Pair]; ok && cur.TS.After(r.TS) {
		return
	}
	l.rows[r.Pair] = r
	for s := range l.subs {
		select {
		case s.ch <- r:
		default:
			s.dropped++
		}
	}
}

// Subscribe returns a channel of the rows Put keeps from now on (buffer
// buf) and a cancel func that closes it. Put never waits for a reader: rows
// that do not fit in the buffer are dropped for that subscriber and counted
// (the dropped func reports how many).
func (l *Latest) Subscribe(buf int) (rows <-chan market.FeatureRow, cancel func(), dropped func() uint64) {
	if buf < 1 {
		buf = 1
	}
	s := &subscriber{ch: make(chan market.FeatureRow, buf)}
	l.mu.Lock()
	if l.subs == nil {
		l.subs = make(map[*subscriber]struct{})
	}
	l.subs[s] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	cancel = func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.subs, s)
			l.mu.Unlock()
			close(s.ch)
		})
	}
	dropped = func() uint64 {
		l.mu.RLock()
		defer l.mu.RUnlock()
		return s.dropped
	}
	return s.ch, cancel, dropped
}

// Get returns the newest row of pair, in any spelling.
func (l *Latest) Get(pair string) (market.FeatureRow, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	// Most callers already use the canonical name: skip normalising (an
	// allocation on the prediction hot path) when it is found as given.
	if r, ok := l.rows[pair]; ok {
		return r, ok
	}
	r, ok := l.rows[canonical(pair)]
	return r, ok
}

// All returns the newest row of every pair, sorted by pair.
func (l *Latest) All() []market.FeatureRow {
	l.mu.RLock()
	out := make([]market.FeatureRow, 0, len(l.rows))
	for _, r := range l.rows {
		out = append(out, r)
	}
	l.mu.RUnlock()
	slices.SortFunc(out, func(a, b market.FeatureRow) int { return strings.Compare(a.Pair, b.Pair) })
	return out
}

// canonical is the v2 pair name; a name that does not parse is kept as
// given, so that Put never drops a row and Get still finds it.
func canonical(pair string) string {
	if p, err := market.NormalizePair(pair); err == nil {
		return p
	}
	return pair
}
