package connect

import (
	"strings"
	"testing"

	"github.com/tickcast/tickcast/internal/kafkatest"
)

// TestStageCandlesRegain: replica a holds every partition; b joins and takes
// some, a pair's among them; b stops and a gets them back, rewinding. What a
// built for the moved pairs before b came is stale by then: while b holds
// them, a's clock must not close their windows, and once back, their
// re-read trades must rebuild them, not merge into the stale windows.
func TestStageCandlesRegain(t *testing.T) {
	h := newFailover(t, kafkatest.StartCluster(t, 1), 1, liveEnd)
	a := h.replica("a")
	a.member = h.waitMember(nil)
	h.produce(0, 0.3)
	h.waitCandles(0.3)
	b := h.replica("b")
	b.member = h.waitMember([]string{a.member})
	owned := h.waitAssignment(2)
	moved := h.pairsOf(owned[b.member])
	t.Logf("b took partitions %v (pairs %v); a kept %v", owned[b.member], moved, owned[a.member])
	if len(moved) == 0 {
		t.Fatal("b took no pair's partition: nothing to regain")
	}
	h.produce(0.3, 0.6)
	h.waitCandles(0.6)
	b.stop()
	h.waitAssignment(1)
	h.produce(0.6, 1)
	h.waitEnd()
	h.check()
	resets := map[string]bool{}
	for _, line := range strings.Split(a.log.String(), "\n") {
		if strings.Contains(line, "pair state reset") {
			t.Logf("a: %s", line)
			for _, p := range moved {
				resets[p] = resets[p] || strings.Contains(line, "pair="+p+" ")
			}
		}
	}
	for _, p := range moved {
		if !resets[p] {
			t.Errorf("a logged no reset of %s", p)
		}
	}
}
