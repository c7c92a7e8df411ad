package fakekraken

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickcast/tickcast/market"
)

// errDropped ends a connection whose drop was injected.
var errDropped = errors.New("fakekraken: connection dropped (injected)")

// conn is one client connection: a reader goroutine parses requests and a
// single writer goroutine sends every frame (gorilla allows one writer).
type conn struct {
	s    *Server
	ws   *websocket.Conn
	id   uint64
	log  *slog.Logger
	reqs chan request
	wake chan struct{} // trades or a status change may be waiting
	quit chan struct{}
	once sync.Once

	statusSeen int // guarded by s.mu

	// Owned by the writer.
	pairs     []string // subscribed, in subscription order
	updates   int      // update trades sent
	lastWrite time.Time
}

func newConn(s *Server, ws *websocket.Conn) *conn {
	id := rand.Uint64() | 1<<63 // Kraken's ids exceed 2^63: make clients prove they cope
	return &conn{s: s, ws: ws, id: id, log: s.log.With("connection_id", id),
		reqs: make(chan request, 16), wake: make(chan struct{}, 1), quit: make(chan struct{})}
}

func (c *conn) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// stop ends both goroutines and forgets the connection's subscriptions.
func (c *conn) stop() {
	c.once.Do(func() {
		close(c.quit)
		c.ws.Close()
		c.s.unregister(c)
	})
}

func (c *conn) readLoop() {
	defer c.stop()
	c.ws.SetReadLimit(1 << 16)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.log.Debug("fakekraken: read ended", "err", err)
			return
		}
		select {
		case c.reqs <- parseRequest(b, c.s.Now()):
		case <-c.quit:
			return
		}
	}
}

func (c *conn) writeLoop() {
	defer c.stop()
	hb := time.NewTimer(c.s.cfg.HeartbeatInterval)
	defer hb.Stop()
	err := c.write(encodeStatus(c.s.system(), c.id))
	for err == nil {
		select {
		case <-c.quit:
			return
		case req := <-c.reqs:
			err = c.serve(req)
		case <-c.wake:
			err = c.pump()
		case <-hb.C:
			err = c.heartbeat(hb)
		}
	}
	if !errors.Is(err, errDropped) {
		c.log.Debug("fakekraken: write ended", "err", err)
	}
}

func (c *conn) write(b []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("fakekraken: write: %w", err)
	}
	c.lastWrite = time.Now()
	return nil
}

// heartbeat is sent when nothing else was for HeartbeatInterval, and only
// to a subscribed connection.
func (c *conn) heartbeat(hb *time.Timer) error {
	iv := c.s.cfg.HeartbeatInterval
	if idle := time.Since(c.lastWrite); idle < iv {
		hb.Reset(iv - idle)
		return nil
	}
	hb.Reset(iv)
	if len(c.pairs) == 0 {
		return nil
	}
	return c.write(heartbeatFrame)
}

func (c *conn) serve(req request) error {
	switch {
	case req.err != "":
		return c.write(encodeError(req.method, "", req.err, req.reqID, req.timeIn, c.s.Now()))
	case req.method == "ping":
		return c.write(encodePong(req.reqID, req.timeIn, c.s.Now()))
	case req.method == "subscribe":
		return c.subscribe(req)
	}
	return c.unsubscribe(req)
}

// subscribe acks (or refuses) each symbol, then sends the snapshots: the
// updates that follow continue exactly where each snapshot ends. With
// Faults.TradesBeforeAck the snapshots and a first batch of updates go
// before the acks.
func (c *conn) subscribe(req request) error {
	var snaps [][]market.Trade
	var frames [][]byte
	for _, sym := range req.symbols {
		snap, msg := c.s.subscribe(c, sym, req.snapshot)
		if msg != "" {
			frames = append(frames, encodeError(req.method, sym, msg, req.reqID, req.timeIn, c.s.Now()))
			continue
		}
		c.pairs = append(c.pairs, sym)
		frames = append(frames, encodeAck(req.method, sym, &req.snapshot, req.reqID, req.timeIn, c.s.Now()))
		snaps = append(snaps, snap)
	}
	if c.s.cfg.Faults.TradesBeforeAck {
		if err := c.writeSnapshots(snaps); err != nil {
			return err
		}
		if err := c.pump(); err != nil {
			return err
		}
		snaps = nil
	}
	for _, f := range frames {
		if err := c.write(f); err != nil {
			return err
		}
	}
	if err := c.writeSnapshots(snaps); err != nil {
		return err
	}
	c.notify()
	return nil
}

