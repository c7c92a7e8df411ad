package redis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ErrCircuitOpen is the error of a cache call the circuit breaker did not
// send: Redis failed or timed out too often in a row and has not answered
// a probe since.
var ErrCircuitOpen = errors.New("redis: circuit open, call skipped")

// BreakerState is the state of a Client's circuit breaker.
type BreakerState int32

// The states: closed (calls go to Redis), open (calls fail at once with
// ErrCircuitOpen), half-open (open, with a probe in flight).
const (
	BreakerClosed BreakerState = iota
	BreakerOpen
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// breaker is a circuit breaker for the request path: closed, it lets calls
// through and counts consecutive failures; at threshold it opens, and
// calls fail at once. The first call after cooldown starts a probe in the
// background (half-open) and still fails at once, so that no request ever
// waits on a Redis that may still hang; the probe's success closes the
// breaker, its failure opens it for another cooldown.
//
// The hot path (allow, success while closed) is a few atomic loads;
// transitions take mu.
type breaker struct {
	threshold int64
	cooldown  time.Duration
	probe     func(done func(error)) // starts a probe; done reports its outcome
	onChange  func(from, to BreakerState)
	now       func() time.Time

	state    atomic.Int32
	fails    atomic.Int64 // consecutive failures while closed
	openedAt atomic.Int64 // unix nanos of the last opening; written before state
	opens    atomic.Uint64
	mu       sync.Mutex
}

// allow reports whether a call may go to Redis.
func (b *breaker) allow() bool {
	switch BreakerState(b.state.Load()) {
	case BreakerClosed:
		return true
	case BreakerOpen:
		if b.now().UnixNano()-b.openedAt.Load() >= int64(b.cooldown) {
			b.startProbe()
		}
	}
	return false
}

func (b *breaker) startProbe() {
	b.mu.Lock()
	started := b.set(BreakerOpen, BreakerHalfOpen)
	b.mu.Unlock()
	if started {
		b.probe(b.probed)
	}
}

// probed closes the breaker after a successful probe, or opens it again.
func (b *breaker) probed(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		b.fails.Store(0)
		b.set(BreakerHalfOpen, BreakerClosed)
		return
	}
	b.openedAt.Store(b.now().UnixNano())
	b.set(BreakerHalfOpen, BreakerOpen)
}

// done records the outcome of a call allow let through; a call the caller
// gave up on tells nothing about Redis and is not recorded.
func (b *breaker) done(ctx context.Context, err error) {
	switch {
	case err == nil || isReply(err):
		if b.fails.Load() != 0 {
			b.fails.Store(0)
		}
	case ctx.Err() != nil:
	default:
		if b.fails.Add(1) >= b.threshold {
			b.trip()
		}
	}
}

func (b *breaker) trip() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if BreakerState(b.state.Load()) != BreakerClosed {
		return
	}
	b.openedAt.Store(b.now().UnixNano())
	b.opens.Add(1)
	b.set(BreakerClosed, BreakerOpen)
}

// set moves from → to if the breaker is in from; b.mu is held.
func (b *breaker) set(from, to BreakerState) bool {
	if !b.state.CompareAndSwap(int32(from), int32(to)) {
		return false
	}
	if b.onChange != nil {
		b.onChange(from, to)
	}
	return true
}

func (b *breaker) current() BreakerState { return BreakerState(b.state.Load()) }

// isReply reports whether err is a reply of the server (WRONGTYPE, OOM …):
// Redis answered, so it is up.
func isReply(err error) bool {
	var re goredis.Error
	return errors.As(err, &re)
}
