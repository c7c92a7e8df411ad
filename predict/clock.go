package predict

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the service what time it is on the market's clock: feature
// ages and cache lifetimes are measured on it.
type Clock interface{ Now() time.Time }

// WallClock is the real time: the clock of a live feed.
type WallClock struct{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// MarketClock follows a replayed feed: its time is the newest feature ts
// observed, advanced by the wall time since it arrived times the replay
// speed. A replay at 60× then ages rows by an hour per wall minute, as the
// live feed would, so staleness rules mean the same in both. It is safe for
// concurrent use.
type MarketClock struct {
	speed float64
	last  atomic.Pointer[observation]
	now   func() time.Time // wall clock; a field so tests can step it

	// Pairs replayed from different periods (one file from 2023, another
	// from 2025) each need their own clock, or the older one always looks
	// stale: ObservePair keeps one per pair.
	mu    sync.RWMutex
	pairs map[string]observation
}

// PairClock is a Clock that can tell each pair's time; the service prefers
// it when the clock offers it.
type PairClock interface {
	Clock
	NowFor(pair string) time.Time
}

type observation struct {
	ts      time.Time // newest feature ts seen
	arrival time.Time // wall time it was seen
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
		if cur != nil && !ts.After(cur.ts) {
			return
		}
		if c.last.CompareAndSwap(cur, &observation{ts: ts, arrival: c.now()}) {
			return
		}
	}
}

// Now is the newest ts observed plus the wall time since, times the speed;
// before any Observe it is the wall clock.
func (c *MarketClock) Now() time.Time {
	o := c.last.Load()
	if o == nil {
		return c.now()
	}
	if c.speed == 0 {
		return o.ts
	}
	return o.ts.Add(time.Duration(float64(c.now().Sub(o.arrival)) * c.speed))
}

// ObservePair records a feature row's ts for its pair (and for the clock as
// a whole, as Observe does).
func (c *MarketClock) ObservePair(pair string, ts time.Time) {
	c.Observe(ts)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.pairs[pair]; ok && !ts.After(cur.ts) {
		return
	}
	if c.pairs == nil {
		c.pairs = make(map[string]observation)
	}
	c.pairs[pair] = observation{ts: ts, arrival: c.now()}
}

// NowFor is pair's clock: its newest ts observed plus the wall time since,
// times the speed; Now for a pair never observed.
func (c *MarketClock) NowFor(pair string) time.Time {
	c.mu.RLock()
	o, ok := c.pairs[pair]
	c.mu.RUnlock()
	if !ok {
		return c.Now()
	}
	if c.speed == 0 {
		return o.ts
	}
	return o.ts.Add(time.Duration(float64(c.now().Sub(o.arrival)) * c.speed))
}
