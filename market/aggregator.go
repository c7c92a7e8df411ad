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
	// DefaultGrace is the grace the live pipeline uses; it is not applied
	// automatically because 0 is a valid explicit value.
	DefaultGrace = 2 * time.Second

	maxInterval = 24 * time.Hour
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
}

func (c AggregatorConfig) withDefaults() AggregatorConfig {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.MaxGaps == 0 {
		c.MaxGaps = DefaultMaxGaps
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
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// AggregatorStats are cumulative counters. Gaps counts detected trade_id gaps
// and MarkGap calls; MissingTrades the ids missing when gaps were detected
// (not decremented when they arrive); Filled the trades, accepted or late,
// whose id was in a tracked gap.
type AggregatorStats struct {
	Accepted, Duplicates, Late, Invalid, Gaps, MissingTrades, Filled int64
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
// while a gap (or a MarkGap range) overlaps it has Complete=false; a window
// that received a trade filling a gap has Repaired=true. Memory is bounded by
// MaxGaps per pair: when the oldest gap is dropped its ids count as seen, so
// their trades, were they to come, would be reported as duplicates, not late.
// Ids that are not consecutive per pair would make every candle incomplete.
//
// An Aggregator is not safe for concurrent use.
type Aggregator struct {
	iv, grace int64 // nanoseconds
	maxGaps   int
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
		byPair:  make(map[string]*pairState),
	}, nil
}

// Stats returns the counters so far.
func (a *Aggregator) Stats() AggregatorStats { return a.stats }

// Add ingests one trade: the candles it closes (those whose End+Grace the
// pair's watermark reaches) are appended to out. Duplicate and late trades
// are only counted. Invalid trades (Validate, or a time outside 1970..2262)
// return OutcomeInvalid and an error wrapping ErrInvalid and change nothing
// but the Invalid counter.
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
	filled := t.TradeID > 0 && a.trackID(p, t.TradeID, ns)
	if !open {
		a.stats.Late++
		return out, OutcomeLate, nil
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
		p = &pairState{pair: pair, wm: math.MinInt64}
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
	c := p.candle(w, p.base, a.iv)
	p.base += a.iv
	p.emitted = true
	p.lastClose = c.Close
	return c
}

// trackID updates the pair's id range and gaps for an accepted trade; it
// reports whether the id filled a tracked gap.
func (a *Aggregator) trackID(p *pairState, id, ns int64) bool {
	r := &p.ids
	switch {
	case !r.known:
		*r = idRange{known: true, min: id, max: id, minTS: ns, maxTS: ns}
	case id == r.max+1: // the steady state
		r.max, r.maxTS = id, ns
	case id > r.max:
		a.addGap(p, tradeGap{lo: r.max + 1, hi: id - 1, from: r.maxTS, to: ns})
		r.max, r.maxTS = id, ns
	case id < r.min:
		if id < r.min-1 {
			a.addGap(p, tradeGap{lo: id + 1, hi: r.min - 1, from: ns, to: r.minTS})
		}
		r.min, r.minTS = id, ns
	default:
		a.stats.Filled++
		p.fill(id, ns, a.maxGaps)
		return true
	}
	return false
}

func (a *Aggregator) addGap(p *pairState, g tradeGap) {
	if g.to < g.from { // ids and times disagree; keep the range well-formed
		g.from, g.to = g.to, g.from
	}
	a.stats.Gaps++
	a.stats.MissingTrades += g.hi - g.lo + 1
	p.insertGap(g, a.maxGaps)
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
		p.gaps = slices.Delete(p.gaps, 0, 1)
	}
	i, _ := p.gapOf(g.lo)
	p.gaps = slices.Insert(p.gaps, i, g)
}

// fill removes id, which arrived at ns, from its gap, narrowing the gap's
// time range on the assumption that ids and times grow together.
func (p *pairState) fill(id, ns int64, maxGaps int) {
	i, ok := p.gapOf(id)
	if !ok {
		return
	}
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
		p.gaps = slices.Delete(p.gaps, 0, 1)
	}
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

// complete reports whether no tracked gap overlaps [start, end).
func (p *pairState) complete(start, end int64) bool {
	for _, gs := range [2][]tradeGap{p.gaps, p.marks} {
		for _, g := range gs {
			if g.overlaps(start, end) {
				return false
			}
		}
	}
	return true
}

// candle builds the candle of the window at start; w is nil or has no
// trades for an empty window, which repeats the previous close.
func (p *pairState) candle(w *openWindow, start, iv int64) Candle {
	c := Candle{
		Pair:     p.pair,
		Start:    time.Unix(0, start).UTC(),
		End:      time.Unix(0, start+iv).UTC(),
		Complete: p.complete(start, start+iv),
	}
	if w == nil || w.trades == 0 {
		c.Open, c.High, c.Low, c.Close, c.VWAP = p.lastClose, p.lastClose, p.lastClose, p.lastClose, p.lastClose
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
