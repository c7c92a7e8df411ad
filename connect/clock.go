package connect

import "time"

// eventClock is the stream's clock for closing windows: the newest trade
// time seen, moved forward by the wall time elapsed since that trade arrived
// times speed. With speed 1 on live Kraken it follows the exchange's clock
// rather than ours (no skew); a replay at N× moves N times faster; speed 0
// (a replay as fast as possible) never extrapolates, so only trades move it.
type eventClock struct {
	speed   float64
	event   time.Time // newest trade timestamp seen
	arrival time.Time // wall time when it was seen
}

func (c *eventClock) observe(eventTS, wall time.Time) {
	if eventTS.After(c.event) {
		c.event, c.arrival = eventTS, wall
	}
}

// now returns the clock, or false before the first trade.
func (c *eventClock) now(wall time.Time) (time.Time, bool) {
	if c.event.IsZero() {
		return time.Time{}, false
	}
	if c.speed <= 0 {
		return c.event, true
	}
	elapsed := wall.Sub(c.arrival)
	if elapsed < 0 {
		elapsed = 0
	}
	return c.event.Add(time.Duration(float64(elapsed) * c.speed)), true
}
