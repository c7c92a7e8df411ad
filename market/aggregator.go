package market

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Aggregator defaults.
const (
	DefaultInterval = time.Minute
	DefaultMaxGaps  = 1024
	// DefaultRepairWindows keeps as many closed windows as a feature row
	// depends on: a correction older than that could not fix the features.
	DefaultRepairWindows = FeatureWindow
	// DefaultGrace is the grace the live pipeline uses; it is not applied
	// automatically because 0 is a valid explicit value.
	DefaultGrace = 2 * time.Second

	maxInterval = 24 * time.Hour
	// maxRepairWindows bounds the memory kept per pair (~150 bytes a window).
	maxRepairWindows = 1 << 16
	// maxUnixSec is the last second whose nanoseconds fit in an int64 (2262).
	maxUnixSec = math.MaxInt64 / int64(time.Second)
)

// AggregatorConfig configures an Aggregator.
type AggregatorConfig struct {
	// Interval is the window length, 1s..24h, a whole number of seconds that
	// divides a day so that windows align to UTC midnight; 0 means 1m.
	Interval time.Duration
	// Grace is how long after its End a window stays open for out-of-order
	// trades, 0 <= Grace < 24h.
	Grace time.Duration
	// MaxGaps bounds the trade_id gaps and marked gaps tracked per pair
	// (each kind); 0 means 1024. The oldest is dropped beyond it.
	MaxGaps int
	// RepairWindows is how many closed windows per pair are kept so that a
	// trade filling a tracked gap after its window closed still corrects that
	// candle (see Aggregator); 0 means DefaultRepairWindows, negative keeps
	// none (such trades are then late).
	RepairWindows int
}

func (c AggregatorConfig) withDefaults() AggregatorConfig {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.MaxGaps == 0 {
		c.MaxGaps = DefaultMaxGaps
	}
	if c.RepairWindows == 0 {
		c.RepairWindows = DefaultRepairWindows
	}
	return c
}

// Validate checks the config after defaults are applied.
func (c AggregatorConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Interval < time.Second || c.Interval > maxInterval:
		return fmt.Errorf("aggregator interval %v: outside 1s..24h: %w", c.Interval, ErrInvalid)
	case c.Interval%time.Second != 0:
		return fmt.Errorf("aggregator interval %v: not a whole number of seconds: %w", c.Interval, ErrInvalid)
	case maxInterval%c.Interval != 0:
		return fmt.Errorf("aggregator interval %v: does not divide 24h: %w", c.Interval, ErrInvalid)
	case c.Grace < 0 || c.Grace >= maxInterval:
		return fmt.Errorf("aggregator grace %v: outside 0..24h: %w", c.Grace, ErrInvalid)
	case c.MaxGaps < 0:
		return fmt.Errorf("aggregator max gaps %d: negative: %w", c.MaxGaps, ErrInvalid)
	case c.RepairWindows > maxRepairWindows:
		return fmt.Errorf("aggregator repair windows %d: above %d: %w", c.RepairWindows, maxRepairWindows, ErrInvalid)
	}
	return nil
}

// Outcome says what Add did with a valid trade.
type Outcome uint8

const (
	OutcomeAccepted  Outcome = iota // merged into an open window
	OutcomeDuplicate                // (pair, trade_id) seen before: dropped
	OutcomeLate                     // its window already closed: not merged
	OutcomeInvalid                  // rejected by validation (Add also returns an error)
	OutcomeRepaired                 // filled a gap in a closed window: merged, the candle re-emitted
	OutcomeCorrected                // late for a closed window still kept: merged, the candle re-emitted
)