func (c *conn) writeSnapshots(snaps [][]market.Trade) error {
	for _, snap := range snaps {
		if len(snap) == 0 {
			continue
		}
		if err := c.write(encodeTrades("snapshot", snap)); err != nil {
			return err
		}
		c.s.stats.snapshot.Add(int64(len(snap)))
	}
	return nil
}

func (c *conn) unsubscribe(req request) error {
	for _, sym := range req.symbols {
		frame := encodeAck(req.method, sym, nil, req.reqID, req.timeIn, c.s.Now())
		if msg := c.s.unsubscribe(c, sym); msg != "" {
			frame = encodeError(req.method, sym, msg, req.reqID, req.timeIn, c.s.Now())
		} else {
			c.pairs = slices.DeleteFunc(c.pairs, func(p string) bool { return p == sym })
		}
		if err := c.write(frame); err != nil {
			return err
		}
	}
	return nil
}

// pump sends status changes and one batch per pair, then wakes itself if
// it sent anything, so that requests interleave with a long replay.
func (c *conn) pump() error {
	for _, system := range c.s.statusesSince(c) {
		if err := c.write(encodeStatus(system, c.id)); err != nil {
			return err
		}
	}
	sent := false
	for _, pair := range c.pairs {
		batch := c.s.take(c, pair, c.limit())
		if len(batch) == 0 {
			continue
		}
		if err := c.write(encodeTrades("update", batch)); err != nil {
			return err
		}
		sent = true
		if err := c.afterUpdate(len(batch)); err != nil {
			return err
		}
	}
	if sent {
		c.notify()
	}
	return nil
}

// limit caps a batch so that an injected drop happens after exactly
// DisconnectEvery update trades.
func (c *conn) limit() int {
	n := c.s.cfg.BatchMax
	if every := c.s.cfg.Faults.DisconnectEvery; every > 0 && c.s.dropsLeft() {
		n = min(n, every-c.updates)
	}
	return n
}

// afterUpdate applies the faults due after n more update trades.
func (c *conn) afterUpdate(n int) error {
	c.updates += n
	silence, maintenance, repeat := c.s.sent(n)
	if every := c.s.cfg.Faults.DisconnectEvery; every > 0 && c.updates >= every && c.s.drop(c) {
		c.log.Info("fakekraken: dropping connection", "after_trades", c.updates, "skip", c.s.cfg.Faults.SkipOnDisconnect)
		c.ws.NetConn().Close() // no close frame: the client sees 1006
		return errDropped
	}
	if maintenance {
		c.s.goMaintenance()
	}
	if repeat {
		c.log.Info("fakekraken: repeating snapshots")
		if err := c.writeSnapshots(c.s.snapshots(c)); err != nil {
			return err
		}
	}
	if silence {
		return c.silence()
	}
	return nil
}

// silence sends nothing at all, not even heartbeats, for SilenceFor.
func (c *conn) silence() error {
	d := c.s.cfg.Faults.SilenceFor
	c.log.Info("fakekraken: going silent", "for", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.quit:
		return errors.New("fakekraken: closed while silent")
	}
}

// goMaintenance announces maintenance, then online again one heartbeat
// interval later.
func (s *Server) goMaintenance() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Go(func() {
		s.setSystem("maintenance")
		t := time.NewTimer(s.cfg.HeartbeatInterval)
		defer t.Stop()
		select {
		case <-t.C:
			s.setSystem("online")
		case <-s.closing:
		}
	})
}
