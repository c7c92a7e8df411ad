package kraken

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/tickcast/tickcast/internal/backoff"
)

// RateLimiter is a token bucket shared by every goroutine that holds it:
// one per process (or per worker) keeps all REST calls within Kraken's
// public budget, whatever the number of concurrent callers.
//
// It is GCRA, the token bucket kept as one time: Wait reserves a slot at
// once, even one only due later, and sleeps until it is due, so waiters
// are served in arrival order and the rate is kept saturated without ever
// being exceeded. A nil *RateLimiter, or one made with perSecond <= 0,
// never waits.
type RateLimiter struct {
	every time.Duration // emission interval, 1/rate; 0 = unlimited
	slack time.Duration // (burst−1)·every: how far ahead of the schedule a request may go

	mu  sync.Mutex
	tat time.Time // theoretical arrival time of the next request at the exact rate
}

// NewRateLimiter allows perSecond requests per second on average and at
// most burst at once (burst < 1 means 1). The bucket starts full.
func NewRateLimiter(perSecond float64, burst int) *RateLimiter {
	if perSecond <= 0 || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) {
		return &RateLimiter{}
	}
	every := time.Duration(float64(time.Second) / perSecond)
	return &RateLimiter{every: every, slack: time.Duration(max(burst, 1)-1) * every}
}

// Rate returns the requests per second allowed, 0 when unlimited.
func (l *RateLimiter) Rate() float64 {
	if l == nil || l.every <= 0 {
		return 0
	}
	return float64(time.Second) / float64(l.every)
}

// Wait blocks until the caller may send one request, or ctx ends; a
// cancelled wait gives its slot back when no later one was booked. When
// the slot is after ctx's deadline it fails at once (errors.Is
// context.DeadlineExceeded).
func (l *RateLimiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l == nil || l.every <= 0 {
		return nil
	}
	slot := l.reserve(time.Now())
	due := slot.Add(-l.slack)
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && due.After(deadline) {
		l.cancel(slot) // fail now rather than sleep into a certain timeout
		return fmt.Errorf("kraken: rate limit: next slot in %s, after the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	if err := backoff.Sleep(ctx, d); err != nil {
		l.cancel(slot)
		return err
	}
	return nil
}

// reserve books the next slot on the exact-rate schedule and returns it;
// the request may go slack earlier. An idle spell saves up at most burst
// requests because the schedule restarts from now.
func (l *RateLimiter) reserve(now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	slot := l.tat
	if slot.Before(now) {
		slot = now
	}
	l.tat = slot.Add(l.every)
	return slot
}

// cancel gives slot back if it is the last one booked. An earlier slot is
// lost instead: handing it out again could put two requests on the slot
// of a later waiter, over the rate.
func (l *RateLimiter) cancel(slot time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tat.Equal(slot.Add(l.every)) {
		l.tat = slot
	}
}
