package predict

import (
	"sync"
	"testing"
	"time"
)

func TestMarketClock(t *testing.T) {
	wall := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ts := time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		speed   float64
		observe []time.Duration // offsets from ts, observed in order
		elapsed time.Duration   // wall time after the observations
		want    time.Time
	}{
		{"before any row: wall clock", 60, nil, time.Second, wall.Add(time.Second)},
		{"stopped", 0, []time.Duration{0}, time.Hour, ts},
		{"negative speed stops", -5, []time.Duration{0}, time.Hour, ts},
		{"real time", 1, []time.Duration{0}, 3 * time.Second, ts.Add(3 * time.Second)},
		{"replay 60x", 60, []time.Duration{0}, 2 * time.Second, ts.Add(2 * time.Minute)},
		{"older rows ignored", 1, []time.Duration{time.Minute, 0, time.Minute}, time.Second, ts.Add(time.Minute + time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := wall
			c := NewMarketClock(tc.speed)
			c.now = func() time.Time { return now }
			for _, d := range tc.observe {
				c.Observe(ts.Add(d))
			}
			now = now.Add(tc.elapsed)
			if got := c.Now(); !got.Equal(tc.want) {
				t.Errorf("Now = %s, want %s", got, tc.want)
			}
		})
	}
	if d := time.Since(NewMarketClock(1).Now()); d < 0 || d > time.Second {
		t.Errorf("fresh clock is %s off the wall clock", d)
	}
	if d := time.Since(WallClock{}.Now()); d < 0 || d > time.Second {
		t.Errorf("WallClock is %s off", d)
	}
}

func TestMarketClockConcurrent(t *testing.T) {
	c := NewMarketClock(0)
	ts := time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				c.Observe(ts.Add(time.Duration(i*8+g) * time.Second))
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), ts.Add(7999*time.Second); !got.Equal(want) {
		t.Errorf("Now = %s, want the newest %s", got, want)
	}
}

// Replays of different periods (here 2023 and 2025, hand-picked times) keep
// one clock per pair, so neither looks years old next to the other.
func TestMarketClockPerPair(t *testing.T) {
	wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewMarketClock(60)
	c.now = func() time.Time { return wall }
	old := time.Date(2023, 3, 20, 12, 0, 0, 0, time.UTC)
	recent := time.Date(2025, 8, 18, 12, 0, 0, 0, time.UTC)
	c.ObservePair("BTC/USD", old)
	c.ObservePair("ETH/USDT", recent)
	wall = wall.Add(time.Second) // a minute of market time at 60×
	if got, want := c.NowFor("BTC/USD"), old.Add(time.Minute); !got.Equal(want) {
		t.Errorf("NowFor(BTC/USD) = %s, want %s", got, want)
	}
	if got, want := c.NowFor("ETH/USDT"), recent.Add(time.Minute); !got.Equal(want) {
		t.Errorf("NowFor(ETH/USDT) = %s, want %s", got, want)
	}
	if got, want := c.NowFor("SOL/USD"), recent.Add(time.Minute); !got.Equal(want) {
		t.Errorf("NowFor(unseen) = %s, want the whole clock %s", got, want)
	}
	c.ObservePair("BTC/USD", old.Add(-time.Hour)) // older: ignored
	if got, want := c.NowFor("BTC/USD"), old.Add(time.Minute); !got.Equal(want) {
		t.Errorf("after an older row NowFor(BTC/USD) = %s, want %s", got, want)
	}
}
