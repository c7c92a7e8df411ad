package connect

import (
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
)

func TestParseStopAt(t *testing.T) {
	if ts, err := parseStopAt(""); err != nil || !ts.IsZero() {
		t.Errorf("empty stop_at = %v, %v", ts, err)
	}
	if ts, err := parseStopAt("2019-07-01T00:59:51.123Z"); err != nil || ts.Nanosecond() != 123e6 {
		t.Errorf("stop_at = %v, %v", ts, err)
	}
	if _, err := parseStopAt("tomorrow"); err == nil {
		t.Error("bad stop_at accepted")
	}
}

func TestRepeatShifted(t *testing.T) {
	// Hand-written fixture: two trades 90 minutes apart (span rounds up to 2h).
	t0 := time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
	in := []market.Trade{{TradeID: 5, TS: t0}, {TradeID: 6, TS: t0.Add(90 * time.Minute)}}
	out := repeatShifted(in, 3)
	if len(out) != 6 {
		t.Fatalf("len = %d", len(out))
	}
	for i, tr := range out {
		wantID := int64(5 + i)
		wantTS := t0.Add(time.Duration(i/2)*2*time.Hour + time.Duration(i%2)*90*time.Minute)
		if tr.TradeID != wantID || !tr.TS.Equal(wantTS) {
			t.Errorf("trade %d = id %d at %v, want id %d at %v", i, tr.TradeID, tr.TS, wantID, wantTS)
		}
	}
	if got := repeatShifted(in, 1); len(got) != 2 {
		t.Errorf("repeat 1 changed the trades")
	}
}
