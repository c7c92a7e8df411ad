package connect

import (
	"testing"
	"time"
)

func TestEventClock(t *testing.T) {
	t0 := time.Date(2019, 7, 1, 0, 0, 3, 0, time.UTC)
	wall := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		speed float64
		after time.Duration
		want  time.Time
	}{
		{"live follows exchange time", 1, 2 * time.Second, t0.Add(2 * time.Second)},
		{"replay at 10x", 10, 2 * time.Second, t0.Add(20 * time.Second)},
		{"max speed never extrapolates", 0, time.Hour, t0},
	}
	for _, tt := range tests {
		c := eventClock{speed: tt.speed}
		if _, ok := c.now(wall); ok {
			t.Fatalf("%s: clock ready before any trade", tt.name)
		}
		c.observe(t0, wall)
		c.observe(t0.Add(-time.Minute), wall.Add(time.Second)) // an older trade never moves it back
		got, _ := c.now(wall.Add(tt.after))
		if !got.Equal(tt.want) {
			t.Errorf("%s: now = %v, want %v", tt.name, got, tt.want)
		}
	}
}
