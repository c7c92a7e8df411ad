package kraken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const wait = 5 * time.Second // upper bound for anything a test waits for

// script is a loopback WebSocket server whose connections the test drives.
type script struct {
	srv      *httptest.Server
	conns    chan *peer
	attempts chan time.Time
	refuse   atomic.Int32 // answer this many upgrade attempts with 503
}

type peer struct{ ws *websocket.Conn }

func newScript(t *testing.T) *script {
	s := &script{conns: make(chan *peer, 16), attempts: make(chan time.Time, 64)}
	up := websocket.Upgrader{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.attempts <- time.Now()
		if s.refuse.Add(-1) >= 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err == nil {
			s.conns <- &peer{ws: ws}
		}
	}))
	t.Cleanup(func() {
		s.srv.Close()
		close(s.conns)
		for p := range s.conns {
			p.ws.Close()
		}
	})
	return s
}

func (s *script) url() string { return "ws" + strings.TrimPrefix(s.srv.URL, "http") }

func (s *script) accept(t *testing.T) *peer {
	t.Helper()
	select {
	case p := <-s.conns:
		t.Cleanup(func() { p.ws.Close() })
		return p
	case <-time.After(wait):
		t.Fatal("client did not connect")
		return nil
	}
}

func (p *peer) send(t *testing.T, frames ...string) {
	t.Helper()
	for _, f := range frames {
		if err := p.ws.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
			t.Fatalf("server write: %v", err)
		}
	}
}

type request struct {
	Method string `json:"method"`
	Params struct {
		Channel  string   `json:"channel"`
		Symbol   []string `json:"symbol"`
		Snapshot *bool    `json:"snapshot"`
	} `json:"params"`
	ReqID int64 `json:"req_id"`
	raw   string
}

func (p *peer) read(t *testing.T) request {
	t.Helper()
	if err := p.ws.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	_, b, err := p.ws.ReadMessage()
	if err != nil {
		t.Fatalf("server read: %v", err)
	}
	r := request{raw: string(b)}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("request %s: %v", b, err)
	}
	return r
}

// handshake plays Kraken's side of a connection: status, then one ack per symbol.
func (p *peer) handshake(t *testing.T) request {
	t.Helper()
	p.send(t, frameStatus)
	req := p.read(t)
	if req.Method != "subscribe" {
		t.Fatalf("first request %s, want subscribe", req.raw)
	}
	for _, sym := range req.Params.Symbol {
		p.send(t, ackFrame(sym, req.ReqID))
	}
	return req
}

// drop ends the connection without a close frame, as Cloudflare's 1006 does.
func (p *peer) drop() { p.ws.NetConn().Close() }

func ackFrame(sym string, reqID int64) string {
	return fmt.Sprintf(`{"method":"subscribe","req_id":%d,"result":{"channel":"trade","snapshot":true,"symbol":%q},"success":true,"time_in":"2026-01-02T03:04:05.000001Z","time_out":"2026-01-02T03:04:05.000002Z"}`, reqID, sym)
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func tsOf(id int64) time.Time { return t0.Add(time.Duration(id) * time.Millisecond) }

func tradeFrame(typ, pair string, ids ...int64) string {
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = fmt.Sprintf(`{"symbol":%q,"side":"buy","price":%d.5,"qty":0.1,"ord_type":"market","trade_id":%d,"timestamp":%q}`,
			pair, 100+id, id, tsOf(id).Format("2006-01-02T15:04:05.000000Z"))
	}
	return fmt.Sprintf(`{"channel":"trade","type":%q,"data":[%s]}`, typ, strings.Join(items, ","))
}

