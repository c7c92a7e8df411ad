package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	const ms, s = time.Millisecond, time.Second
	tests := []struct {
		name     string
		min, max time.Duration
		want     []time.Duration
	}{
		{"kraken reconnects (1s to 60s)", s, 60 * s, []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 60 * s, 60 * s, 60 * s}},
		{"kraken REST retries (1s to 30s)", s, 30 * s, []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s}},
		{"redis resubscribes (50ms to 2s)", 50 * ms, 2 * s, []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 2 * s, 2 * s}},
		{"max below min caps at max", 3 * s, 2 * s, []time.Duration{2 * s, 2 * s}},
		{"zero value waits nothing", 0, 0, []time.Duration{0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Backoff{Min: tt.min, Max: tt.max}
			for i, w := range tt.want {
				if got := b.Next(); got != w {
					t.Errorf("wait %d: %v, want %v", i, got, w)
				}
			}
			b.Reset()
			if got := b.Next(); got != tt.want[0] {
				t.Errorf("after Reset: %v, want %v", got, tt.want[0])
			}
		})
	}
}

func TestCeilingNoOverflow(t *testing.T) {
	b := Backoff{Min: time.Second, Max: time.Duration(1<<63 - 1), attempt: 200}
	if got := b.Next(); got != b.Max {
		t.Errorf("after 200 attempts: %v, want %v", got, b.Max)
	}
}

func TestJitter(t *testing.T) {
	tests := []struct {
		name   string
		jitter func(time.Duration) time.Duration
		lo     time.Duration // of a 1s ceiling
	}{
		{"full", Full, 0},
		{"equal", Equal, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 1000 {
				if d := tt.jitter(time.Second); d < tt.lo || d > time.Second {
					t.Fatalf("%v outside [%v, 1s]", d, tt.lo)
				}
			}
			if d := tt.jitter(0); d != 0 {
				t.Errorf("jitter(0) = %v", d)
			}
			b := Backoff{Min: time.Second, Max: time.Second, Jitter: tt.jitter}
			if d := b.Next(); d < tt.lo || d > time.Second {
				t.Errorf("Next %v outside [%v, 1s]", d, tt.lo)
			}
		})
	}
}

func TestWait(t *testing.T) {
	var slept []time.Duration
	b := Backoff{Min: time.Second, Max: 4 * time.Second, Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}}
	for range 4 {
		if err := b.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i, w := range want {
		if slept[i] != w {
			t.Errorf("wait %d: %v, want %v", i, slept[i], w)
		}
	}
}

func TestWaitCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b := Backoff{Min: time.Hour, Max: time.Hour}
	start := time.Now()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a cancelled Wait took %v", d)
	}
	if err := Sleep(t.Context(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v", err)
	}
}
