package kraken

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// drain calls Wait from `workers` goroutines until ctx ends and returns
// when each call was let through, sorted.
func drain(ctx context.Context, l *RateLimiter, workers int) []time.Time {
	var mu sync.Mutex
	var times []time.Time
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for l.Wait(ctx) == nil {
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(times, time.Time.Compare)
	return times
}

// checkNeverOver: by any time t, at most burst + rate·(t − start)
// requests went through, start being before the first Wait (the bucket's
// exact bound: no slack for the clock).
func checkNeverOver(t *testing.T, start time.Time, times []time.Time, rate float64, burst int) {
	t.Helper()
	for i, at := range times {
		allowed := float64(burst) + rate*at.Sub(start).Seconds()
		if float64(i+1) > allowed+1e-9 {
			t.Fatalf("request %d at +%s: over the %d-burst %v/s budget (%.3f)", i+1, at.Sub(start), burst, rate, allowed)
		}
	}
}

// Saturated and never over: 5 req/s for 2 s lets 10 through (one at once,
// then one every 200 ms; the slot at 2 s is past the deadline), ±1.
func TestRateLimiterSaturatesWithoutExceeding(t *testing.T) {
	cases := []struct {
		name    string
		rate    float64
		burst   int
		workers int
		window  time.Duration
		want    int
	}{
		{"5/s one caller", 5, 1, 1, 2 * time.Second, 10},
		{"5/s four callers", 5, 1, 4, 2 * time.Second, 10},
		{"4/s burst 3", 4, 3, 2, time.Second, 3 + 4 - 1}, // the slot at 1 s is past the deadline
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := NewRateLimiter(tc.rate, tc.burst)
			start := time.Now()
			ctx, cancel := context.WithTimeout(t.Context(), tc.window)
			defer cancel()
			times := drain(ctx, l, tc.workers)
			if n := len(times); n < tc.want-1 || n > tc.want+1 {
				t.Errorf("%d requests in %s, want %d±1", n, tc.window, tc.want)
			}
			checkNeverOver(t, start, times, tc.rate, tc.burst)
			t.Logf("%d requests in %s, last at +%s", len(times), tc.window, times[len(times)-1].Sub(times[0]))
		})
	}
}

// An idle spell saves up at most burst requests.
func TestRateLimiterIdleSavesOnlyBurst(t *testing.T) {
	t.Parallel()
	l := NewRateLimiter(20, 2)
	time.Sleep(300 * time.Millisecond) // 6 tokens' worth of idleness
	start := time.Now()
	for range 4 {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// 2 at once, then 2 more at 50 ms each.
	if d := time.Since(start); d < 95*time.Millisecond || d > 400*time.Millisecond {
		t.Errorf("4 requests after idleness took %s, want ~100 ms", d)
	}
}

// A cancelled wait returns ctx's error and gives its slot back.
func TestRateLimiterCancel(t *testing.T) {
	t.Parallel()
	l := NewRateLimiter(2, 1)
	start := time.Now()
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want deadline exceeded", err)
	}
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 490*time.Millisecond || d > 900*time.Millisecond {
		t.Errorf("the next request went at +%s, want +500 ms (the cancelled slot reused)", d)
	}
	done, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := l.Wait(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a done context = %v", err)
	}
}

func TestRateLimiterUnlimited(t *testing.T) {
	for _, l := range []*RateLimiter{nil, NewRateLimiter(0, 1), NewRateLimiter(-1, 1)} {
		start := time.Now()
		for range 1000 {
			if err := l.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d > 100*time.Millisecond || l.Rate() != 0 {
			t.Errorf("%+v: 1000 waits took %s, rate %v", l, d, l.Rate())
		}
	}
	if r := NewRateLimiter(2.5, 1).Rate(); r != 2.5 {
		t.Errorf("Rate = %v", r)
	}
}
