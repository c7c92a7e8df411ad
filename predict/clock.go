package predict

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Clock tells the service what time it is on the market's clock: feature
// ages and cache lifetimes are measured on it.
type Clock interface{ Now() time.Time }

// WallClock is the real time: the clock of a live feed.
type WallClock struct{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// MarketClock follows a replayed feed with market.EventClock: its time is
// the newest feature ts observed, advanced by the wall time since it arrived
// times the replay speed. A replay at 60× then ages rows by an hour per wall
// minute, as the live feed would, so staleness rules mean the same in both.
// It is safe for concurrent use.
type MarketClock struct {
	speed float64
	last  atomic.Pointer[market.EventClock]
	now   func() time.Time // wall clock; a field so tests can step it

	// Pairs replayed from different periods (one file from 2023, another
	// from 2025) each need their own clock, or the older one always looks
	// stale: ObservePair keeps one per pair.
	mu    sync.RWMutex
	pairs map[string]market.EventClock
}

// PairClock is a Clock that can tell each pair's time; the service prefers
// it when the clock offers it.
type PairClock interface {
	Clock
	NowFor(pair string) time.Time
}

// NewMarketClock returns a clock for a feed replayed at speed market seconds
// per wall second; speed 0 (or less) stops it at the newest ts observed.
func NewMarketClock(speed float64) *MarketClock {
	return &MarketClock{speed: max(speed, 0), now: time.Now}
}

// Observe records a feature row's ts; older or equal ts change nothing, so
// the rows of many pairs for one candle keep the first arrival.
func (c *MarketClock) Observe(ts time.Time) {
	for {
		cur := c.last.Load()
		next := market.EventClock{Speed: c.speed}
		if cur != nil {
			next = *cur
		}
		if !next.Observe(ts, c.now()) || c.last.CompareAndSwap(cur, &next) {
			return
		}
	}
}

// Now is the newest ts observed plus the wall time since, times the speed;
// before any Observe it is the wall clock.
func (c *MarketClock) Now() time.Time {
	wall := c.now()
	if o := c.last.Load(); o != nil {
		if t, ok := o.Now(wall); ok {
			return t
		}
	}
	return wall
}

// ObservePair records a feature row's ts for its pair (and for the clock as
// a whole, as Observe does).
func (c *MarketClock) ObservePair(pair string, ts time.Time) {
	c.Observe(ts)
	c.mu.Lock()
	defer c.mu.Unlock()
	pc, ok := c.pairs[pair]
	if !ok {
		pc = market.EventClock{Speed: c.speed}
	}
	if !pc.Observe(ts, c.now()) {
		return
	}
	if c.pairs == nil {
		c.pairs = make(map[string]market.EventClock)
	}
	c.pairs[pair] = pc
}

// NowFor is pair's clock: its newest ts observed plus the wall time since,
// times the speed; Now for a pair never observed.
func (c *MarketClock) NowFor(pair string) time.Time {
	c.mu.RLock()
	pc := c.pairs[pair]
	c.mu.RUnlock()
	if t, ok := pc.Now(c.now()); ok {
		return t
	}
	return c.Now()
}
