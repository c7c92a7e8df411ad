package market

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Cross-pair features: the design.
//
// The xp_* features of a pair at TS are a pure function of the other pairs'
// base rows (Features' rows, xp_* missing) at the same TS: CrossFill. A row
// at TS describes the candle that closed at TS, so no candle closing after
// TS is used. Because they depend on nothing else, the backfill (every
// pair's base rows first, then CrossFill per TS) and the stream (Cross,
// below) agree on every row once the stream has seen every pair's row:
// arrival order only changes when a row is first emitted, never its final
// value.
//
// Live, Cross aligns the pairs on TS: a row is held until every known pair
// has its row at TS, or has passed TS without one (a hole), or has fallen
// more than Grace behind the newest row of any pair (it is missing: a pair
// down, not started, or lagging). Nothing waits longer than Grace. A pair's
// row that comes after its TS was released (late beyond the grace, or a
// correction) is emitted and so are the other pairs' rows at that TS again,
// their xp_* recomputed and their Revision higher: consumers keep the
// highest revision, and the final rows equal the backfill's. Cross keeps the
// TS slots of the last Horizon for that; a row older than that is emitted
// with what is still known (counted in CrossStats.TooLate).

// crossSources are the base features the xp_* features average, in order.
var crossSources = [...]struct{ to, from int }{
	{FXRet1, FRet1}, {FXRet5, FRet5}, {FXRet15, FRet15},
	{FXRVol5, FRVol5}, {FXRVol30, FRVol30}, {FXRVol60, FRVol60},
}

