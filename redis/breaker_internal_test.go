package redis

import (
	"context"
	"errors"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// testBreaker counts the probe loops its openings start.
type testBreaker struct {
	*breaker
	probeLoops int
}

func newTestBreaker(threshold int) *testBreaker {
	tb := &testBreaker{}
	tb.breaker = &breaker{threshold: int64(threshold), onOpen: func() { tb.probeLoops++ }}
	return tb
}

func (tb *testBreaker) want(t *testing.T, state BreakerState, opens uint64, probeLoops int) {
	t.Helper()
	if got := tb.current(); got != state {
		t.Errorf("state %v, want %v", got, state)
	}
	if got := tb.opens.Load(); got != opens {
		t.Errorf("opens %d, want %d", got, opens)
	}
	if tb.probeLoops != probeLoops {
		t.Errorf("%d probe loops started, want %d", tb.probeLoops, probeLoops)
	}
	if got := tb.allow(); got != (state == BreakerClosed) {
		t.Errorf("%v breaker: allow = %v", state, got)
	}
}

func TestBreakerCycle(t *testing.T) {
	b := newTestBreaker(3)
	ctx := context.Background()
	timeout := context.DeadlineExceeded
	b.done(ctx, timeout)
	b.done(ctx, timeout)
	b.done(ctx, nil) // a success in between: not in a row
	b.done(ctx, timeout)
	b.done(ctx, goredis.Nil) // a reply is a success
	b.done(ctx, timeout)
	b.done(ctx, timeout)
	b.want(t, BreakerClosed, 0, 0)

	b.done(ctx, timeout) // third in a row: open, probes start
	b.want(t, BreakerOpen, 1, 1)
	b.done(ctx, timeout) // a straggler changes nothing
	b.want(t, BreakerOpen, 1, 1)

	b.probing()
	b.want(t, BreakerHalfOpen, 1, 1)
	if b.probed(errors.New("i/o timeout")) { // still hung: open
		t.Error("a failed probe closed the breaker")
	}
	b.want(t, BreakerOpen, 1, 1)
	b.probing()
	if !b.probed(nil) {
		t.Error("a successful probe left the breaker open")
	}
	b.want(t, BreakerClosed, 1, 1)

	// The count starts again from zero.
	b.done(ctx, timeout)
	b.done(ctx, timeout)
	b.want(t, BreakerClosed, 1, 1)
	b.done(ctx, timeout)
	b.want(t, BreakerOpen, 2, 2)
}

// A call its caller gave up on says nothing about Redis.
func TestBreakerIgnoresCallerCancel(t *testing.T) {
	b := newTestBreaker(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.done(ctx, context.Canceled)
	b.want(t, BreakerClosed, 0, 0)
	b.done(context.Background(), errors.New("connection refused"))
	b.want(t, BreakerOpen, 1, 1)
}
