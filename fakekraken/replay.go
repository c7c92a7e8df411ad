package fakekraken

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tickcast/tickcast/market"
)

// newTapes builds the pairs of Config.Trades (copied, checked, all loaded
// now) and of Config.Sources (read as the replay goes; the first trade is
// read now so that a source that cannot start fails New).
func newTapes(cfg Config) (map[string]*tape, error) {
	sizes, err := snapshotSizes(cfg)
	if err != nil {
		return nil, err
	}
	tapes := map[string]*tape{}
	add := func(name string, src TradeSource, streamed bool) (*tape, error) {
		t, err := newTape(name, src, cfg.Faults.Hostile)
		if err != nil {
			return nil, err
		}
		if _, dup := tapes[t.pair]; dup {
			return nil, fmt.Errorf("fakekraken: pair %s given twice", t.pair)
		}
		t.snap = cmp.Or(sizes[t.pair], cfg.SnapshotSize)
		t.stalls = newStalls(t.pair, cfg.Faults.Stalls)
		if streamed {
			t.keep = max(cfg.History, t.snap)
		}
		tapes[t.pair] = t
		return t, nil
	}
	for name, trades := range cfg.Trades {
		t, err := add(name, NewSliceSource(trades), false)
		if err != nil {
			return nil, err
		}
		t.inMemory = true
		if t.fill(math.MaxInt); t.err != nil {
			return nil, t.err
		}
	}
	for name, src := range cfg.Sources {
		t, err := add(name, src, true)
		if err != nil {
			return nil, err
		}
		if t.fill(1); t.err != nil {
			return nil, t.err
		}
	}
	for pair := range sizes {
		if tapes[pair] == nil {
			return nil, fmt.Errorf("fakekraken: snapshot size of %s, a pair not replayed", pair)
		}
	}
	if err := validateStalls(cfg, tapes); err != nil {
		return nil, err
	}
	return tapes, nil
}

// snapshotSizes returns Config.SnapshotSizes under v2 pair names.
func snapshotSizes(cfg Config) (map[string]int, error) {
	out := map[string]int{}
	for name, n := range cfg.SnapshotSizes {
		pair, err := market.NormalizePair(name)
		if err != nil {
			return nil, fmt.Errorf("fakekraken: snapshot size: %w", err)
		}
		if _, dup := out[pair]; dup {
			return nil, fmt.Errorf("fakekraken: snapshot size of %s given twice", pair)
		}
		out[pair] = n
	}
	return out, nil
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

func (t *tape) notifyLocked() {
	for c := range t.subs {
		c.notify()
	}
}

// wakeLocked wakes the subscribers of t after it published or lost a
// subscriber, and at max speed with several pairs those of every pair:
// the shared clock (advanceLocked) may now let them publish.
func (s *Server) wakeLocked(t *tape) {
	if !s.maxSpeed() || len(s.tapes) == 1 {
		t.notifyLocked()
		return
	}
	for _, o := range s.tapes {
		o.notifyLocked()
	}
}

// advanceLocked publishes up to limit more trades of t at max speed. The
// pairs share one event-time clock: t publishes only trades no later than
// the next unpublished trade of every other pair that has subscribers and
// trades left (clockLimitLocked). Trades at that very time go through, so
// the pair whose next trade is the earliest always advances: none waits on
// another forever, and a pair nobody listens to holds no one back.
func (s *Server) advanceLocked(t *tape, limit int) {
	n := t.published + limit
	if at, ok := s.clockLimitLocked(t); ok {
		n = t.until(n, at)
	}
	s.publishLocked(t, n)
}

// clockLimitLocked is the earliest next unpublished trade time of the
// pairs other than t that have subscribers and trades left; ok is false
// when there is none.
func (s *Server) clockLimitLocked(t *tape) (at time.Time, ok bool) {
	for _, o := range s.tapes {
		if o == t || len(o.subs) == 0 || o.exhausted() {
			continue
		}
		if next := o.at(o.published).TS; !ok || next.Before(at) {
			at, ok = next, true
		}
	}
	return at, ok
}

func (s *Server) maxSpeed() bool { return s.cfg.Speed <= 0 }

// Now is the exchange clock: the event time the replay is at. At Speed > 0
// it is origin + (wall − start) × Speed, origin being the newest of every
// pair's first snapshot-size trades (published at once at the first
// subscription); at max speed the time of the newest trade published.
// Before the replay starts it is the newest trade REST serves when a pair
// is in memory (Config.Trades: REST serves it all), else at Speed > 0 the
// origin it will start from, at max speed the first trade. REST Time,
// SystemStatus and the WebSocket's time_in/time_out read it.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	if s.started && !s.maxSpeed() {
		ev := float64(time.Since(s.start)) * s.cfg.Speed
		return s.origin.Add(time.Duration(min(ev, float64(math.MaxInt64/2)))).UTC()
	}
	if !s.maxSpeed() && !s.servesHistoryLocked() { // a timed replay's clock stands at the origin it will start from
		if o := s.startOriginLocked(); !o.IsZero() {
			return o
		}
	}
	var now time.Time
	for _, t := range s.tapes {
		end := t.restEnd(s.started)
		switch {
		case end > t.base && t.at(end-1).TS.After(now):
			now = t.at(end - 1).TS
		case end == t.base && t.has(end) && now.IsZero():
			now = t.at(end).TS
		}
	}
	if now.IsZero() {
		return time.Now().UTC()
	}
	return now
}