// CrossFill returns base with its cross-pair features set from others: each
// xp_* is the mean of the matching feature over the rows of others that are
// of another pair, at base.TS, and have the value (NaN when none has). The
// Revision grows by one plus the Revision of each row used. others are base
// rows (their own xp_* are ignored); the order of others does not change
// the result (they are summed in pair order).
func CrossFill(base FeatureRow, others []FeatureRow) FeatureRow {
	row := base
	for _, s := range crossSources {
		row.Values[s.to] = math.NaN()
	}
	used := make([]*FeatureRow, 0, len(others))
	for i := range others {
		o := &others[i]
		if o.Pair != base.Pair && o.TS.Equal(base.TS) {
			used = append(used, o)
		}
	}
	if len(used) == 0 {
		return row
	}
	slices.SortFunc(used, func(a, b *FeatureRow) int { return cmpString(a.Pair, b.Pair) })
	for _, o := range used {
		row.Revision += 1 + o.Revision
	}
	for _, s := range crossSources {
		sum, n := 0.0, 0
		for _, o := range used {
			if v := o.Values[s.from]; !math.IsNaN(v) {
				sum += v
				n++
			}
		}
		if n > 0 {
			row.Values[s.to] = sum / float64(n)
		}
	}
	return row
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CrossConfig configures a Cross.
type CrossConfig struct {
	// Pairs are the pairs to wait for; pairs seen in the stream are added.
	// Empty: the pairs seen.
	Pairs []string
	// Grace is how far (in event time) a pair may lag the newest row of any
	// pair before its rows are no longer waited for. 0 waits only for rows
	// of the same TS that are already due (the pair has passed TS).
	Grace time.Duration
	// Horizon is how long released TS slots are kept to re-emit rows when a
	// late or corrected row joins: at least the correction horizon
	// (FeatureWindow candles).
	Horizon time.Duration
}

// CrossStats counts what a Cross did.
type CrossStats struct {
	Released  int // rows emitted when their TS was released
	Reemitted int // rows emitted again because a row at their TS came or changed
	Missing   int // rows released without some known pair's row at their TS
	TooLate   int // rows older than the horizon, emitted with what was still held
}

// Cross fills the cross-pair features of a stream of base rows, aligning
// the pairs on TS (see the design above). It is not safe for concurrent use.
type Cross struct {
	cfg    CrossConfig
	newest map[string]time.Time // per known pair, its newest row's TS
	order  []string             // known pairs, sorted
	clock  time.Time            // the newest TS of any row
	first  time.Time            // the first TS of any row
	slots  []*crossSlot         // by TS, oldest first
	stats  CrossStats
	others []FeatureRow // reused
}

type crossSlot struct {
	ts       time.Time
	rows     map[string]FeatureRow // base rows by pair
	released bool
}

// NewCross returns a Cross, or an error wrapping ErrInvalid for a negative
// grace or a horizon shorter than the grace.
func NewCross(cfg CrossConfig) (*Cross, error) {
	if cfg.Grace < 0 || cfg.Horizon <= 0 || cfg.Horizon < cfg.Grace {
		return nil, fmt.Errorf("cross-pair features: grace %s and horizon %s: want 0 <= grace <= horizon, horizon > 0: %w",
			cfg.Grace, cfg.Horizon, ErrInvalid)
	}
	x := &Cross{cfg: cfg, newest: map[string]time.Time{}}
	for _, p := range cfg.Pairs {
		x.know(p)
	}
	return x, nil
}

func (x *Cross) know(pair string) {
	if _, ok := x.newest[pair]; ok {
		return
	}
	x.newest[pair] = time.Time{}
	i, _ := slices.BinarySearch(x.order, pair)
	x.order = slices.Insert(x.order, i, pair)
}

// Stats returns the counts so far.
func (x *Cross) Stats() CrossStats { return x.stats }

// Add takes the base row of a pair at a TS (new, or replacing the one held:
// a correction) and appends to dst the rows that are ready, their xp_* set:
// the rows of every TS released by it, and when its TS was already released,
// it and the other pairs' rows at that TS again. Rows of one pair come out
// in TS order, except re-emitted ones.
func (x *Cross) Add(row FeatureRow, dst []FeatureRow) []FeatureRow {
	x.know(row.Pair)
	if row.TS.After(x.newest[row.Pair]) {
		x.newest[row.Pair] = row.TS
	}
	if row.TS.After(x.clock) {
		x.clock = row.TS
	}
	if x.first.IsZero() {
		x.first = row.TS
	}
	s := x.slot(row.TS)
	if s == nil { // older than every slot kept
		x.stats.TooLate++
		return append(dst, CrossFill(row, nil))
	}
	s.rows[row.Pair] = row
	if s.released {
		for _, p := range x.order {
			if r, ok := s.rows[p]; ok {
				dst = append(dst, x.fill(s, r))
				if p != row.Pair { // the row that came is new or a correction
					x.stats.Reemitted++
				}
			}
		}
	}
	dst = x.release(dst, false)
	x.prune()
	return dst
}

// Flush releases every TS held (the end of a stream: nothing more comes).
func (x *Cross) Flush(dst []FeatureRow) []FeatureRow {
	return x.release(dst, true)
}

// slot returns the slot of ts, creating it in order; nil when ts is older
// than the horizon.
func (x *Cross) slot(ts time.Time) *crossSlot {
	i, found := slices.BinarySearchFunc(x.slots, ts, func(s *crossSlot, t time.Time) int { return s.ts.Compare(t) })
	if found {
		return x.slots[i]
	}
	if !ts.After(x.clock.Add(-x.cfg.Horizon)) {
		return nil
	}
	s := &crossSlot{ts: ts, rows: make(map[string]FeatureRow, len(x.order))}
	x.slots = slices.Insert(x.slots, i, s)
	return s
}

// release emits the slots that are ready, oldest first, stopping at the
// first that is not (every one after it waits too, so that a pair's rows
// come in TS order); all of them when all is set.
func (x *Cross) release(dst []FeatureRow, all bool) []FeatureRow {
	for _, s := range x.slots {
		if s.released {
			continue
		}
		if !all && !x.ready(s) {
			break
		}
		s.released = true
		for _, p := range x.order {
			r, ok := s.rows[p]
			if !ok {
				continue
			}
			dst = append(dst, x.fill(s, r))
			x.stats.Released++
			if len(s.rows) < len(x.order) {
				x.stats.Missing++
			}
		}
	}
	return dst
}

// ready: every known pair has its row at s.ts, has passed s.ts, or lags
// the newest row by more than the grace. A configured pair not seen yet
// lags from the stream's first row.
func (x *Cross) ready(s *crossSlot) bool {
	for _, p := range x.order {
		if _, ok := s.rows[p]; ok {
			continue
		}
		n := x.newest[p]
		if n.IsZero() {
			if x.clock.Sub(x.first) > x.cfg.Grace {
				continue
			}
			return false
		}
		if !n.Before(s.ts) || x.clock.Sub(n) > x.cfg.Grace {
			continue
		}
		return false
	}
	return true
}

// fill is r with its xp_* from the other rows of s.
func (x *Cross) fill(s *crossSlot, r FeatureRow) FeatureRow {
	x.others = x.others[:0]
	for _, p := range x.order {
		if o, ok := s.rows[p]; ok && p != r.Pair {
			x.others = append(x.others, o)
		}
	}
	return CrossFill(r, x.others)
}

// prune drops the released slots older than the horizon.
func (x *Cross) prune() {
	cut := x.clock.Add(-x.cfg.Horizon)
	i := 0
	for i < len(x.slots) && x.slots[i].released && !x.slots[i].ts.After(cut) {
		i++
	}
	if i > 0 {
		x.slots = slices.Delete(x.slots, 0, i)
	}
}
