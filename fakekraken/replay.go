package fakekraken

import (
	"fmt"
	"slices"
	"time"

	"github.com/tickcast/tickcast/market"
)

// tape is one pair's replay: trades[:published] have happened.
type tape struct {
	pair      string
	trades    []market.Trade
	published int
	subs      map[*conn]*sub
}

// sub is a connection's subscription: next is the index of the next trade
// to send it.
type sub struct{ next int }

func newTapes(in map[string][]market.Trade) (map[string]*tape, error) {
	tapes := make(map[string]*tape, len(in))
	for name, trades := range in {
		pair, err := market.NormalizePair(name)
		if err != nil {
			return nil, fmt.Errorf("fakekraken: %w", err)
		}
		if _, dup := tapes[pair]; dup {
			return nil, fmt.Errorf("fakekraken: pair %s given twice", pair)
		}
		t := &tape{pair: pair, trades: slices.Clone(trades), subs: map[*conn]*sub{}}
		if err := t.prepare(); err != nil {
			return nil, err
		}
		tapes[pair] = t
	}
	return tapes, nil
}

// prepare checks the trades and fills in what the wire needs.
func (t *tape) prepare() error {
	for i := range t.trades {
		tr := &t.trades[i]
		if err := t.check(i); err != nil {
			return fmt.Errorf("fakekraken: %s trade %d (id %d): %w", t.pair, i, tr.TradeID, err)
		}
		tr.Pair = t.pair
		tr.TS = tr.TS.UTC().Truncate(time.Microsecond)
		if tr.Side == market.SideUnknown {
			tr.Side = tickSide(t.trades, i)
		}
	}
	return nil
}

func (t *tape) check(i int) error {
	tr := t.trades[i]
	if tr.Pair != "" {
		if p, err := market.NormalizePair(tr.Pair); err != nil || p != t.pair {
			return fmt.Errorf("pair %q under %s", tr.Pair, t.pair)
		}
	}
	tr.Pair = t.pair
	if err := tr.Validate(); err != nil {
		return err
	}
	if i > 0 && tr.TradeID <= t.trades[i-1].TradeID {
		return fmt.Errorf("trade_id %d not above %d", tr.TradeID, t.trades[i-1].TradeID)
	}
	if i > 0 && tr.TS.Before(t.trades[i-1].TS) {
		return fmt.Errorf("time %s before the previous trade", tr.TS)
	}
	return nil
}

// tickSide infers a taker side by the tick rule; trades before i already
// have a side.
func tickSide(trades []market.Trade, i int) market.Side {
	switch {
	case i == 0:
		return market.SideBuy
	case trades[i].Price > trades[i-1].Price:
		return market.SideBuy
	case trades[i].Price < trades[i-1].Price:
		return market.SideSell
	}
	return trades[i-1].Side
}

func (t *tape) notifyLocked() {
	for c := range t.subs {
		c.notify()
	}
}

// caughtUpLocked reports whether every subscriber has been sent everything
// published: at max speed the replay only advances then (backpressure).
func (t *tape) caughtUpLocked() bool {
	for _, sb := range t.subs {
		if sb.next < t.published {
			return false
		}
	}
	return true
}

func (s *Server) maxSpeed() bool { return s.cfg.Speed <= 0 }

// startLocked begins the replay at the first subscription, with the first
// SnapshotSize trades of every pair already published.
func (s *Server) startLocked() {
	s.started, s.start = true, time.Now()
	for _, t := range s.tapes {
		n := min(s.cfg.SnapshotSize, len(t.trades))
		if n > 0 && t.trades[n-1].TS.After(s.origin) {
			s.origin = t.trades[n-1].TS
		}
		s.publishLocked(t, n)
	}
	if !s.maxSpeed() && !s.closed {
		s.publishDueLocked(s.start) // pairs share one clock: catch up to the origin
		s.wg.Go(s.schedule)
	}
	s.log.Info("fakekraken: replay started", "speed", s.cfg.Speed, "origin", s.origin)
}

// publishLocked makes trades up to index n (exclusive) public.
func (s *Server) publishLocked(t *tape, n int) {
	n = min(n, len(t.trades))
	if n <= t.published {
		return
	}
	s.stats.published.Add(int64(n - t.published))
	t.published = n
	t.notifyLocked()
	s.checkDoneLocked()
}

func (s *Server) checkDoneLocked() {
	for _, t := range s.tapes {
		if t.published < len(t.trades) {
			return
		}
	}
	select {
	case <-s.done:
	default:
		close(s.done)
		s.log.Info("fakekraken: every trade published")
	}
}

// due is when a trade of event time ts is published at Speed > 0.
func (s *Server) due(ts time.Time) time.Time {
	return s.start.Add(time.Duration(float64(ts.Sub(s.origin)) / s.cfg.Speed))
}

