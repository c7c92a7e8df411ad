package kraken

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http/httptrace"
	"slices"
	"sync"
	"time"

	"github.com/tickcast/tickcast/internal/backoff"
)

// DefaultClockEvery is how often ClockOffset.Run re-samples Kraken's clock:
// a host clock drifts by well under 100 ms in that time.
const DefaultClockEvery = 10 * time.Minute

// clockSamples is how many recent samples an estimate may combine.
const clockSamples = 5

// ClockEstimate is the host clock's offset to Kraken's.
type ClockEstimate struct {
	Offset time.Duration // Kraken's clock minus the host's
	// Uncertainty: the true offset is within Offset ± Uncertainty (if
	// Kraken truncates unixtime). One sample gives 0.5 s + RTT/2.
	Uncertainty time.Duration
	RTT         time.Duration // round trip of the newest sample
	At          time.Time     // host time of the newest sample
	Samples     int           // samples combined, the newest included
}

// ClockOffset estimates the host clock's offset to Kraken's from REST
// Time, NTP-style: Kraken read its clock between our send and receipt, and
// unixtime truncates to the second, so one sample bounds the offset to
// [server − recv, server + 1 s − send]: server + 0.5 s − midpoint(send,
// recv), ± 0.5 s + RTT/2. The estimate intersects the newest samples that
// agree (Marzullo's idea): with 1 s resolution the quantisation dwarfs the
// RTT, so samples at other phases of Kraken's second narrow the bounds
// where keeping the smallest-RTT sample would not. Send and receipt are
// traced around the last HTTP attempt, so rate-limiter waits and retries do
// not widen the bounds. Safe for concurrent use.
type ClockOffset struct {
	rest  *REST
	every time.Duration
	log   *slog.Logger
	now   func() time.Time // the host clock; tests replace it

	mu      sync.Mutex
	samples []offsetBounds // newest last, mutually consistent, at most clockSamples
	est     ClockEstimate
}

// offsetBounds is what one sample says: lo <= offset <= hi.
type offsetBounds struct {
	lo, hi time.Duration
	rtt    time.Duration
	at     time.Time
}

// NewClockOffset samples rest's Time every `every` (<= 0: DefaultClockEvery)
// once Run is started; logger may be nil.
func NewClockOffset(rest *REST, every time.Duration, logger *slog.Logger) *ClockOffset {
	if every <= 0 {
		every = DefaultClockEvery
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ClockOffset{rest: rest, every: every, log: logger, now: time.Now}
}

// Run samples at once, then every period, until ctx ends; it returns
// ctx.Err(). A failed sample is logged and the last estimate kept (a
// host clock drifts slowly).
func (c *ClockOffset) Run(ctx context.Context) error {
	for {
		if err := c.Sample(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("kraken clock: sampling failed, keeping the last offset", "err", err)
		}
		// Up to a second of jitter moves the next sample to another phase
		// of Kraken's second, which is what narrows the intersection.
		if err := backoff.Sleep(ctx, c.every+rand.N(min(c.every, time.Second))); err != nil {
			return err
		}
	}
}

// Sample asks Kraken's time once and updates the estimate.
func (c *ClockOffset) Sample(ctx context.Context) error {
	var w exchangeWindow
	start := c.now()
	server, err := c.rest.Time(httptrace.WithClientTrace(ctx, w.trace(c.now)))
	end := c.now()
	if err != nil {
		return err
	}
	send, recv := w.bounds(start, end)
	b := offsetBounds{lo: server.Sub(recv), hi: server.Add(time.Second).Sub(send), rtt: recv.Sub(send), at: recv}
	est := c.add(b)
	c.log.Debug("kraken clock: sampled", "offset", est.Offset, "uncertainty", est.Uncertainty, "rtt", b.rtt, "samples", est.Samples)
	return nil
}

// add records a sample: it drops the older samples that contradict it
// (the host clock was stepped or drifted) and re-estimates.
func (c *ClockOffset) add(b offsetBounds) ClockEstimate {
	c.mu.Lock()
	defer c.mu.Unlock()
	lo, hi, keep := b.lo, b.hi, len(c.samples)
	for i := len(c.samples) - 1; i >= 0; i-- {
		s := c.samples[i]
		if max(lo, s.lo) > min(hi, s.hi) {
			break
		}
		lo, hi, keep = max(lo, s.lo), min(hi, s.hi), i
	}
	c.samples = append(slices.Delete(c.samples, 0, keep), b)
	if len(c.samples) > clockSamples {
		c.samples = slices.Delete(c.samples, 0, 1)
		lo, hi = intersect(c.samples)
	}
	c.est = ClockEstimate{Offset: lo + (hi-lo)/2, Uncertainty: (hi - lo) / 2, RTT: b.rtt, At: b.at, Samples: len(c.samples)}
	return c.est
}

func intersect(s []offsetBounds) (lo, hi time.Duration) {
	lo, hi = s[0].lo, s[0].hi
	for _, b := range s[1:] {
		lo, hi = max(lo, b.lo), min(hi, b.hi)
	}
	return lo, hi
}

// Estimate returns the current estimate; ok is false before the first
// successful sample.
func (c *ClockOffset) Estimate() (ClockEstimate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.est, len(c.samples) > 0
}

// Offset is Kraken's clock minus the host's; ok is false while unknown.
func (c *ClockOffset) Offset() (d time.Duration, ok bool) {
	est, ok := c.Estimate()
	return est.Offset, ok
}

// Now is hostNow on Kraken's clock: hostNow + Offset, or hostNow while
// the offset is unknown.
func (c *ClockOffset) Now(hostNow time.Time) time.Time {
	d, _ := c.Offset()
	return hostNow.Add(d)
}

// exchangeWindow is the host time just before the last HTTP attempt
// wrote its request and when its reply's first byte came: Kraken read its
// clock in between.
type exchangeWindow struct {
	mu         sync.Mutex
	done       bool
	send, recv time.Time
}

func (w *exchangeWindow) trace(now func() time.Time) *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn:              func(httptrace.GotConnInfo) { w.mark(func() { w.send, w.recv = now(), time.Time{} }) },
		GotFirstResponseByte: func() { w.mark(func() { w.recv = now() }) },
	}
}

// mark runs f unless the window was read (hooks may fire late).
func (w *exchangeWindow) mark(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		f()
	}
}

// bounds returns the traced window, or [start, end] when the transport
// gave no trace (a custom RoundTripper).
func (w *exchangeWindow) bounds(start, end time.Time) (send, recv time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if w.send.IsZero() || w.recv.Before(w.send) || w.send.Before(start) || w.recv.After(end) {
		return start, end
	}
	return w.send, w.recv
}
