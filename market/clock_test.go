package market

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
		{"replay at 60x", 60, 2 * time.Second, t0.Add(2 * time.Minute)},
		{"max speed never extrapolates", 0, time.Hour, t0},
		{"negative speed stops", -5, time.Hour, t0},
		{"wall time before the arrival counts as none", 1, -time.Second, t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := EventClock{Speed: tt.speed}
			if _, ok := c.Now(wall); ok {
				t.Fatal("clock ready before any event")
			}
			if !c.Observe(t0, wall) {
				t.Fatal("the first event did not move the clock")
			}
			// An older or equal event never moves it back nor restarts its wall time.
			if c.Observe(t0.Add(-time.Minute), wall.Add(time.Second)) || c.Observe(t0, wall.Add(time.Second)) {
				t.Error("an older event moved the clock")
			}
			got, ok := c.Now(wall.Add(tt.after))
			if !ok || !got.Equal(tt.want) {
				t.Errorf("now = %v (%v), want %v", got, ok, tt.want)
			}
		})
	}
}
