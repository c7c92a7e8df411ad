package kraken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// session is one WebSocket connection: the reader runs in Run's goroutine,
// and one writer goroutine owns every write (gorilla allows one writer).
type session struct {
	c        *Client
	ws       *websocket.Conn
	log      *slog.Logger
	events   chan<- Event
	requests chan Request

	pending     map[string]bool // pairs not yet acknowledged
	ackDeadline time.Time
	ready       bool   // every pair acknowledged
	system      string // last engine status
}

func newSession(c *Client, ws *websocket.Conn, events chan<- Event) *session {
	return &session{c: c, ws: ws, log: c.log, events: events, requests: make(chan Request, 4)}
}

// run reads until the connection fails or ctx ends, then tears down.
func (s *session) run(parent context.Context) error {
	ctx, fail := context.WithCancelCause(parent)
	closed := make(chan struct{})
	context.AfterFunc(ctx, func() { // unblocks the reader
		s.close()
		close(closed)
	})
	var wg sync.WaitGroup
	wg.Go(func() { s.writeLoop(ctx, fail) })
	err := s.readLoop(ctx)
	if ctx.Err() != nil {
		err = context.Cause(ctx) // a write failure or cancellation explains the read error
	}
	fail(err)
	wg.Wait()
	<-closed
	return err
}

// close says goodbye when it can, then drops the connection.
func (s *session) close() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = s.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(250*time.Millisecond))
	_ = s.ws.Close()
}

func (s *session) readLoop(ctx context.Context) error {
	if err := s.handshake(ctx); err != nil {
		return err
	}
	for {
		b, recv, err := s.read()
		if err != nil {
			return err
		}
		if err := s.handle(ctx, b, recv); err != nil {
			return err
		}
		if !s.ready && recv.After(s.ackDeadline) {
			return fmt.Errorf("kraken: no subscribe ack for %v within %s", keys(s.pending), s.c.cfg.SilenceTimeout)
		}
	}
}

// handshake reads the status Kraken sends on connect, then subscribes.
func (s *session) handshake(ctx context.Context) error {
	b, recv, err := s.read()
	if err != nil {
		return fmt.Errorf("kraken: read status: %w", err)
	}
	if err := s.handle(ctx, b, recv); err != nil {
		return err
	}
	if s.system == "" {
		s.log.Warn("kraken: first frame is not a status message", "frame", truncate(b, 200))
	}
	return s.subscribe(ctx)
}

