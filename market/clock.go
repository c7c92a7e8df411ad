package market

import "time"

// EventClock is event time between events: the newest event timestamp
// observed, advanced by the wall time elapsed since it arrived times Speed.
// At Speed 1 on a live feed it follows the source's clock rather than the
// host's (no skew); a replay at N× moves N times faster; Speed 0 or less (a
// replay as fast as possible) never extrapolates, so only events move it.
//
// Wall times come from the caller (time.Now live, any time in a test), so
// the clock itself reads no clock. A zero EventClock runs at Speed 0. It is
// a plain value: callers that share one lock it or swap copies.
type EventClock struct {
	Speed float64

	event   time.Time // newest event timestamp observed
	arrival time.Time // wall time it arrived
}

// Observe records an event stamped ts that arrived at wall time wall; an
// event not newer than the newest changes nothing and returns false.
func (c *EventClock) Observe(ts, wall time.Time) bool {
	if !ts.After(c.event) {
		return false
	}
	c.event, c.arrival = ts, wall
	return true
}

// Now is the clock at wall time wall, false before the first event. Wall
// time before the newest event's arrival counts as none elapsed.
func (c EventClock) Now(wall time.Time) (time.Time, bool) {
	if c.event.IsZero() {
		return time.Time{}, false
	}
	if c.Speed <= 0 {
		return c.event, true
	}
	elapsed := max(wall.Sub(c.arrival), 0)
	return c.event.Add(time.Duration(float64(elapsed) * c.Speed)), true
}
