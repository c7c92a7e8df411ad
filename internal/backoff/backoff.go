// Package backoff spaces out retries: waits that double from a minimum up
// to a maximum, jittered so that many clients retrying at once spread apart,
// and cut short when a context ends.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff gives the waits between the attempts of one retry loop. The n-th
// wait (from 0) is Jitter(min(Max, Min·2^n)). The zero value waits nothing;
// a Backoff is not safe for concurrent use.
type Backoff struct {
	Min, Max time.Duration
	// Jitter draws a wait from its ceiling: Full, Equal, or nil for none
	// (the ceiling itself).
	Jitter func(ceiling time.Duration) time.Duration
	// Sleep waits in Wait; nil is the package's Sleep. Tests record waits.
	Sleep func(ctx context.Context, d time.Duration) error

	attempt int
}

// Ceiling is the bound of the next wait: Min doubled once per wait so far,
// at most Max (no overflow, however many attempts).
func (b *Backoff) Ceiling() time.Duration {
	d := b.Min
	for i := 0; i < b.attempt && d < b.Max; i++ {
		if d > b.Max/2 {
			return b.Max
		}
		d *= 2
	}
	return min(d, b.Max)
}

// Next returns the next wait and counts it.
func (b *Backoff) Next() time.Duration {
	d := b.Ceiling()
	if b.Jitter != nil {
		d = b.Jitter(d)
	}
	b.attempt++
	return d
}

// Reset starts again from Min, after an attempt that worked.
func (b *Backoff) Reset() { b.attempt = 0 }

// Wait sleeps the next wait; it returns ctx.Err() if ctx ends first.
func (b *Backoff) Wait(ctx context.Context) error {
	sleep := b.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	return sleep(ctx, b.Next())
}

// Full is full jitter: uniform in [0, d].
func Full(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// Equal is equal jitter: uniform in [d/2, d], at least half the backoff (a
// retry right away after "too many requests" would only count against the
// budget again).
func Equal(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d, or until ctx ends (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
