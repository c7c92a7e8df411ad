package redis

import (
	"testing"
	"time"
)

func TestTSKeyOrder(t *testing.T) {
	times := []time.Time{ // ascending
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Date(2025, 5, 20, 2, 0, 0, 0, time.UTC),
		time.Date(2025, 5, 20, 2, 0, 0, 1, time.UTC),
		time.Date(2025, 5, 20, 2, 1, 0, 0, time.UTC),
		time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		a, b := tsKey(times[i-1]), tsKey(times[i])
		if len(a) != 20 || len(b) != 20 || a >= b {
			t.Errorf("tsKey(%v) = %s, tsKey(%v) = %s: not ascending 20-digit keys", times[i-1], a, times[i], b)
		}
	}
}

func TestDecodeUpdateErrors(t *testing.T) {
	for _, payload := range []string{"", "{}", "x {}", "1 {}", "1 not json"} {
		if _, _, err := decodeUpdate(payload); err == nil {
			t.Errorf("decodeUpdate(%q) accepted", payload)
		}
	}
}
