package market

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Sanity defaults. The absolute bounds are per-pair agnostic: each is far
// beyond any real Kraken trade yet far below what breaks a candle.
const (
	DefaultFutureTolerance = 5 * time.Second
	// DefaultMaxBehind is the aggregator's correction horizon (120 one-minute
	// windows): an older trade could not correct anything.
	DefaultMaxBehind    = DefaultRepairWindows * DefaultInterval
	DefaultPriceBand    = 10.0
	DefaultMedianWindow = 101
	DefaultMinHistory   = 20
	// DefaultMaxPrice: BTC/JPY, the largest quote, is ~1.6e7.
	DefaultMaxPrice = 1e9
	// DefaultMaxQty: coins priced ~1e-5 (SHIB, BONK) trade 1e9–1e10 units.
	DefaultMaxQty = 1e12
	// DefaultMaxNotional: ten billion quote units in one trade.
	DefaultMaxNotional = 1e10
	DefaultMaxPairs    = 256

	// Trades outside [2009-01-03 (Bitcoin's genesis block), 2100-01-01) are
	// rejected whatever the stream clock says.
	earliestTradeUnix = 1230940800
	latestTradeUnix   = 4102444800
)

// SanityConfig configures a Sanity; zero values take the defaults.
type SanityConfig struct {
	// FutureTolerance: a trade stamped later than the stream clock plus
	// this is rejected (RejectFuture). Default 5 s.
	FutureTolerance time.Duration
	// MaxBehind: a trade stamped earlier than the stream clock minus this
	// is rejected (RejectBehind). Default DefaultMaxBehind (2 h).
	MaxBehind time.Duration
	// PriceBand: once a pair has MinHistory accepted trades, a price above
	// median·PriceBand or below median/PriceBand is rejected
	// (RejectPriceBand). Must be > 1; default 10.
	PriceBand float64
	// MedianWindow is how many recently accepted prices per pair form the
	// median. Default 101.
	MedianWindow int
	// MinHistory is how many accepted trades a pair needs before the band
	// applies; until then only the absolute bounds do. Default 20.
	MinHistory int
	// RebaseAfter: that many consecutive band rejects of one pair that
	// agree with each other (all within the band of their own median) are
	// a real move, not noise: they replace the history and the last is
	// accepted, so that a lasting >PriceBand move cannot lock a pair out.
	// Default MedianWindow; < 0 never rebases.
	RebaseAfter int
	// Absolute bounds: price, quantity and price·qty above these are
	// rejected. Defaults DefaultMaxPrice, DefaultMaxQty, DefaultMaxNotional.
	MaxPrice, MaxQty, MaxNotional float64
	// MaxPairs bounds the pairs tracked; a trade of another pair is
	// rejected (RejectPairLimit). Default 256.
	MaxPairs int
}

// RejectReason says why Sanity rejected a trade. Its String is a stable
// name for metric labels and dead-letter records.
type RejectReason uint8

// Reasons, in the order Check tests them: a trade gets the first that fails.
const (
	RejectMalformed     RejectReason = iota + 1 // "malformed": empty pair, negative trade_id
	RejectTimeRange                             // "time_range": zero, before 2009-01-03 or from 2100 on
	RejectNonFinite                             // "non_finite": price or qty NaN or ±Inf
	RejectNonPositive                           // "non_positive": price or qty <= 0
	RejectPriceBound                            // "price_bound": price > MaxPrice
	RejectQtyBound                              // "qty_bound": qty > MaxQty
	RejectNotionalBound                         // "notional_bound": price·qty > MaxNotional
	RejectFuture                                // "future": beyond the stream clock + FutureTolerance
	RejectBehind                                // "behind": before the stream clock − MaxBehind
	RejectPairLimit                             // "pair_limit": MaxPairs other pairs already tracked
	RejectPriceBand                             // "price_band": outside the band around the recent median
	numRejectReasons
)

var rejectNames = [numRejectReasons]string{"", "malformed", "time_range", "non_finite", "non_positive",
	"price_bound", "qty_bound", "notional_bound", "future", "behind", "pair_limit", "price_band"}

func (r RejectReason) String() string {
	if r == 0 || r >= numRejectReasons {
		return fmt.Sprintf("reject_reason_%d", uint8(r))
	}
	return rejectNames[r]
}

// RejectReasons lists every reason, e.g. to create metric labels up front.
func RejectReasons() []RejectReason {
	out := make([]RejectReason, 0, numRejectReasons-1)
	for r := RejectMalformed; r < numRejectReasons; r++ {
		out = append(out, r)
	}
	return out
}

// RejectError is a trade Sanity rejected; errors.Is(err, ErrInvalid).
type RejectError struct {
	Reason  RejectReason
	Pair    string
	TradeID int64
	Detail  string // human-readable: the offending values and the bound
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("trade %s/%d: %s: %s: %v", e.Pair, e.TradeID, e.Reason, e.Detail, ErrInvalid)
}

func (e *RejectError) Unwrap() error { return ErrInvalid }