// schedule publishes trades on the wall clock (Speed > 0).
func (s *Server) schedule() {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		s.mu.Lock()
		next, ok := s.nextDueLocked()
		s.mu.Unlock()
		if !ok {
			return
		}
		timer.Reset(time.Until(next))
		select {
		case <-s.closing:
			return
		case <-timer.C:
		}
		s.mu.Lock()
		s.publishDueLocked(time.Now())
		s.mu.Unlock()
	}
}

func (s *Server) nextDueLocked() (time.Time, bool) {
	var next time.Time
	ok := false
	for _, t := range s.tapes {
		if t.published == len(t.trades) {
			continue
		}
		if d := s.due(t.trades[t.published].TS); !ok || d.Before(next) {
			next, ok = d, true
		}
	}
	return next, ok
}

func (s *Server) publishDueLocked(now time.Time) {
	for _, t := range s.tapes {
		n := t.published
		for n < len(t.trades) && !s.due(t.trades[n].TS).After(now) {
			n++
		}
		s.publishLocked(t, n)
	}
}

// subscribe registers c for pair and returns the snapshot it must send
// first (when asked for), or Kraken's error message.
func (s *Server) subscribe(c *conn, pair string, snapshot bool) ([]market.Trade, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tapes[pair]
	if !ok {
		return nil, fmt.Sprintf(errPairFmt, pair)
	}
	if _, dup := t.subs[c]; dup {
		return nil, errAlreadySub
	}
	if !s.started {
		s.startLocked()
	}
	t.subs[c] = &sub{next: t.published}
	if !snapshot {
		return nil, ""
	}
	return s.snapshotLocked(t), ""
}

func (s *Server) snapshotLocked(t *tape) []market.Trade {
	return t.trades[max(0, t.published-s.cfg.SnapshotSize):t.published]
}

// snapshots returns the current snapshot of each pair c is subscribed to.
func (s *Server) snapshots(c *conn) [][]market.Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]market.Trade
	for _, pair := range c.pairs {
		if t := s.tapes[pair]; t.subs[c] != nil {
			out = append(out, s.snapshotLocked(t))
		}
	}
	return out
}

func (s *Server) unsubscribe(c *conn, pair string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tapes[pair]
	if !ok {
		return fmt.Sprintf(errPairFmt, pair)
	}
	if _, ok := t.subs[c]; !ok {
		return errSubNotFound
	}
	delete(t.subs, c)
	t.notifyLocked()
	return ""
}

// take returns the next batch of at most limit trades of pair for c. At max
// speed a caught-up connection publishes the batch itself, when every
// other subscriber has caught up too.
func (s *Server) take(c *conn, pair string, limit int) []market.Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tapes[pair]
	sb := t.subs[c]
	if sb == nil || limit <= 0 {
		return nil
	}
	if s.maxSpeed() && sb.next == t.published && t.caughtUpLocked() {
		s.publishLocked(t, t.published+limit)
	}
	n := min(t.published-sb.next, limit)
	batch := t.trades[sb.next : sb.next+n]
	sb.next += n
	return batch
}

// sent counts update trades and says which once-only faults are due.
func (s *Server) sent(n int) (silence, maintenance, repeat bool) {
	s.stats.sent.Add(int64(n))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sentAll += int64(n)
	f, o := s.cfg.Faults, &s.once
	silence = trip(&o.silence, f.SilenceAfter, s.sentAll) && f.SilenceFor > 0
	maintenance = trip(&o.maintenance, f.MaintenanceAfter, s.sentAll)
	repeat = trip(&o.repeat, f.RepeatSnapshotAfter, s.sentAll)
	return silence, maintenance, repeat
}

// trip fires once when a threshold set (> 0) is reached.
func trip(fired *bool, after int, count int64) bool {
	if *fired || after <= 0 || count < int64(after) {
		return false
	}
	*fired = true
	return true
}

// dropsLeft reports whether another drop may be injected.
func (s *Server) dropsLeft() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropsLeftLocked()
}

func (s *Server) dropsLeftLocked() bool {
	f := s.cfg.Faults
	return f.DisconnectEvery > 0 && (f.Disconnects == 0 || s.drops < f.Disconnects)
}

// drop unsubscribes c and publishes SkipOnDisconnect trades of each of its
// pairs that it will never be sent: they happen while its client is away.
func (s *Server) drop(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dropsLeftLocked() {
		return false
	}
	s.drops++
	s.stats.drops.Add(1)
	for _, t := range s.tapes {
		if _, ok := t.subs[c]; ok {
			delete(t.subs, c)
			s.publishLocked(t, t.published+s.cfg.Faults.SkipOnDisconnect)
		}
	}
	return true
}