// running is a Client.Run in the background.
type running struct {
	c      *Client
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func testConfig(s *script, pairs ...string) ClientConfig {
	return ClientConfig{URL: s.url(), Pairs: pairs, Snapshot: true, SilenceTimeout: 2 * time.Second,
		PingInterval: time.Hour, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
}

func start(t *testing.T, cfg ClientConfig, events chan Event, tweak ...func(*Client)) *running {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tweak {
		f(c)
	}
	if events == nil {
		events = make(chan Event, 1024)
	}
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{c: c, events: events, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = c.Run(ctx, events)
		close(r.done)
	}()
	t.Cleanup(func() { _ = r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) error {
	r.cancel()
	return r.wait(t)
}

func (r *running) wait(t *testing.T) error {
	select {
	case <-r.done:
		return r.err
	case <-time.After(wait):
		t.Fatal("Run did not return")
		return nil
	}
}

// next returns the next event of one of kinds, failing on any event of
// a kind in fail.
func (r *running) next(t *testing.T, kinds []EventKind, fail ...EventKind) Event {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev := <-r.events:
			for _, k := range fail {
				if ev.Kind == k {
					t.Fatalf("unexpected %v event: %+v", ev.Kind, ev)
				}
			}
			for _, k := range kinds {
				if ev.Kind == k {
					return ev
				}
			}
		case <-timeout:
			t.Fatalf("no %v event", kinds)
		}
	}
}

// sequenceOf summarises the next n trade and gap events, e.g. "T1,2 G3-4 T5".
func (r *running) sequenceOf(t *testing.T, n int) string {
	t.Helper()
	var out []string
	for range n {
		ev := r.next(t, []EventKind{EventTrades, EventGap})
		out = append(out, summary(ev))
	}
	return strings.Join(out, " ")
}

func summary(ev Event) string {
	if ev.Kind == EventGap {
		return fmt.Sprintf("G%d-%d", ev.Gap.FromID, ev.Gap.ToID)
	}
	ids := make([]string, len(ev.Trades))
	for i, tr := range ev.Trades {
		ids[i] = strconv.FormatInt(tr.TradeID, 10)
	}
	return "T" + strings.Join(ids, ",")
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		name    string
		cfg     ClientConfig
		wantErr string
		pairs   []string
	}{
		{"normalises and dedups", ClientConfig{Pairs: []string{"XBTUSD", "BTC/USD", "eth-usd", "XDG/USD"}}, "", []string{"BTC/USD", "ETH/USD", "DOGE/USD"}},
		{"no pairs", ClientConfig{}, "no pairs", nil},
		{"bad pair", ClientConfig{Pairs: []string{"BTC"}}, "not a BASE/QUOTE pair", nil},
		{"bad scheme", ClientConfig{URL: "http://x", Pairs: []string{"BTC/USD"}}, "scheme", nil},
		{"backoff inverted", ClientConfig{Pairs: []string{"BTC/USD"}, BackoffMin: time.Second, BackoffMax: time.Millisecond}, "BackoffMin", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.Pairs(), " "); got != strings.Join(tt.pairs, " ") {
				t.Errorf("pairs %s, want %v", got, tt.pairs)
			}
			if c.cfg.URL != DefaultURL || c.cfg.SilenceTimeout != DefaultSilenceTimeout || c.cfg.BackoffMax != DefaultBackoffMax {
				t.Errorf("defaults not applied: %+v", c.cfg)
			}
		})
	}
}