func (o Outcome) String() string {
	switch o {
	case OutcomeAccepted:
		return "accepted"
	case OutcomeDuplicate:
		return "duplicate"
	case OutcomeLate:
		return "late"
	case OutcomeInvalid:
		return "invalid"
	case OutcomeRepaired:
		return "repaired"
	case OutcomeCorrected:
		return "corrected"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// AggregatorStats are cumulative counters. Gaps counts detected trade_id gaps
// and MarkGap calls; MissingTrades the ids missing when gaps were detected
// (not decremented when they arrive); Filled the trades, accepted, repaired
// or late, whose id was in a tracked gap; Repaired the trades merged into a
// closed window (OutcomeRepaired); LateMerged the late trades merged into a
// kept window (OutcomeCorrected); Corrected the candles re-emitted;
// Outages the outages opened (OpenOutage).
type AggregatorStats struct {
	Accepted, Duplicates, Late, Invalid, Gaps, MissingTrades, Filled int64
	Repaired, LateMerged, Corrected, Outages                         int64
}

// Aggregator builds event-time tumbling-window candles for many pairs.
//
// Windows are [Start, End) aligned to the Unix epoch. A pair's first trade
// opens its first window; from then on every window of the pair is emitted
// once, in time order, an empty candle when it has no trades. A window closes
// when the pair's watermark (latest trade time) or Advance's clock reaches
// End+Grace, or on Flush. Candles of several pairs closed by one Advance or
// Flush come pair by pair in the order the pairs were first seen.
//
// Duplicates: trade ids are a consecutive per-pair sequence, so the ids seen
// (accepted or late) are kept as a range [min, max] minus the tracked gaps. A
// trade whose id is in that set is a duplicate, whatever its window; an id in
// a gap or outside the range is new, merged if its window is open and late
// otherwise. Trades without an id (0) are never duplicates.
//
// Gaps: an id above max+1 (or below min-1) opens a gap of the ids between,
// over the time between the trades on either side. A window that closes
// while a gap (or a MarkGap range) overlaps it has Complete=false, and a kept
// window that closed complete (the clock closed it before the trade that
// shows the gap came) is re-emitted with Complete=false when the gap is
// found: the same flags as a batch over the same trades, whatever the
// timing; a window that received a trade filling a gap has Repaired=true.
// Memory is bounded by
// MaxGaps per pair: when the oldest gap is dropped its ids count as seen, so
// their trades, were they to come, would be reported as duplicates, not late.
// Ids that are not consecutive per pair would make every candle incomplete.
//
// Corrections: the last RepairWindows closed windows of each pair are kept
// (the correction horizon). A new trade whose window closed but is kept is
// merged into it exactly as into an open window (Open/Close by (ts,
// trade_id)): OutcomeRepaired when its id filled a tracked gap (fetched from
// REST after a disconnect, say; the candle gets Repaired=true),
// OutcomeCorrected otherwise (a late trade). The corrected candles are
// appended to out. Whenever a trade fills a gap, whatever its outcome, the
// kept candles that change are re-emitted, oldest first and before any
// candle the trade closes: the one the trade went into, the empty candles
// after it that repeated an older close, and those the gap overlapped that
// are complete now (Complete=false only while a gap, an outage or a MarkGap
// range still overlaps them). A re-emitted candle has the Start of one
// emitted before and a Revision one higher: consumers keyed by (pair,
// start) keep the highest. Only a trade older than the kept windows is late
// (OutcomeLate), never merged.
//
// Outages: the input says when it may have missed trades it cannot name by
// id (a lost connection, the start of a stream) with OpenOutage; windows
// overlapping an unresolved outage close with Complete=false. ResolveOutage
// ends it (the missed ids, if any, become a tracked gap) and re-emits the
// kept windows that are complete now; AbandonOutage turns it into a
// permanent mark.
//
// An Aggregator is not safe for concurrent use.
type Aggregator struct {
	iv, grace int64 // nanoseconds
	maxGaps   int
	keep      int // closed windows kept per pair for repair
	byPair    map[string]*pairState
	pairs     []*pairState // first-seen order, for deterministic output
	last      *pairState   // runs of one pair skip the map
	stats     AggregatorStats
}

// NewAggregator returns an Aggregator for cfg (defaults applied).
func NewAggregator(cfg AggregatorConfig) (*Aggregator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Aggregator{
		iv:      int64(cfg.Interval),
		grace:   int64(cfg.Grace),
		maxGaps: cfg.MaxGaps,
		keep:    max(cfg.RepairWindows, 0),
		byPair:  make(map[string]*pairState),
	}, nil
}

// Stats returns the counters so far.
func (a *Aggregator) Stats() AggregatorStats { return a.stats }

// Add ingests one trade: the candles it closes (those whose End+Grace the
// pair's watermark reaches) are appended to out, after the corrected candles
// of a repair (see Aggregator). Duplicate and late trades are only counted.
// Invalid trades (Validate, or a time outside 1970..2262) return
// OutcomeInvalid and an error wrapping ErrInvalid and change nothing but the
// Invalid counter. Add does not allocate once a pair's windows exist, except
// to grow out.
func (a *Aggregator) Add(t Trade, out []Candle) ([]Candle, Outcome, error) {
	ns, err := tradeNanos(t)
	if err != nil {
		a.stats.Invalid++
		return out, OutcomeInvalid, err
	}
	p := a.state(t.Pair)
	if t.TradeID > 0 && p.seen(t.TradeID) {
		a.stats.Duplicates++
		return out, OutcomeDuplicate, nil
	}
	start := ns - ns%a.iv
	open := a.admit(p, start)
	// Late trades count as seen too: a copy re-sent later is a duplicate, and
	// their ids close gaps that would otherwise mark later windows incomplete.
	var gap, opened tradeGap
	filled, found := false, false
	if t.TradeID > 0 {
		filled, found = a.trackID(p, t.TradeID, ns, &gap, &opened)
	}
	if found { // the kept candles it overlaps lack its trades, or may
		out = a.markGap(p, opened, out)
	}
	if !open {
		return a.closedTrade(p, &t, ns, start, filled, gap, out)
	}
	if filled {
		out = a.reemit(p, gap, -1, out)
	}
	if ns > p.wm {
		p.wm = ns
		out = a.closeUntil(p, ns-a.grace, out)
	}
	w := p.wins.at(a.index(p, start))
	w.add(&t, ns)
	w.repaired = w.repaired || filled
	a.stats.Accepted++
	return out, OutcomeAccepted, nil
}

// closedTrade handles a trade whose window closed: merged into the kept
// window (a repair when it filled gap, a correction otherwise), late when
// the window is older than the kept ones.
func (a *Aggregator) closedTrade(p *pairState, t *Trade, ns, start int64, filled bool, gap tradeGap, out []Candle) ([]Candle, Outcome, error) {
	k, kept := p.closed.index(start, p.base, a.iv)
	if !kept {
		a.stats.Late++
		if filled { // its id is no longer missing: kept candles may be complete now
			out = a.reemit(p, gap, -1, out)
		}
		return out, OutcomeLate, nil
	}
	cw := p.closed.at(k)
	cw.w.add(t, ns)
	outcome := OutcomeCorrected
	if filled {
		cw.w.repaired = true
		a.stats.Repaired++
		outcome = OutcomeRepaired
	} else {
		a.stats.LateMerged++
	}
	return a.reemit(p, gap, k, out), outcome, nil
}

// Advance is the clock tick: for every pair seen it closes each window with
// End+Grace <= now, emitting empty candles for windows without trades (one
// per window: a clock far ahead of the trades emits that many).
func (a *Aggregator) Advance(now time.Time, out []Candle) []Candle {
	cutoff := clampNanos(now) - a.grace
	for _, p := range a.pairs {
		if p.started {
			out = a.closeUntil(p, cutoff, out)
		}
	}
	return out
}

// Flush closes every open window of every pair up to the one holding the
// pair's latest trade (end of a replay). Later trades in closed windows are late.
func (a *Aggregator) Flush(out []Candle) []Candle {
	for _, p := range a.pairs {
		if p.started {
			out = a.closeUntil(p, p.wm-p.wm%a.iv+a.iv, out)
		}
	}
	return out
}

// MarkGap records that trades of pair (spelled as on its trades) were lost
// between from and to inclusive, where no trade ids can show it (e.g. a
// dropped connection to a source without ids): windows overlapping it that
// have not closed yet close with Complete=false.
func (a *Aggregator) MarkGap(pair string, from, to time.Time) {
	if pair == "" {
		return
	}
	f, t := clampNanos(from), clampNanos(to)
	if t < f {
		f, t = t, f
	}
	p := a.state(pair)
	p.marks = appendBounded(p.marks, tradeGap{lo: 1, hi: 0, from: f, to: t}, a.maxGaps)
	a.stats.Gaps++
}

// Forget drops all that is held for pair (spelled as on its trades): its
// open and kept windows, the ids seen, gaps, marks and outages, as if it had
// never come; it reports whether there was any. A consumer that lost the
// pair's input and got it back from an earlier point rebuilds it this way,
// rather than merging the re-read trades into what it held before. The
// counters stay.
func (a *Aggregator) Forget(pair string) bool {
	p, ok := a.byPair[pair]
	if !ok {
		return false
	}
	delete(a.byPair, pair)
	a.pairs = slices.DeleteFunc(a.pairs, func(q *pairState) bool { return q == p })
	if a.last == p {
		a.last = nil
	}
	return true
}

// tradeNanos validates t and returns its time in Unix nanoseconds, which must
// lie in 1970..2262 for window arithmetic.
func tradeNanos(t Trade) (int64, error) {
	if err := t.Validate(); err != nil {
		return 0, err
	}
	if s := t.TS.Unix(); s < 0 || s >= maxUnixSec {
		return 0, fmt.Errorf("trade %s/%d: timestamp %v outside 1970..2262: %w", t.Pair, t.TradeID, t.TS, ErrInvalid)
	}
	return t.TS.UnixNano(), nil
}

func clampNanos(t time.Time) int64 {
	switch s := t.Unix(); {
	case s < 0:
		return 0
	case s >= maxUnixSec:
		return math.MaxInt64
	}
	return t.UnixNano()
}

func (a *Aggregator) state(pair string) *pairState {
	if a.last != nil && a.last.pair == pair {
		return a.last
	}
	p, ok := a.byPair[pair]
	if !ok {
		p = &pairState{pair: pair, wm: math.MinInt64, lostTo: math.MinInt64}
		a.byPair[pair] = p
		a.pairs = append(a.pairs, p)
	}
	a.last = p
	return p
}

// admit reports whether the window starting at start is open, opening the
// pair's first window, or one before it while nothing has been emitted and
// the watermark has not passed its End+Grace (such windows never closed).
func (a *Aggregator) admit(p *pairState, start int64) bool {
	switch {
	case !p.started:
		p.started, p.base = true, start
		return true
	case start >= p.base:
		return true
	case p.emitted || start+a.iv+a.grace <= p.wm:
		return false
	}
	for p.base > start {
		p.wins.pushFront()
		p.base -= a.iv
	}
	return true
}

// index returns the ring index of the open window at start, adding windows.
func (a *Aggregator) index(p *pairState, start int64) int {
	i := int((start - p.base) / a.iv)
	for p.wins.n <= i {
		p.wins.pushBack()
	}
	return i
}

// closeUntil emits the pair's windows whose End <= cutoff.
func (a *Aggregator) closeUntil(p *pairState, cutoff int64, out []Candle) []Candle {
	for p.base <= cutoff-a.iv {
		out = append(out, a.closeOldest(p))
	}
	if len(p.marks) > 0 {
		p.pruneMarks()
	}
	return out
}

func (a *Aggregator) closeOldest(p *pairState) Candle {
	var w *openWindow
	if p.wins.n > 0 {
		w = p.wins.at(0)
		p.wins.popFront() // the slot stays valid until the next push
	}
	end := p.base + a.iv
	marked := p.marked(p.base, end)
	complete := !marked && !overlapsAny(p.gaps, p.base, end) && !overlapsAny(p.outages, p.base, end)
	c := makeCandle(p.pair, w, p.base, a.iv, p.lastClose, complete, 0)
	if a.keep > 0 {
		p.closed.push(a.keep, closedWindow{prev: p.lastClose, complete: c.Complete, marked: marked}, w)
	}
	p.base += a.iv
	p.emitted = true
	p.lastClose = c.Close
	return c
}

// reemit appends, oldest first, the kept closed candles that changed: the one
// at index k (a trade was merged into it; -1 for none), the empty ones whose
// previous close changed, and the incomplete ones that gap g (as it was
// before a fill) overlapped and that no gap overlaps any more. A candle
// re-emitted is complete only if nothing overlaps it now: a merged trade
// does not complete a window whose other trades are still missing.
func (a *Aggregator) reemit(p *pairState, g tradeGap, k int, out []Candle) []Candle {
	r := &p.closed
	start := p.base - int64(r.n)*a.iv
	for i := range r.n {
		cw := r.at(i)
		changed := i == k
		if i > 0 {
			if prev := r.at(i - 1).close(); prev != cw.prev {
				cw.prev = prev
				changed = changed || cw.w.trades == 0 // only empty candles show it
			}
		}
		end := start + a.iv
		switch now := p.completeAfterClose(cw, start, end); {
		case changed:
			cw.complete = now
		case !cw.complete && g.overlaps(start, end) && now:
			cw.complete, changed = true, true
		}
		if changed {
			cw.rev++
			out = append(out, makeCandle(p.pair, &cw.w, start, a.iv, cw.prev, cw.complete, cw.rev))
			a.stats.Corrected++
		}
		start = end
	}
	if r.n > 0 {
		p.lastClose = r.at(r.n - 1).close()
	}
	return out
}

// trackID updates the pair's id range and gaps for a new trade; it reports
// whether the id filled a tracked gap, setting *filled to that gap as it was
// before, and whether it revealed a new one, setting *opened to it.
func (a *Aggregator) trackID(p *pairState, id, ns int64, filled, opened *tradeGap) (fill, found bool) {
	r := &p.ids
	switch {
	case !r.known:
		*r = idRange{known: true, min: id, max: id, minTS: ns, maxTS: ns}
	case id == r.max+1: // the steady state
		r.max, r.maxTS = id, ns
	case id > r.max:
		*opened = a.addGap(p, tradeGap{lo: r.max + 1, hi: id - 1, from: r.maxTS, to: ns})
		r.max, r.maxTS = id, ns
		return false, true
	case id < r.min:
		found = id < r.min-1
		if found {
			*opened = a.addGap(p, tradeGap{lo: id + 1, hi: r.min - 1, from: ns, to: r.minTS})
		}
		r.min, r.minTS = id, ns
		return false, found
	default:
		i, ok := p.gapOf(id)
		if !ok { // cannot happen: seen ids were dropped before
			return false, false
		}
		*filled = p.gaps[i]
		a.stats.Filled++
		p.fill(i, id, ns, a.maxGaps)
		return true, false
	}
	return false, false
}

func (a *Aggregator) addGap(p *pairState, g tradeGap) tradeGap {
	if g.to < g.from { // ids and times disagree; keep the range well-formed
		g.from, g.to = g.to, g.from
	}
	a.stats.Gaps++
	a.stats.MissingTrades += g.hi - g.lo + 1
	p.insertGap(g, a.maxGaps)
	return g
}

// markGap re-emits, incomplete, the kept closed candles that a gap found
// after they closed overlaps: a window closes complete when no missing
// trade is known, and a trade_id jump may only show later (the stream
// clock closed the window first) that one of its trades is missing, or may
// be. The fills of the gap complete them again (reemit).
func (a *Aggregator) markGap(p *pairState, g tradeGap, out []Candle) []Candle {
	r := &p.closed
	start := p.base - int64(r.n)*a.iv
	for i := range r.n {
		cw := r.at(i)
		if end := start + a.iv; cw.complete && g.overlaps(start, end) {
			cw.complete = false
			cw.rev++
			out = append(out, makeCandle(p.pair, &cw.w, start, a.iv, cw.prev, false, cw.rev))
			a.stats.Corrected++
		}
		start += a.iv
	}
	return out
}

// pairState is one pair's aggregation state.
type pairState struct {
	pair      string
	started   bool    // its first trade opened the first window
	emitted   bool    // a window closed: nothing before base may open again
	base      int64   // start of the oldest open window
	wm        int64   // watermark: latest trade time
	lastClose float64 // close of the last emitted candle, for empty windows
	wins      windowRing
	ids       idRange
	gaps      []tradeGap // missing trade ids, sorted by lo, disjoint
	marks     []tradeGap // MarkGap time ranges (no ids)
	outages   []tradeGap // unresolved outages: lo is the input's id, to MaxInt64 while open-ended
	closed    closedRing // the last closed windows, for repair
	lostTo    int64      // end of the latest gap dropped for MaxGaps
}

// idRange is the range of trade ids accepted for a pair and the times of its ends.
type idRange struct {
	known        bool
	min, max     int64
	minTS, maxTS int64
}

// tradeGap is a range of missing trade ids lo..hi (empty for a marked gap) and the
// time range [from, to] (ns, inclusive) in which the missing trades lie.
type tradeGap struct {
	lo, hi   int64
	from, to int64
}

func (g tradeGap) overlaps(start, end int64) bool { return g.from < end && g.to >= start }

// seen reports whether id is in [min, max] and in no tracked gap.
func (p *pairState) seen(id int64) bool {
	if !p.ids.known || id < p.ids.min || id > p.ids.max {
		return false
	}
	_, in := p.gapOf(id)
	return !in
}

// gapOf returns the index of the gap holding id, or where one would go.
func (p *pairState) gapOf(id int64) (int, bool) {
	i, _ := slices.BinarySearchFunc(p.gaps, id, func(g tradeGap, id int64) int {
		switch {
		case g.hi < id:
			return -1
		case g.lo > id:
			return 1
		}
		return 0
	})
	return i, i < len(p.gaps) && p.gaps[i].lo <= id && id <= p.gaps[i].hi
}

func (p *pairState) insertGap(g tradeGap, maxGaps int) {
	if len(p.gaps) >= maxGaps { // drop the lowest ids: the oldest trades
		p.dropOldestGap()
	}
	i, _ := p.gapOf(g.lo)
	p.gaps = slices.Insert(p.gaps, i, g)
}

// fill removes id, which arrived at ns, from its gap p.gaps[i], narrowing the
// gap's time range on the assumption that ids and times grow together.
func (p *pairState) fill(i int, id, ns int64, maxGaps int) {
	g := p.gaps[i]
	below := tradeGap{lo: g.lo, hi: id - 1, from: g.from, to: max(g.from, min(g.to, ns))}
	above := tradeGap{lo: id + 1, hi: g.hi, from: min(g.to, max(g.from, ns)), to: g.to}
	p.gaps = slices.Delete(p.gaps, i, i+1)
	if above.lo <= above.hi {
		p.gaps = slices.Insert(p.gaps, i, above)
	}
	if below.lo <= below.hi {
		p.gaps = slices.Insert(p.gaps, i, below)
	}
	if len(p.gaps) > maxGaps {
		p.dropOldestGap()
	}
}

// dropOldestGap forgets the gap of the lowest ids; the kept windows up to its
// end stay incomplete, since its trades will never be merged.
func (p *pairState) dropOldestGap() {
	p.lostTo = max(p.lostTo, p.gaps[0].to)
	p.gaps = slices.Delete(p.gaps, 0, 1)
}

// pruneMarks drops marked gaps that no open or future window can overlap.
func (p *pairState) pruneMarks() {
	p.marks = slices.DeleteFunc(p.marks, func(g tradeGap) bool { return g.to < p.base })
}

func appendBounded(gs []tradeGap, g tradeGap, maxGaps int) []tradeGap {
	if len(gs) >= maxGaps {
		gs = slices.Delete(gs, 0, 1)
	}
	return append(gs, g)
}

func (p *pairState) marked(start, end int64) bool { return overlapsAny(p.marks, start, end) }

// completeAfterClose reports whether the kept window cw at [start, end) is
// complete now: marks are pruned once no open window overlaps them, so the
// window remembers whether one did when it closed.
func (p *pairState) completeAfterClose(cw *closedWindow, start, end int64) bool {
	return !cw.marked && p.lostTo < start && !overlapsAny(p.gaps, start, end) && !overlapsAny(p.outages, start, end)
}

func overlapsAny(gs []tradeGap, start, end int64) bool {
	for _, g := range gs {
		if g.overlaps(start, end) {
			return true
		}
	}
	return false
}

// makeCandle builds the candle of the window at start; w is nil or has no
// trades for an empty window, which repeats the previous close.
func makeCandle(pair string, w *openWindow, start, iv int64, prevClose float64, complete bool, rev int) Candle {
	c := Candle{
		Pair:     pair,
		Start:    time.Unix(0, start).UTC(),
		End:      time.Unix(0, start+iv).UTC(),
		Complete: complete,
		Revision: rev,
	}
	if w == nil || w.trades == 0 {
		c.Open, c.High, c.Low, c.Close, c.VWAP = prevClose, prevClose, prevClose, prevClose, prevClose
		return c
	}
	w.fillCandle(&c)
	return c
}

// openWindow accumulates the trades of one open window.
type openWindow struct {
	trades                 int64
	open, high, low, close float64
	openTS, closeTS        int64
	openID, closeID        int64
	volume, pv             float64
	buyVol, sellVol        float64
	firstID, lastID        int64
	repaired               bool
}

// add merges t: Open/Close are the trades with the earliest/latest
// (ts, trade_id), so out-of-order arrival gives the same candle.
func (w *openWindow) add(t *Trade, ns int64) {
	if w.trades == 0 {
		w.open, w.high, w.low, w.close = t.Price, t.Price, t.Price, t.Price
		w.openTS, w.closeTS, w.openID, w.closeID = ns, ns, t.TradeID, t.TradeID
	} else {
		w.merge(t, ns)
	}
	w.trades++
	w.volume += t.Qty
	w.pv += t.Price * t.Qty
	switch t.Side {
	case SideBuy:
		w.buyVol += t.Qty
	case SideSell:
		w.sellVol += t.Qty
	}
	if id := t.TradeID; id > 0 {
		w.firstID = minNonZero(w.firstID, id)
		w.lastID = max(w.lastID, id)
	}
}

func (w *openWindow) merge(t *Trade, ns int64) {
	w.high = max(w.high, t.Price)
	w.low = min(w.low, t.Price)
	if ns < w.openTS || (ns == w.openTS && t.TradeID < w.openID) {
		w.open, w.openTS, w.openID = t.Price, ns, t.TradeID
	}
	if ns > w.closeTS || (ns == w.closeTS && t.TradeID >= w.closeID) {
		w.close, w.closeTS, w.closeID = t.Price, ns, t.TradeID
	}
}

// minNonZero is min over ids where 0 means none yet.
func minNonZero(cur, id int64) int64 {
	if cur == 0 || id < cur {
		return id
	}
	return cur
}

func (w *openWindow) fillCandle(c *Candle) {
	c.Open, c.High, c.Low, c.Close = w.open, w.high, w.low, w.close
	c.Volume, c.Trades = w.volume, w.trades
	c.BuyVolume, c.SellVolume = w.buyVol, w.sellVol
	c.FirstTradeID, c.LastTradeID = w.firstID, w.lastID
	c.Repaired = w.repaired
	c.VWAP = w.close
	if w.volume > 0 {
		c.VWAP = w.pv / w.volume
	}
}

// windowRing holds a pair's open windows, oldest first, in a power-of-two
// ring so that closing and opening windows do not allocate.
type windowRing struct {
	buf     []openWindow
	head, n int
}

func (r *windowRing) at(i int) *openWindow { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

func (r *windowRing) grow() {
	if r.n < len(r.buf) {
		return
	}
	buf := make([]openWindow, max(4, 2*len(r.buf)))
	for i := range r.n {
		buf[i] = *r.at(i)
	}
	r.buf, r.head = buf, 0
}

func (r *windowRing) pushBack() {
	r.grow()
	r.n++
	*r.at(r.n - 1) = openWindow{}
}

func (r *windowRing) pushFront() {
	r.grow()
	r.head = (r.head - 1) & (len(r.buf) - 1)
	r.n++
	*r.at(0) = openWindow{}
}

func (r *windowRing) popFront() {
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
}

// closedWindow is a closed window kept for repair: its trades' aggregates,
// the close of the candle before it (the OHLC of an empty window) and its
// flags as last emitted.
type closedWindow struct {
	w        openWindow
	prev     float64
	complete bool
	marked   bool // a MarkGap range overlapped it when it closed
	rev      int  // revision of the candle last emitted
}

// close is the close of the window's candle.
func (cw *closedWindow) close() float64 {
	if cw.w.trades == 0 {
		return cw.prev
	}
	return cw.w.close
}

// closedRing keeps a pair's last closed windows, oldest first; the newest
// is the window just before the oldest open one. Its buffer is allocated
// once, at the pair's first close.
type closedRing struct {
	buf     []closedWindow
	head, n int // head: slot of the oldest
}

func (r *closedRing) at(i int) *closedWindow { return &r.buf[(r.head+i)%len(r.buf)] }

// push appends cw with the aggregates of w (nil: none), dropping the oldest
// beyond keep windows.
func (r *closedRing) push(keep int, cw closedWindow, w *openWindow) {
	if r.buf == nil {
		r.buf = make([]closedWindow, keep)
	}
	if r.n == len(r.buf) {
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	r.n++
	slot := r.at(r.n - 1)
	*slot = cw
	if w != nil {
		slot.w = *w
	}
}

// index returns the position of the kept window at start, given base, the
// start of the pair's oldest open window.
func (r *closedRing) index(start, base, iv int64) (int, bool) {
	if start >= base || start < base-int64(r.n)*iv {
		return 0, false
	}
	return r.n - int((base-start)/iv), true
}