// servesHistoryLocked: a tape in memory serves its whole history before
// the replay starts (restEnd), so the clock stands at its last trade.
func (s *Server) servesHistoryLocked() bool {
	for _, t := range s.tapes {
		if t.inMemory {
			return true
		}
	}
	return false
}

// startOriginLocked is the event time a replay starts at: the newest of
// the first snapshot-size trades of every pair, published at once (the
// exchange's history when the first client subscribes).
func (s *Server) startOriginLocked() time.Time {
	origin := s.origin
	for _, t := range s.tapes {
		t.fill(t.snap)
		if n := min(t.snap, t.loaded()); n > 0 && t.at(n-1).TS.After(origin) {
			origin = t.at(n - 1).TS
		}
	}
	return origin
}

// startLocked begins the replay at the first subscription, with the first
// snapshot-size trades of every pair already published.
func (s *Server) startLocked() {
	s.started, s.start = true, time.Now()
	s.origin = s.startOriginLocked()
	for _, t := range s.tapes {
		s.publishLocked(t, min(t.snap, t.loaded()))
	}
	if !s.maxSpeed() && !s.closed {
		s.publishDueLocked(s.start) // pairs share one clock: catch up to the origin
		s.wg.Go(s.schedule)
	}
	s.log.Info("fakekraken: replay started", "speed", s.cfg.Speed, "origin", s.origin)
}

// publishLocked makes trades up to index n (exclusive) public.
func (s *Server) publishLocked(t *tape, n int) {
	t.fill(n)
	n = min(n, t.loaded())
	if n <= t.published {
		return
	}
	k := n - t.published
	s.stats.published.Add(int64(k))
	t.published = n
	t.trim()
	s.beginStallsLocked(t)
	s.wakeLocked(t)
	s.countForOutageLocked(k)
	s.checkDoneLocked()
}

func (s *Server) checkDoneLocked() {
	for _, t := range s.tapes {
		if !t.exhausted() {
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

// Err reports why a streamed source ended before its end of file (a bad
// row, a read error); nil while all is well.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, t := range s.tapes {
		errs = append(errs, t.err)
	}
	return errors.Join(errs...)
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
		if !t.has(t.published) {
			continue
		}
		if d := s.due(t.at(t.published).TS); !ok || d.Before(next) {
			next, ok = d, true
		}
	}
	return next, ok
}

func (s *Server) publishDueLocked(now time.Time) {
	for _, t := range s.tapes {
		n := t.published
		for t.has(n) && !s.due(t.at(n).TS).After(now) {
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
	t.subs[c] = &sub{next: s.feedEndLocked(t, time.Now())} // a stalled feed goes on where its snapshot ends
	if !snapshot {
		return nil, ""
	}
	return s.snapshotLocked(t), ""
}

// snapshotLocked is the pair's last snapshot-size published trades, as of
// now (of the stall's start while its feed stalls).
func (s *Server) snapshotLocked(t *tape) []market.Trade {
	end := s.feedEndLocked(t, time.Now())
	return t.emit(max(t.base, end-t.snap), end)
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
	s.wakeLocked(t)
	return ""
}

// take returns the next batch of at most limit trades of pair for c. At max
// speed a caught-up connection publishes the batch itself, when every
// other subscriber has caught up too and as far as the pairs' shared clock
// allows (advanceLocked). A subscriber that fell behind the
// streamed window (History trades) resumes at its start: a gap, as when
// Kraken sheds a slow reader.
func (s *Server) take(c *conn, pair string, limit int) []market.Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tapes[pair]
	sb := t.subs[c]
	if sb == nil || limit <= 0 {
		return nil
	}
	if s.maxSpeed() && sb.next == t.published && t.caughtUpLocked() {
		s.advanceLocked(t, limit)
	}
	if sb.next < t.base {
		c.log.Warn("fakekraken: subscriber fell behind the history window", "pair", pair, "skipped", t.base-sb.next)
		sb.next = t.base
	}
	// One clock for both: a stall that ends between the skip and the feed's
	// end would send the trades a Lose stall never sends.
	now := time.Now()
	s.endStallsLocked(t, now)
	s.skipLostLocked(t, sb)
	n := min(s.feedEndLocked(t, now)-sb.next, limit)
	if n <= 0 {
		return nil
	}
	batch := t.emit(sb.next, sb.next+n)
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
			s.wakeLocked(t)
		}
	}
	return true
}
