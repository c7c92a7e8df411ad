package predict

import (
	"context"
	"testing"

	"github.com/tickcast/tickcast/online"
)

// TestGapOpen: gap_open is the pipeline's state at serve time, on a
// computed answer and on a cached one alike; without a gap state it is false.
func TestGapOpen(t *testing.T) {
	ctx := context.Background()
	_, cfg := newFallbackFixture(t)
	gaps := &online.Gaps{}
	cfg.Gaps = gaps
	s := newService(t, cfg)
	steps := []struct {
		open   bool
		cached bool
	}{{false, false}, {true, true}, {false, true}}
	for i, st := range steps {
		gaps.Set(ethPair, st.open)
		p, err := s.Predict(ctx, "ETH-USDT", 1, Options{})
		if err != nil || p.GapOpen != st.open || p.Cached != st.cached {
			t.Errorf("step %d: %+v, %v; want gap_open %v, cached %v", i, p, err, st.open, st.cached)
		}
	}
	cfg.Gaps = nil
	s = newService(t, cfg)
	if p, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil || p.GapOpen {
		t.Errorf("no gap state: %+v, %v; want gap_open false", p, err)
	}
}
