package redis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

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
// through and counts consecutive failures; at threshold it opens, calls
// fail at once, and onOpen starts probing Redis in the background (each
// probe half-opens it; success closes it, failure opens it again), so that
// no request ever waits on a Redis that may still hang, and the state is
// current even without traffic.
//
// The hot path (allow, success while closed) is atomic loads; transitions
// take mu.
type breaker struct {
	threshold int64
	onOpen    func() // starts the probes
	onChange  func(from, to BreakerState)

	state atomic.Int32
	fails atomic.Int64 // consecutive failures while closed
	opens atomic.Uint64
	mu    sync.Mutex
}

// allow reports whether a call may go to Redis.
func (b *breaker) allow() bool { return BreakerState(b.state.Load()) == BreakerClosed }

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
		if b.fails.Add(1) >= b.threshold && b.trip() {
			b.onOpen()
		}
	}
}

// trip opens a closed breaker.
func (b *breaker) trip() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.set(BreakerClosed, BreakerOpen) {
		return false
	}
	b.opens.Add(1)
	return true
}

// probing half-opens an open breaker while a probe is in flight.
func (b *breaker) probing() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.set(BreakerOpen, BreakerHalfOpen)
}

// probed closes the breaker after a successful probe (and reports true),
// or opens it again.
func (b *breaker) probed(err error) (closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.set(BreakerHalfOpen, BreakerOpen)
		return false
	}
	b.fails.Store(0)
	return b.set(BreakerHalfOpen, BreakerClosed)
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