func (s *session) subscribe(ctx context.Context) error {
	s.pending = make(map[string]bool, len(s.c.pairs))
	for _, p := range s.c.pairs {
		s.pending[p] = true
	}
	s.ackDeadline = time.Now().Add(s.c.cfg.SilenceTimeout)
	req := Subscribe(s.c.pairs, s.c.cfg.Snapshot, s.c.nextReqID())
	select {
	case s.requests <- req:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// read waits at most SilenceTimeout for the next frame: Kraken sends a
// heartbeat every second, so silence means a dead connection.
func (s *session) read() ([]byte, time.Time, error) {
	timeout := s.c.cfg.SilenceTimeout
	if err := s.ws.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, time.Time{}, fmt.Errorf("kraken: set read deadline: %w", err)
	}
	_, b, err := s.ws.ReadMessage()
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() { // gorilla hides os.ErrDeadlineExceeded
		return nil, time.Time{}, fmt.Errorf("no frame for %s: %w", timeout, ErrSilence)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("kraken: read: %w", err)
	}
	s.c.stats.frames.Add(1)
	return b, time.Now(), nil
}

func (s *session) handle(ctx context.Context, b []byte, recv time.Time) error {
	msg, err := ParseMessage(b)
	if err != nil {
		s.c.noteMalformed(b, err)
		return s.reject(ctx, b, err, recv)
	}
	s.c.noteRejected(msg.Rejected)
	for i, raw := range msg.RejectedRaw {
		if err := s.reject(ctx, raw, msg.Rejected[i], recv); err != nil {
			return err
		}
	}
	switch msg.Kind {
	case KindStatus:
		return s.onStatus(ctx, msg, recv)
	case KindSubscribed:
		return s.onAck(ctx, msg, recv)
	case KindError:
		return s.onError(msg)
	case KindTrades:
		return s.onTrades(ctx, msg, recv)
	case KindHeartbeat:
		return emit(ctx, s.events, Event{Kind: EventHeartbeat, Time: recv})
	}
	s.log.Debug("kraken: frame ignored", "kind", msg.Kind, "method", msg.Method, "channel", msg.Channel, "req_id", msg.ReqID)
	return nil
}

// reject hands what could not be used to the caller, for a dead letter.
func (s *session) reject(ctx context.Context, raw []byte, err error, recv time.Time) error {
	raw = slices.Clone(raw[:min(len(raw), maxRejectedRaw)])
	return emit(ctx, s.events, Event{Kind: EventRejected, Reject: Rejected{Raw: raw, Err: err}, Time: recv})
}

// onStatus reports every engine status. A non-online status keeps the
// connection: Kraken closes it itself when maintenance starts.
func (s *session) onStatus(ctx context.Context, msg Message, recv time.Time) error {
	st := msg.Status
	s.system = st.System
	lvl := slog.LevelInfo
	if st.System != "online" {
		lvl = slog.LevelWarn
	}
	s.log.Log(ctx, lvl, "kraken: status", "system", st.System, "version", st.Version, "connection_id", st.ConnectionID)
	return emit(ctx, s.events, Event{Kind: EventStatus, Status: st.System, Time: recv})
}

func (s *session) onAck(ctx context.Context, msg Message, recv time.Time) error {
	if !s.pending[msg.Symbol] {
		s.log.Warn("kraken: unexpected subscribe ack", "symbol", msg.Symbol)
		return nil
	}
	delete(s.pending, msg.Symbol)
	if len(msg.Warnings) > 0 {
		s.log.Warn("kraken: subscribe warnings", "symbol", msg.Symbol, "warnings", msg.Warnings)
	}
	if s.ready || len(s.pending) > 0 {
		return nil
	}
	s.ready = true
	s.log.Info("kraken: subscribed", "pairs", s.c.pairs, "snapshot", s.c.cfg.Snapshot)
	return emit(ctx, s.events, Event{Kind: EventConnected, Status: s.system, Time: recv})
}

// onError ends Run for a refused pair; other refusals during the subscribe
// (rate limits) end only the connection, to be retried after backoff.
func (s *session) onError(msg Message) error {
	if msg.Method == "subscribe" && s.pending[msg.Symbol] {
		return fmt.Errorf("%w: %s: %s", ErrSubscriptionRefused, msg.Symbol, msg.Error)
	}
	if msg.Method == "subscribe" && !s.ready {
		return fmt.Errorf("kraken: subscribe failed: %s", msg.Error)
	}
	s.log.Warn("kraken: error reply", "method", msg.Method, "symbol", msg.Symbol, "error", msg.Error, "req_id", msg.ReqID)
	return nil
}

func (s *session) onTrades(ctx context.Context, msg Message, recv time.Time) error {
	for _, ev := range s.c.sequence(msg.Trades, recv) {
		if ev.Kind == EventGap {
			g := ev.Gap
			s.log.Warn("kraken: trade gap", "pair", g.Pair, "from_id", g.FromID, "to_id", g.ToID, "missing", g.Missing())
		}
		if err := emit(ctx, s.events, ev); err != nil {
			return err
		}
	}
	return nil
}

// writeLoop sends queued requests and the periodic ping.
func (s *session) writeLoop(ctx context.Context, fail context.CancelCauseFunc) {
	tick := time.NewTicker(s.c.cfg.PingInterval)
	defer tick.Stop()
	for {
		var req Request
		select {
		case <-ctx.Done():
			return
		case req = <-s.requests:
		case <-tick.C:
			req = Ping(s.c.nextReqID())
		}
		if err := s.write(req); err != nil {
			fail(fmt.Errorf("kraken: write %s: %w", req.Method, err))
			return
		}
	}
}

func (s *session) write(req Request) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if err := s.ws.SetWriteDeadline(time.Now().Add(s.c.cfg.SilenceTimeout)); err != nil {
		return err
	}
	return s.ws.WriteMessage(websocket.TextMessage, b)
}

func keys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
