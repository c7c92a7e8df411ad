package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// testBreaker is a breaker on a clock the test moves, whose probes the
// test answers.
type testBreaker struct {
	*breaker
	clock  time.Time
	probes []func(error)
}

func newTestBreaker(threshold int) *testBreaker {
	tb := &testBreaker{clock: time.Unix(1_700_000_000, 0)}
	tb.breaker = &breaker{threshold: int64(threshold), cooldown: time.Second,
		now:   func() time.Time { return tb.clock },
		probe: func(done func(error)) { tb.probes = append(tb.probes, done) }}
	return tb
}

func (tb *testBreaker) want(t *testing.T, state BreakerState, opens uint64, probes int) {
	t.Helper()
	if got := tb.current(); got != state {
		t.Errorf("state %v, want %v", got, state)
	}
	if got := tb.opens.Load(); got != opens {
		t.Errorf("opens %d, want %d", got, opens)
	}
	if len(tb.probes) != probes {
		t.Errorf("%d probes, want %d", len(tb.probes), probes)
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
	if !b.allow() {
		t.Fatal("closed breaker refused a call")
	}
	b.want(t, BreakerClosed, 0, 0)

	b.done(ctx, timeout) // third in a row
	b.want(t, BreakerOpen, 1, 0)
	b.done(ctx, timeout) // a straggler changes nothing
	b.clock = b.clock.Add(999 * time.Millisecond)
	if b.allow() {
		t.Fatal("open breaker let a call through")
	}
	b.want(t, BreakerOpen, 1, 0)

	// After the cooldown one call starts a probe and is refused all the same.
	b.clock = b.clock.Add(time.Millisecond)
	if b.allow() || b.allow() {
		t.Fatal("half-open breaker let a call through")
	}
	b.want(t, BreakerHalfOpen, 1, 1)
	b.probes[0](errors.New("i/o timeout")) // still hung: open for another cooldown
	b.want(t, BreakerOpen, 1, 1)
	b.clock = b.clock.Add(500 * time.Millisecond)
	b.allow()
	b.want(t, BreakerOpen, 1, 1)
	b.clock = b.clock.Add(500 * time.Millisecond)
	b.allow()
	b.want(t, BreakerHalfOpen, 1, 2)
	b.probes[1](nil)
	b.want(t, BreakerClosed, 1, 2)
	if !b.allow() {
		t.Fatal("closed breaker refused a call")
	}
	// The count starts again from zero.
	b.done(ctx, timeout)
	b.done(ctx, timeout)
	b.want(t, BreakerClosed, 1, 2)
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
	b.want(t, BreakerOpen, 1, 0)
}
