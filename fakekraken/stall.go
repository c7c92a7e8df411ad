package fakekraken

import (
	"fmt"
	"time"

	"github.com/tickcast/tickcast/market"
)

// PairStall is the real exchange's fault that hits one pair only: its feed
// stalls while every other pair flows. The connections stay up (heartbeats,
// the other pairs' updates), the pair's trades keep happening on the
// exchange clock (published: REST Trades serves them), but none of them is
// sent on the WebSocket for For of wall time. Then the feed resumes: with
// Lose, at the trades published from then on (those of the stall are never
// sent: a trade_id gap that a client repairs from REST); else with every
// trade it withheld, in order and late (a burst of trades whose windows a
// client may have closed). A subscription to the pair during the stall gets
// the snapshot of its last trades before the stall, and its updates go on
// from there. It needs Speed > 0: at max speed the subscribers' reading
// drives the replay, and a stalled pair would stop every pair's clock.
type PairStall struct {
	Pair string // any spelling of a pair of Trades or Sources
	// After: the stall starts once this many of the pair's trades were
	// published; 0 holds back its first trade (the pair's feed starts late,
	// its snapshot empty).
	After int
	For   time.Duration // wall time, > 0
	Lose  bool
}

// stall is a PairStall of one tape and how far it got.
type stall struct {
	PairStall
	begun bool
	until time.Time // wall end, once begun
	ended bool
	to    int // Lose: the end of the trades never sent, [After, to), once ended
}

func (st *stall) activeAt(now time.Time) bool { return st.begun && !st.ended && now.Before(st.until) }

// newStalls returns the stalls of pair, in the order given.
func newStalls(pair string, all []PairStall) []*stall {
	var out []*stall
	for _, ps := range all {
		if p, err := market.NormalizePair(ps.Pair); err == nil && p == pair {
			out = append(out, &stall{PairStall: ps})
		}
	}
	return out
}

// validateStalls checks the stalls against the replayed pairs.
func validateStalls(cfg Config, tapes map[string]*tape) error {
	for _, ps := range cfg.Faults.Stalls {
		p, err := market.NormalizePair(ps.Pair)
		switch {
		case err != nil:
			return fmt.Errorf("fakekraken: stall: %w", err)
		case tapes[p] == nil:
			return fmt.Errorf("fakekraken: stall of %s, a pair not replayed", p)
		case ps.After < 0 || ps.For <= 0:
			return fmt.Errorf("fakekraken: stall of %s: After %d, For %s: want After >= 0, For > 0", p, ps.After, ps.For)
		case cfg.Speed <= 0:
			return fmt.Errorf("fakekraken: stall of %s: needs Speed > 0 (the exchange clock runs while a feed stalls)", p)
		}
	}
	return nil
}

// beginStallsLocked starts the stalls of t that its published trades have
// reached, each ended by a timer For later.
func (s *Server) beginStallsLocked(t *tape) {
	for _, st := range t.stalls {
		if st.begun || t.published < st.After || s.closed {
			continue
		}
		st.begun, st.until = true, time.Now().Add(st.For)
		s.stats.stalls.Add(1)
		s.log.Info("fakekraken: feed stalls", "pair", t.pair, "after_trades", st.After, "for", st.For, "lose", st.Lose, "exchange_time", s.nowLocked())
		s.wg.Go(func() {
			timer := time.NewTimer(st.For)
			defer timer.Stop()
			select {
			case <-s.closing:
				return
			case <-timer.C:
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			s.endStallsLocked(t, time.Now())
			s.wakeLocked(t)
		})
	}
}

// endStallsLocked ends the stalls of t whose time is up: a Lose stall
// fixes the trades it never sends.
func (s *Server) endStallsLocked(t *tape, now time.Time) {
	for _, st := range t.stalls {
		if !st.begun || st.ended || now.Before(st.until) {
			continue
		}
		st.ended, st.to = true, max(t.published, st.After)
		s.log.Info("fakekraken: feed resumes", "pair", t.pair, "lost", st.Lose, "trades", st.to-st.After, "exchange_time", s.nowLocked())
	}
}

// feedEndLocked is where t's feed stands: the published trades, or the
// first one an active stall holds back.
func (s *Server) feedEndLocked(t *tape, now time.Time) int {
	s.endStallsLocked(t, now)
	end := t.published
	for _, st := range t.stalls {
		if st.activeAt(now) {
			end = min(end, st.After)
		}
	}
	return end
}

// skipLostLocked moves sb past the trades an ended Lose stall never sends.
func (s *Server) skipLostLocked(t *tape, sb *sub) {
	for _, st := range t.stalls {
		if st.ended && st.Lose && sb.next >= st.After && sb.next < st.to {
			sb.next = st.to
		}
	}
}
