package predict

import (
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