// Sanity is the door of a trade stream: Check rejects trades whose time or
// values are impossible before they reach the aggregator, so that they
// never move the event clock. It is pure (time comes from the caller) and
// its memory is bounded: MaxPairs pairs of MedianWindow+RebaseAfter prices.
// Safe for concurrent use.
type Sanity struct {
	cfg   SanityConfig
	mu    sync.Mutex
	pairs map[string]*priceHistory
}

// NewSanity checks cfg and applies its defaults.
func NewSanity(cfg SanityConfig) (*Sanity, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Sanity{cfg: cfg, pairs: make(map[string]*priceHistory)}, nil
}

// Config returns the configuration in use, defaults applied.
func (s *Sanity) Config() SanityConfig { return s.cfg }

func (c SanityConfig) withDefaults() SanityConfig {
	c.FutureTolerance = cmp.Or(c.FutureTolerance, DefaultFutureTolerance)
	c.MaxBehind = cmp.Or(c.MaxBehind, DefaultMaxBehind)
	c.PriceBand = cmp.Or(c.PriceBand, DefaultPriceBand)
	c.MedianWindow = cmp.Or(c.MedianWindow, DefaultMedianWindow)
	c.MinHistory = cmp.Or(c.MinHistory, DefaultMinHistory)
	c.RebaseAfter = cmp.Or(c.RebaseAfter, c.MedianWindow)
	c.MaxPrice = cmp.Or(c.MaxPrice, DefaultMaxPrice)
	c.MaxQty = cmp.Or(c.MaxQty, DefaultMaxQty)
	c.MaxNotional = cmp.Or(c.MaxNotional, DefaultMaxNotional)
	c.MaxPairs = cmp.Or(c.MaxPairs, DefaultMaxPairs)
	return c
}

// maxSanityWindow bounds MedianWindow and RebaseAfter (memory per pair).
const maxSanityWindow = 1 << 16

func (c SanityConfig) validate() error {
	switch {
	case c.FutureTolerance < 0 || c.MaxBehind < 0:
		return fmt.Errorf("sanity: negative FutureTolerance %s or MaxBehind %s: %w", c.FutureTolerance, c.MaxBehind, ErrInvalid)
	case !(c.PriceBand > 1) || math.IsInf(c.PriceBand, 0):
		return fmt.Errorf("sanity: PriceBand %v: want a finite number > 1: %w", c.PriceBand, ErrInvalid)
	case c.MedianWindow < 1 || c.MedianWindow > maxSanityWindow || c.RebaseAfter > maxSanityWindow:
		return fmt.Errorf("sanity: MedianWindow %d or RebaseAfter %d: want 1..%d: %w", c.MedianWindow, c.RebaseAfter, maxSanityWindow, ErrInvalid)
	case c.MinHistory < 1 || c.MinHistory > c.MedianWindow:
		return fmt.Errorf("sanity: MinHistory %d: want 1..MedianWindow (%d): %w", c.MinHistory, c.MedianWindow, ErrInvalid)
	case !(c.MaxPrice > 0) || !(c.MaxQty > 0) || !(c.MaxNotional > 0):
		return fmt.Errorf("sanity: MaxPrice %v, MaxQty %v, MaxNotional %v: want > 0: %w", c.MaxPrice, c.MaxQty, c.MaxNotional, ErrInvalid)
	case c.MaxPairs < 1:
		return fmt.Errorf("sanity: MaxPairs %d: want >= 1: %w", c.MaxPairs, ErrInvalid)
	}
	return nil
}