func TestClientSubscribeRequest(t *testing.T) {
	tests := []struct {
		pairs    []string
		snapshot bool
		want     string
	}{
		{[]string{"XBTUSD", "eth-usd"}, true, `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"],"snapshot":true},"req_id":1}`},
		{[]string{"BTC/USD"}, false, `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":false},"req_id":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			s := newScript(t)
			cfg := testConfig(s, tt.pairs...)
			cfg.Snapshot = tt.snapshot
			start(t, cfg, nil)
			p := s.accept(t)
			p.send(t, frameStatus)
			if got := p.read(t).raw; got != tt.want {
				t.Errorf("subscribe = %s\nwant        %s", got, tt.want)
			}
		})
	}
}

func TestClientConnectedAfterEveryAck(t *testing.T) {
	s := newScript(t)
	r := start(t, testConfig(s, "BTC/USD", "ETH/USD"), nil)
	p := s.accept(t)
	p.send(t, frameStatus)
	req := p.read(t)
	if ev := r.next(t, []EventKind{EventStatus}); ev.Status != "online" {
		t.Errorf("status %q", ev.Status)
	}
	p.send(t, ackFrame("BTC/USD", req.ReqID), frameHeartbeat)
	r.next(t, []EventKind{EventHeartbeat}, EventConnected)
	p.send(t, ackFrame("ETH/USD", req.ReqID))
	if ev := r.next(t, []EventKind{EventConnected}); ev.Status != "online" {
		t.Errorf("connected with status %q", ev.Status)
	}
}

func TestClientRefusedPairStopsRun(t *testing.T) {
	s := newScript(t)
	r := start(t, testConfig(s, "FOO/USD"), nil)
	p := s.accept(t)
	p.send(t, frameStatus)
	p.read(t)
	p.send(t, `{"error":"Currency pair not supported FOO/USD","method":"subscribe","req_id":1,"success":false,"symbol":"FOO/USD","time_in":"2026-09-25T17:48:54.701041Z","time_out":"2026-09-25T17:48:54.701062Z"}`)
	err := r.wait(t)
	if !errors.Is(err, ErrSubscriptionRefused) || !strings.Contains(err.Error(), "Currency pair not supported FOO/USD") {
		t.Fatalf("Run = %v, want ErrSubscriptionRefused with Kraken's message", err)
	}
}

func TestClientSubscribeFailureReconnects(t *testing.T) {
	tests := []struct {
		name  string
		reply string // what the server answers to the subscribe; "" = only heartbeats
	}{
		{"rate limited", `{"error":"Exceeded msg rate","method":"subscribe","req_id":1,"success":false,"time_in":"2026-09-25T17:48:54.701041Z","time_out":"2026-09-25T17:48:54.701062Z"}`},
		{"no ack", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t)
			cfg := testConfig(s, "BTC/USD")
			cfg.SilenceTimeout = 200 * time.Millisecond
			r := start(t, cfg, nil)
			p := s.accept(t)
			p.send(t, frameStatus)
			p.read(t)
			if tt.reply != "" {
				p.send(t, tt.reply)
			}
			go func() { // heartbeats keep the reader busy: only the ack deadline can end it
				for range 10 {
					if p.ws.WriteMessage(websocket.TextMessage, []byte(frameHeartbeat)) != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
			ev := r.next(t, []EventKind{EventDisconnected}, EventConnected)
			t.Logf("disconnected: %v", ev.Err)
			s.accept(t).handshake(t)
			r.next(t, []EventKind{EventConnected})
		})
	}
}

func TestClientSequencing(t *testing.T) {
	tests := []struct {
		name  string
		conns [][]string // frames per connection; the server drops each but the last
		want  string
	}{
		{"in order", [][]string{{tradeFrame("snapshot", "BTC/USD", 1, 2), tradeFrame("update", "BTC/USD", 3)}}, "T1,2 T3"},
		{"gap inside a frame", [][]string{{tradeFrame("update", "BTC/USD", 1, 2, 5)}}, "T1,2 G3-4 T5"},
		{"gap between frames", [][]string{{tradeFrame("update", "BTC/USD", 1, 2), tradeFrame("update", "BTC/USD", 6)}}, "T1,2 G3-5 T6"},
		{"newest-first snapshot", [][]string{{tradeFrame("snapshot", "BTC/USD", 3, 2, 1), tradeFrame("update", "BTC/USD", 4)}}, "T1,2,3 T4"},
		{"duplicates inside a stream", [][]string{{tradeFrame("update", "BTC/USD", 1, 2), tradeFrame("snapshot", "BTC/USD", 1, 2), tradeFrame("update", "BTC/USD", 2, 3)}}, "T1,2 T3"},
		{"snapshot replay after reconnect", [][]string{
			{tradeFrame("snapshot", "BTC/USD", 1, 2, 3), tradeFrame("update", "BTC/USD", 4, 5)},
			{tradeFrame("snapshot", "BTC/USD", 3, 4, 5), tradeFrame("update", "BTC/USD", 6)},
		}, "T1,2,3 T4,5 T6"},
		{"gap across reconnect", [][]string{
			{tradeFrame("snapshot", "BTC/USD", 1, 2, 3)},
			{tradeFrame("snapshot", "BTC/USD", 7, 8, 9)},
		}, "T1,2,3 G4-6 T7,8,9"},
		{"pairs are independent", [][]string{{tradeFrame("update", "BTC/USD", 1, 2), tradeFrame("update", "ETH/USD", 100, 101),
			tradeFrame("update", "BTC/USD", 3), tradeFrame("update", "ETH/USD", 103)}}, "T1,2 T100,101 T3 G102-102 T103"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t)
			r := start(t, testConfig(s, "BTC/USD", "ETH/USD"), nil)
			for i, frames := range tt.conns {
				p := s.accept(t)
				p.handshake(t)
				p.send(t, frames...)
				if i < len(tt.conns)-1 {
					time.Sleep(50 * time.Millisecond) // let the client read before the drop
					p.drop()
				}
			}
			if got := r.sequenceOf(t, len(strings.Fields(tt.want))); got != tt.want {
				t.Errorf("events %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClientGapEvent(t *testing.T) {
	s := newScript(t)
	r := start(t, testConfig(s, "BTC/USD"), nil)
	p := s.accept(t)
	p.handshake(t)
	p.send(t, tradeFrame("update", "BTC/USD", 10, 11), tradeFrame("update", "BTC/USD", 15, 16))
	r.next(t, []EventKind{EventTrades})
	g := r.next(t, []EventKind{EventGap}, EventTrades).Gap
	want := Gap{Pair: "BTC/USD", FromID: 12, ToID: 14, FromTS: tsOf(11), ToTS: tsOf(15)}
	if g != want {
		t.Errorf("gap %+v, want %+v", g, want)
	}
	r.next(t, []EventKind{EventTrades})
	st := r.c.Stats()
	if st.Gaps != 1 || st.MissingTrades != 3 || st.Trades != 4 || st.Duplicates != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestClientDedupStats(t *testing.T) {
	s := newScript(t)
	r := start(t, testConfig(s, "BTC/USD"), nil)
	p := s.accept(t)
	p.handshake(t)
	p.send(t, tradeFrame("snapshot", "BTC/USD", 1, 2, 3), tradeFrame("update", "BTC/USD", 4, 5))
	r.sequenceOf(t, 2)
	p.drop()
	if ev := r.next(t, []EventKind{EventDisconnected}); ev.Err == nil {
		t.Error("disconnected without a reason")
	}
	p = s.accept(t)
	if req := p.handshake(t); req.Params.Symbol[0] != "BTC/USD" || req.ReqID != 2 {
		t.Errorf("resubscribe %s", req.raw)
	}
	p.send(t, tradeFrame("snapshot", "BTC/USD", 3, 4, 5), tradeFrame("update", "BTC/USD", 6))
	if got := r.sequenceOf(t, 1); got != "T6" {
		t.Errorf("after reconnect %q, want T6", got)
	}
	st := r.c.Stats()
	if st.Duplicates != 3 || st.Trades != 6 || st.Reconnects != 1 || st.Gaps != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestClientSilenceReconnects(t *testing.T) {
	s := newScript(t)
	cfg := testConfig(s, "BTC/USD")
	cfg.SilenceTimeout = 300 * time.Millisecond
	r := start(t, cfg, nil)
	p := s.accept(t)
	p.handshake(t)
	r.next(t, []EventKind{EventConnected})
	var silentSince time.Time
	for range 12 { // 600 ms of heartbeats: longer than the timeout, yet alive
		silentSince = time.Now()
		p.send(t, frameHeartbeat)
		r.next(t, []EventKind{EventHeartbeat}, EventDisconnected)
		time.Sleep(50 * time.Millisecond)
	}
	ev := r.next(t, []EventKind{EventDisconnected})
	if !errors.Is(ev.Err, ErrSilence) {
		t.Errorf("disconnect reason %v, want ErrSilence", ev.Err)
	}
	if d := time.Since(silentSince); d < cfg.SilenceTimeout {
		t.Errorf("gave up after %v of silence, want %v", d, cfg.SilenceTimeout)
	}
	s.accept(t).handshake(t)
	r.next(t, []EventKind{EventConnected})
	if st := r.c.Stats(); st.Reconnects != 1 {
		t.Errorf("reconnects %d", st.Reconnects)
	}
}

func TestClientBackoffGrowsAndResets(t *testing.T) {
	s := newScript(t)
	s.refuse.Store(5)
	cfg := testConfig(s, "BTC/USD")
	cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
	r := start(t, cfg, nil, func(c *Client) { c.jitter = func(d time.Duration) time.Duration { return d } })
	p := s.accept(t)
	p.handshake(t)
	r.next(t, []EventKind{EventConnected})
	p.drop()
	s.accept(t).handshake(t)
	r.next(t, []EventKind{EventConnected})

	var at []time.Time
	for len(s.attempts) > 0 {
		at = append(at, <-s.attempts)
	}
	want := []time.Duration{20, 40, 80, 160, 200, 20} // ms; the last after a successful connection
	if len(at) != len(want)+1 {
		t.Fatalf("%d dial attempts, want %d", len(at), len(want)+1)
	}
	for i, w := range want {
		w *= time.Millisecond
		if got := at[i+1].Sub(at[i]); got < w || got > w+150*time.Millisecond {
			t.Errorf("wait %d: %v, want about %v", i, got, w)
		}
	}
	if st := r.c.Stats(); st.Reconnects != 6 {
		t.Errorf("reconnects %d, want 6", st.Reconnects)
	}
}

func TestClientPingPong(t *testing.T) {
	s := newScript(t)
	cfg := testConfig(s, "BTC/USD")
	cfg.PingInterval = 40 * time.Millisecond
	r := start(t, cfg, nil)
	p := s.accept(t)
	p.handshake(t)
	var first time.Time
	for i := range 3 {
		req := p.read(t)
		want := fmt.Sprintf(`{"method":"ping","req_id":%d}`, i+2)
		if req.raw != want {
			t.Fatalf("ping %s, want %s", req.raw, want)
		}
		if i == 0 {
			first = time.Now()
		}
		p.send(t, fmt.Sprintf(`{"method":"pong","req_id":%d,"time_in":"2026-01-02T03:04:05.000001Z","time_out":"2026-01-02T03:04:05.000002Z"}`, req.ReqID))
	}
	if d := time.Since(first); d < 40*time.Millisecond { // periodic, not a burst (ticker jitter aside)
		t.Errorf("three pings within %v", d)
	}
	p.send(t, frameHeartbeat)
	r.next(t, []EventKind{EventHeartbeat}, EventDisconnected)
	if st := r.c.Stats(); st.Malformed != 0 || st.Frames < 6 {
		t.Errorf("stats %+v", st)
	}
}

func TestClientSkipsMalformed(t *testing.T) {
	s := newScript(t)
	r := start(t, testConfig(s, "BTC/USD"), nil)
	p := s.accept(t)
	p.handshake(t)
	p.send(t, "garbage", frameV1, `{"channel":"trade","type":"update","data":{}}`, frameMixedQuality,
		tradeFrame("update", "BTC/USD", 21))
	if got := r.sequenceOf(t, 4); got != "T10 G11-19 T20 T21" {
		t.Errorf("events %q", got)
	}
	st := r.c.Stats()
	if st.Malformed != 3 || st.RejectedTrades != 9 || st.Reconnects != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestClientKeepsConnectionOnMaintenance(t *testing.T) {
	s := newScript(t)
	r := start(t, testConfig(s, "BTC/USD"), nil)
	p := s.accept(t)
	p.handshake(t)
	r.next(t, []EventKind{EventConnected})
	p.send(t, frameMaintenance)
	if ev := r.next(t, []EventKind{EventStatus}); ev.Status != "maintenance" {
		t.Errorf("status %q", ev.Status)
	}
	p.send(t, frameStatus, tradeFrame("update", "BTC/USD", 1))
	if ev := r.next(t, []EventKind{EventStatus}); ev.Status != "online" {
		t.Errorf("status %q", ev.Status)
	}
	r.next(t, []EventKind{EventTrades}, EventDisconnected)
}

func TestClientCancelWithFullChannel(t *testing.T) {
	s := newScript(t)
	events := make(chan Event) // nobody reads it
	r := start(t, testConfig(s, "BTC/USD"), events)
	s.accept(t).send(t, frameStatus, frameHeartbeat) // the status event already blocks
	time.Sleep(50 * time.Millisecond)
	if err := r.stop(t); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

func TestClientRunOnlyOnce(t *testing.T) {
	s := newScript(t)
	r := start(t, testConfig(s, "BTC/USD"), nil)
	s.accept(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.c.Run(t.Context(), make(chan Event)); err == nil || !strings.Contains(err.Error(), "already") {
			t.Errorf("second Run = %v", err)
		}
	})
	wg.Wait()
}

// timelineOf summarises the next n trade, gap and outage events: outages as
// "S<from>→<next>" (start), "D+<from>" (disconnect opened) and "D-<next>" (closed).
func (r *running) timelineOf(t *testing.T, n int) string {
	t.Helper()
	var out []string
	for len(out) < n {
		ev := r.next(t, []EventKind{EventTrades, EventGap, EventOutage})
		if ev.Kind != EventOutage {
			out = append(out, summary(ev))
			for _, o := range ev.Closes { // outages the trades close
				out = append(out, fmt.Sprintf("D-%d", o.NextID))
			}
			continue
		}
		o := ev.Outage
		switch {
		case o.Kind == OutageStart:
			out = append(out, fmt.Sprintf("S%d→%d", o.From.ID, o.NextID))
		case o.Open:
			out = append(out, fmt.Sprintf("D+%d", o.From.ID))
		default:
			out = append(out, fmt.Sprintf("D-%d", o.NextID))
		}
	}
	return strings.Join(out, " ")
}

func TestClientOutageEvents(t *testing.T) {
	tests := []struct {
		name   string
		resume map[string]Mark
		conns  [][]string // frames per connection; the server drops each but the last
		want   string
	}{
		{"a start, then trades", nil, [][]string{{tradeFrame("snapshot", "BTC/USD", 1, 2)}}, "S0→1 T1,2"},
		{"a restart reports the stored trade", map[string]Mark{"BTC/USD": {ID: 7}},
			[][]string{{tradeFrame("snapshot", "BTC/USD", 9, 10)}}, "S7→9 T9,10"},
		{"a contiguous snapshot closes the disconnect", nil, [][]string{
			{tradeFrame("snapshot", "BTC/USD", 1, 2, 3)},
			{tradeFrame("snapshot", "BTC/USD", 2, 3, 4, 5)},
		}, "S0→1 T1,2,3 D+3 T4,5 D-4"},
		{"a snapshot with nothing new closes it too", nil, [][]string{
			{tradeFrame("snapshot", "BTC/USD", 1, 2, 3)},
			{tradeFrame("snapshot", "BTC/USD", 1, 2, 3)},
		}, "S0→1 T1,2,3 D+3 D-0"},
		{"a jump after the disconnect is a gap inside the outage", nil, [][]string{
			{tradeFrame("snapshot", "BTC/USD", 1, 2, 3)},
			{tradeFrame("snapshot", "BTC/USD", 7, 8)},
		}, "S0→1 T1,2,3 D+3 G4-6 T7,8 D-7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t)
			cfg := testConfig(s, "BTC/USD")
			cfg.Resume = tt.resume
			r := start(t, cfg, nil)
			for i, frames := range tt.conns {
				p := s.accept(t)
				p.handshake(t)
				p.send(t, frames...)
				if i < len(tt.conns)-1 {
					time.Sleep(50 * time.Millisecond) // let the client read before the drop
					p.drop()
				}
			}
			if got := r.timelineOf(t, len(strings.Fields(tt.want))); got != tt.want {
				t.Errorf("events %q, want %q", got, tt.want)
			}
		})
	}
}