// Check returns nil when t may enter the stream, else a *RejectError. The
// stream clock streamNow is the host clock corrected to the exchange's
// live, the replay clock in a replay; zero (no clock yet) skips the future
// and behind checks, not the absolute ones. Check records the prices it
// accepts (the pair's median) and the band rejects (for RebaseAfter); no
// other reject changes any state. Call it once per trade, in stream order.
func (s *Sanity) Check(t Trade, streamNow time.Time) error {
	if r, detail := s.cfg.checkStateless(t, streamNow); r != 0 {
		return &RejectError{Reason: r, Pair: t.Pair, TradeID: t.TradeID, Detail: detail}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, detail := s.admit(t)
	if r != 0 {
		return &RejectError{Reason: r, Pair: t.Pair, TradeID: t.TradeID, Detail: detail}
	}
	return nil
}

// checkStateless runs every check that needs no history.
func (c SanityConfig) checkStateless(t Trade, now time.Time) (RejectReason, string) {
	switch {
	case t.Pair == "":
		return RejectMalformed, "empty pair"
	case t.TradeID < 0:
		return RejectMalformed, fmt.Sprintf("negative trade_id %d", t.TradeID)
	case t.TS.IsZero() || t.TS.Unix() < earliestTradeUnix || t.TS.Unix() >= latestTradeUnix:
		return RejectTimeRange, fmt.Sprintf("ts %s outside [2009-01-03, 2100-01-01)", t.TS.Format(time.RFC3339Nano))
	}
	if r, detail := c.checkValues(t.Price, t.Qty); r != 0 {
		return r, detail
	}
	return c.checkClock(t.TS, now)
}

func (c SanityConfig) checkValues(price, qty float64) (RejectReason, string) {
	switch {
	case !finite(price) || !finite(qty):
		return RejectNonFinite, fmt.Sprintf("price %v qty %v", price, qty)
	case price <= 0 || qty <= 0:
		return RejectNonPositive, fmt.Sprintf("price %v qty %v", price, qty)
	case price > c.MaxPrice:
		return RejectPriceBound, fmt.Sprintf("price %v > %v", price, c.MaxPrice)
	case qty > c.MaxQty:
		return RejectQtyBound, fmt.Sprintf("qty %v > %v", qty, c.MaxQty)
	case price*qty > c.MaxNotional:
		return RejectNotionalBound, fmt.Sprintf("price·qty %v > %v", price*qty, c.MaxNotional)
	}
	return 0, ""
}

func (c SanityConfig) checkClock(ts, now time.Time) (RejectReason, string) {
	switch {
	case now.IsZero():
		return 0, ""
	case ts.After(now.Add(c.FutureTolerance)):
		return RejectFuture, fmt.Sprintf("ts %s is %s ahead of the stream clock %s (tolerance %s)",
			ts.Format(time.RFC3339Nano), ts.Sub(now), now.Format(time.RFC3339Nano), c.FutureTolerance)
	case ts.Before(now.Add(-c.MaxBehind)):
		return RejectBehind, fmt.Sprintf("ts %s is %s behind the stream clock %s (max %s)",
			ts.Format(time.RFC3339Nano), now.Sub(ts), now.Format(time.RFC3339Nano), c.MaxBehind)
	}
	return 0, ""
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// admit applies the pair limit and the band, recording what passes.
func (s *Sanity) admit(t Trade) (RejectReason, string) {
	h, ok := s.pairs[t.Pair]
	if !ok {
		if len(s.pairs) >= s.cfg.MaxPairs {
			return RejectPairLimit, fmt.Sprintf("%d pairs tracked already", len(s.pairs))
		}
		h = newPriceHistory(s.cfg)
		s.pairs[t.Pair] = h
	}
	return h.admit(t.Price, s.cfg)
}

// priceHistory is one pair's recently accepted prices, in arrival order
// (a ring) and sorted (for the median), plus its current run of band
// rejects.
type priceHistory struct {
	ring   []float64
	head   int // oldest element once the ring is full
	sorted []float64
	streak []float64 // consecutive band rejects, oldest first, at most RebaseAfter
}

func newPriceHistory(c SanityConfig) *priceHistory {
	return &priceHistory{ring: make([]float64, 0, c.MedianWindow), sorted: make([]float64, 0, c.MedianWindow+1)}
}

func (h *priceHistory) admit(p float64, c SanityConfig) (RejectReason, string) {
	if len(h.sorted) >= c.MinHistory {
		if m := h.median(); p > m*c.PriceBand || p < m/c.PriceBand {
			if h.extendStreak(p, c) {
				return 0, ""
			}
			return RejectPriceBand, fmt.Sprintf("price %v outside [%v, %v] (median %v of the last %d trades ×/÷ %v)",
				p, m/c.PriceBand, m*c.PriceBand, m, len(h.sorted), c.PriceBand)
		}
	}
	h.streak = h.streak[:0]
	h.record(p, c.MedianWindow)
	return 0, ""
}

// median is the upper median of the recent prices.
func (h *priceHistory) median() float64 { return h.sorted[len(h.sorted)/2] }

// record adds an accepted price, evicting the oldest beyond window.
func (h *priceHistory) record(p float64, window int) {
	if len(h.ring) < window {
		h.ring = append(h.ring, p)
	} else {
		old := h.ring[h.head]
		h.ring[h.head] = p
		h.head = (h.head + 1) % window
		i, _ := slices.BinarySearch(h.sorted, old)
		h.sorted = slices.Delete(h.sorted, i, i+1)
	}
	i, _ := slices.BinarySearch(h.sorted, p)
	h.sorted = slices.Insert(h.sorted, i, p)
}

// extendStreak adds a band reject to the run; when the run is RebaseAfter
// long and agrees with itself, it replaces the history and reports true.
func (h *priceHistory) extendStreak(p float64, c SanityConfig) bool {
	if c.RebaseAfter < 1 {
		return false
	}
	if len(h.streak) == c.RebaseAfter {
		h.streak = slices.Delete(h.streak, 0, 1)
	}
	h.streak = append(h.streak, p)
	if len(h.streak) < c.RebaseAfter || !consistent(h.streak, c.PriceBand) {
		return false
	}
	h.ring, h.sorted, h.head = h.ring[:0], h.sorted[:0], 0
	for _, q := range h.streak {
		h.record(q, c.MedianWindow)
	}
	h.streak = h.streak[:0]
	return true
}

// consistent: every price is within the band of the prices' own median.
func consistent(prices []float64, band float64) bool {
	s := slices.Sorted(slices.Values(prices))
	m := s[len(s)/2]
	return s[0] >= m/band && s[len(s)-1] <= m*band
}
