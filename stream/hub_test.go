package stream

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickcast/tickcast/predict"
)

// t0 anchors the hand-written predictions below (plausible 1-minute
// forecasts; the hub only relays them, so their values do not matter).
var t0 = time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)

// pred is prediction seq of pair: AsOf encodes seq so receivers can check order.
func pred(pair string, seq int) predict.Prediction {
	asOf := t0.Add(time.Duration(seq) * time.Minute)
	return predict.Prediction{Pair: pair, AsOf: asOf, Horizon: 1, TargetTime: asOf.Add(time.Minute),
		PredictedReturn: 0.00042, PredictedPrice: 2204.1, LastPrice: 2203.17,
		Model: predict.ModelRef{Name: "xgb", Version: 3}, FeatureAgeMS: 850}
}

func seqOf(p *predict.Prediction) int { return int(p.AsOf.Sub(t0) / time.Minute) }

type testServer struct {
	hub *Hub
	url string // ws://…
}

func newServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return newServerOn(t, cfg, nil)
}

// newServerOn serves a hub on a loopback listener, wrapped by wrap if set.
func newServerOn(t testing.TB, cfg Config, wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	h := NewHub(cfg)
	srv := httptest.NewUnstartedServer(h)
	if wrap != nil {
		srv.Listener = wrap(srv.Listener)
	}
	srv.Start()
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return &testServer{hub: h, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

func (s *testServer) dial(t testing.TB, query string) *websocket.Conn {
	t.Helper()
	return dialWith(t, websocket.DefaultDialer, s.url+query)
}

func dialWith(t testing.TB, d *websocket.Dialer, url string) *websocket.Conn {
	t.Helper()
	ws, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	return ws
}

func readFrame(t testing.TB, ws *websocket.Conn) Frame {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decode frame %s: %v", b, err)
	}
	return f
}

func send(t testing.TB, ws *websocket.Conn, msg string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("send %s: %v", msg, err)
	}
}

func wantSubscribed(t testing.TB, f Frame, all bool, pairs ...string) {
	t.Helper()
	if f.Type != TypeSubscribed || f.All != all || strings.Join(f.Pairs, ",") != strings.Join(pairs, ",") {
		t.Fatalf("got %+v, want subscribed all=%v pairs=%v", f, all, pairs)
	}
}

func wantPrediction(t testing.TB, f Frame, pair string, seq int) {
	t.Helper()
	if f.Type != TypePrediction || f.Prediction == nil || f.Prediction.Pair != pair || seqOf(f.Prediction) != seq {
		t.Fatalf("got %+v, want prediction %s #%d", f, pair, seq)
	}
	if f.PublishedAt.IsZero() || time.Since(f.PublishedAt) > 10*time.Second {
		t.Fatalf("published_at %v: want the recent publish time", f.PublishedAt)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func TestSubscribeViaQuery(t *testing.T) {
	s := newServer(t, Config{})
	eth := s.dial(t, "?pairs=eth-usdt")
	all := s.dial(t, "")
	btc := s.dial(t, "?pairs=XBT/USD,BTC-USD") // two spellings of one pair
	wantSubscribed(t, readFrame(t, eth), false, "ETH-USDT")
	wantSubscribed(t, readFrame(t, all), true)
	wantSubscribed(t, readFrame(t, btc), false, "BTC-USD")

	want := pred("ETH-USDT", 1)
	s.hub.Publish(want)
	s.hub.Publish(pred("BTC-USD", 2))
	s.hub.Publish(pred("ETH-USDT", 3)) // the next frame ETH sees proves it skipped BTC

	f := readFrame(t, eth)
	wantPrediction(t, f, "ETH-USDT", 1)
	if got := *f.Prediction; !got.AsOf.Equal(want.AsOf) || got.PredictedPrice != want.PredictedPrice || got.Model != want.Model {
		t.Fatalf("prediction did not round-trip: got %+v, want %+v", got, want)
	}
	wantPrediction(t, readFrame(t, eth), "ETH-USDT", 3)
	wantPrediction(t, readFrame(t, all), "ETH-USDT", 1)
	wantPrediction(t, readFrame(t, all), "BTC-USD", 2)
	wantPrediction(t, readFrame(t, all), "ETH-USDT", 3)
	wantPrediction(t, readFrame(t, btc), "BTC-USD", 2)
	if got := s.hub.Clients(); got != 3 {
		t.Fatalf("Clients() = %d, want 3", got)
	}
}

func TestSubscribeViaMessages(t *testing.T) {
	s := newServer(t, Config{})
	ws := s.dial(t, "?pairs=ETH-USDT")
	wantSubscribed(t, readFrame(t, ws), false, "ETH-USDT")

	send(t, ws, `{"action":"subscribe","pairs":["XBT/USD"]}`)
	wantSubscribed(t, readFrame(t, ws), false, "BTC-USD", "ETH-USDT")
	s.hub.Publish(pred("BTC-USD", 1))
	wantPrediction(t, readFrame(t, ws), "BTC-USD", 1)

	send(t, ws, `{"action":"unsubscribe","pairs":["eth-usdt"]}`)
	wantSubscribed(t, readFrame(t, ws), false, "BTC-USD")
	s.hub.Publish(pred("ETH-USDT", 2))
	s.hub.Publish(pred("BTC-USD", 3))
	wantPrediction(t, readFrame(t, ws), "BTC-USD", 3)

	send(t, ws, `{"action":"unsubscribe","pairs":[]}`)
	wantSubscribed(t, readFrame(t, ws), false) // nothing
	s.hub.Publish(pred("BTC-USD", 4))

	send(t, ws, `{"action":"subscribe"}`)
	wantSubscribed(t, readFrame(t, ws), true) // everything
	s.hub.Publish(pred("SOL-USD", 5))
	wantPrediction(t, readFrame(t, ws), "SOL-USD", 5)

	send(t, ws, `{"action":"subscribe","pairs":["ETH-USDT"]}`)
	wantSubscribed(t, readFrame(t, ws), false, "ETH-USDT") // from everything to one
	s.hub.Publish(pred("SOL-USD", 6))
	s.hub.Publish(pred("ETH-USDT", 7))
	wantPrediction(t, readFrame(t, ws), "ETH-USDT", 7)
}

func TestBadClientMessages(t *testing.T) {
	s := newServer(t, Config{})
	ws := s.dial(t, "")
	wantSubscribed(t, readFrame(t, ws), true)

	tooMany := `{"action":"subscribe","pairs":["` + strings.Repeat(`AAA-USD","`, maxPairs) + `BBB-USD"]}`
	for _, tc := range []struct {
		name, msg, want string
		binary          bool
	}{
		{name: "not json", msg: `subscribe ETH`, want: "want {"},
		{name: "wrong shape", msg: `{"action":"subscribe","pairs":"ETH-USDT"}`, want: "cannot unmarshal"},
		{name: "unknown action", msg: `{"action":"buy","pairs":["ETH-USDT"]}`, want: `unknown action "buy"`},
		{name: "no action", msg: `{"pairs":["ETH-USDT"]}`, want: `unknown action ""`},
		{name: "bad pair", msg: `{"action":"subscribe","pairs":["ETH-USDT","nonsense!"]}`, want: "nonsense!"},
		{name: "too many pairs", msg: tooMany, want: "at most 256 pairs"},
		{name: "unsubscribe some of all", msg: `{"action":"unsubscribe","pairs":["ETH-USDT"]}`, want: "subscribed to all pairs"},
		{name: "binary", msg: `{"action":"subscribe"}`, binary: true, want: "not binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ := websocket.TextMessage
			if tc.binary {
				typ = websocket.BinaryMessage
			}
			if err := ws.WriteMessage(typ, []byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			f := readFrame(t, ws)
			if f.Type != TypeError || f.Error != "bad_request" || !strings.Contains(f.Message, tc.want) {
				t.Fatalf("got %+v, want bad_request error containing %q", f, tc.want)
			}
		})
	}
	// The connection survived every mistake and the subscription is unchanged.
	s.hub.Publish(pred("ETH-USDT", 1))
	wantPrediction(t, readFrame(t, ws), "ETH-USDT", 1)
	send(t, ws, `{"action":"subscribe","pairs":["ETH-USDT"]}`)
	wantSubscribed(t, readFrame(t, ws), false, "ETH-USDT")
}

func TestOversizeMessageCloses(t *testing.T) {
	s := newServer(t, Config{})
	ws := s.dial(t, "")
	wantSubscribed(t, readFrame(t, ws), true)
	send(t, ws, `{"action":"subscribe","pairs":["`+strings.Repeat("x", readLimit)+`"]}`)
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("read after oversize message: %v, want close 1009", err)
	}
	waitFor(t, "the session to end", func() bool { return s.hub.Clients() == 0 })
}

func TestHTTPRefusals(t *testing.T) {
	s := newServer(t, Config{MaxClients: 1})
	httpURL := "http" + strings.TrimPrefix(s.url, "ws")
	resp, err := http.Get(httpURL)
	if err != nil {
		t.Fatal(err)
	}
	wantJSONError(t, resp, http.StatusBadRequest, "bad_request")

	_, resp, err = websocket.DefaultDialer.Dial(s.url+"?pairs=ETH-USDT,nonsense!", nil)
	if err == nil {
		t.Fatal("dial with a bad pair succeeded")
	}
	wantJSONError(t, resp, http.StatusBadRequest, "bad_request")

	ws := s.dial(t, "")
	wantSubscribed(t, readFrame(t, ws), true)
	_, resp, err = websocket.DefaultDialer.Dial(s.url, nil)
	if err == nil {
		t.Fatal("dial beyond MaxClients succeeded")
	}
	wantJSONError(t, resp, http.StatusServiceUnavailable, "too_many_clients")
}

func wantJSONError(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	defer resp.Body.Close()
	var body struct{ Error, Message string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("status %d: body is not JSON: %v", resp.StatusCode, err)
	}
	if resp.StatusCode != status || body.Error != code || body.Message == "" {
		t.Fatalf("got %d %+v, want %d %q with a message", resp.StatusCode, body, status, code)
	}
}

// TestSlowClientDropped: a client that never reads (and has a tiny socket
// receive buffer) fills its queue and is dropped, while Publish stays fast
// and the fast clients receive every frame in order.
func TestSlowClientDropped(t *testing.T) {
	// WriteTimeout is long so that the writer stuck on the slow socket is
	// still alive when the slow client finally reads, and sends it 1008.
	// Fixed server send buffers keep the kernel from absorbing megabytes
	// (autotuning) before the hub's queue fills.
	s := newServerOn(t, Config{SendBuffer: 64, WriteTimeout: 20 * time.Second, PingInterval: time.Minute,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))},
		func(ln net.Listener) net.Listener { return smallSendBuffers{ln} })
	// The slow client's socket buffer is set before connecting (so the TCP
	// window agrees with it): the hub's queue, not the kernel, must fill.
	slowDialer := &websocket.Dialer{NetDialContext: (&net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}}).DialContext}
	slow := dialWith(t, slowDialer, s.url)

	const fast = 4
	counts := make([]atomic.Int64, fast)
	errs := make(chan error, fast)
	for i := range fast {
		ws := s.dial(t, "?pairs=ETH-USDT")
		wantSubscribed(t, readFrame(t, ws), false, "ETH-USDT")
		go func() { errs <- readInOrder(ws, &counts[i]) }()
	}
	received := func(n int64) bool {
		for i := range counts {
			if counts[i].Load() < n {
				return false
			}
		}
		return true
	}

	var published int64
	var slowest time.Duration
	extra := -1 // frames still to publish after the drop
	for extra != 0 {
		if published > 200_000 {
			t.Fatalf("published %d frames and the slow client was not dropped", published)
		}
		for range 32 {
			start := time.Now()
			s.hub.Publish(pred("ETH-USDT", int(published)))
			slowest = max(slowest, time.Since(start))
			published++
		}
		// Pace to the fast clients: they must not be the ones dropped.
		waitFor(t, "fast clients to catch up", func() bool {
			select {
			case err := <-errs:
				t.Fatalf("fast client: %v (published %d, dropped %d)", err, published, s.hub.Dropped())
			default:
			}
			return received(published)
		})
		switch {
		case extra > 0:
			extra--
		case extra < 0 && s.hub.Dropped() > 0:
			extra = 10
		}
	}
	if got := s.hub.Dropped(); got != 1 {
		t.Fatalf("Dropped() = %d, want 1 (only the slow client)", got)
	}
	if slowest > 250*time.Millisecond {
		t.Fatalf("slowest Publish took %v: it must not wait for clients", slowest)
	}
	t.Logf("published %d frames; slowest Publish %v", published, slowest)

	// Reading now unblocks the writer, which sends the close frame last.
	_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := 0
	var err error
	for err == nil {
		_, _, err = slow.ReadMessage()
		got++
	}
	if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) || !strings.Contains(err.Error(), "too slow") {
		t.Fatalf("slow client ended with %v, want close 1008 too slow", err)
	}
	if int64(got) >= published {
		t.Fatalf("slow client read %d of %d frames: it was not dropped", got, published)
	}
	waitFor(t, "the slow session to end", func() bool { return s.hub.Clients() == fast })
	select {
	case err := <-errs:
		t.Fatalf("fast client: %v", err)
	default:
	}
}

type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		err = conn.(*net.TCPConn).SetWriteBuffer(16 << 10)
	}
	return conn, err
}

// readInOrder counts the prediction frames of ws, failing on a gap.
func readInOrder(ws *websocket.Conn, n *atomic.Int64) error {
	_ = ws.SetReadDeadline(time.Time{})
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			return nil // the test is over
		}
		var f Frame
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		if f.Prediction == nil {
			return errors.New("not a prediction frame: " + string(b))
		}
		if got, want := seqOf(f.Prediction), int(n.Load()); got != want {
			return errors.New("frame out of order or lost")
		}
		n.Add(1)
	}
}

func TestCloseSendsGoingAway(t *testing.T) {
	s := newServer(t, Config{})
	var conns []*websocket.Conn
	for range 3 {
		ws := s.dial(t, "")
		wantSubscribed(t, readFrame(t, ws), true)
		conns = append(conns, ws)
	}
	done := make(chan struct{})
	go func() {
		s.hub.Close()
		close(done)
	}()
	for _, ws := range conns {
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := ws.ReadMessage() // the default close handler answers, ending the session
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("read after Close: %v, want close 1001", err)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if got := s.hub.Clients(); got != 0 {
		t.Fatalf("Clients() after Close = %d", got)
	}
	s.hub.Publish(pred("ETH-USDT", 1)) // a no-op, not a panic
	_, resp, err := websocket.DefaultDialer.Dial(s.url, nil)
	if err == nil {
		t.Fatal("dial after Close succeeded")
	}
	wantJSONError(t, resp, http.StatusServiceUnavailable, "unavailable")
}

// TestPingKeepalive: the hub pings; a client that answers stays, one that
// never reads (so never pongs) is closed after two intervals, uncounted
// as slow.
func TestPingKeepalive(t *testing.T) {
	s := newServer(t, Config{PingInterval: 100 * time.Millisecond})
	alive := s.dial(t, "")
	silent := s.dial(t, "")
	_ = silent
	var pings atomic.Int64
	alive.SetPingHandler(func(data string) error {
		pings.Add(1)
		return alive.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := alive.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	waitFor(t, "the silent client to be closed", func() bool { return s.hub.Clients() == 1 })
	time.Sleep(500 * time.Millisecond) // several more ping rounds for the live one
	if n := pings.Load(); n < 5 {
		t.Fatalf("live client saw %d pings, want several", n)
	}
	select {
	case err := <-readErr:
		t.Fatalf("live client was closed: %v", err)
	default:
	}
	if s.hub.Clients() != 1 || s.hub.Dropped() != 0 {
		t.Fatalf("Clients() = %d, Dropped() = %d; want 1, 0", s.hub.Clients(), s.hub.Dropped())
	}
}

// TestConcurrentChurn publishes from several goroutines while clients
// connect, change subscriptions and leave; for -race.
func TestConcurrentChurn(t *testing.T) {
	s := newServer(t, Config{SendBuffer: 1024})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range 3 {
		wg.Go(func() {
			pair := []string{"ETH-USDT", "BTC-USD", "SOL-USD"}[p]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s.hub.Publish(pred(pair, i))
				time.Sleep(time.Millisecond)
			}
		})
	}
	var clients sync.WaitGroup
	for i := range 8 {
		clients.Go(func() {
			ws, resp, err := websocket.DefaultDialer.Dial(s.url+"?pairs=ETH-USDT", nil)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			resp.Body.Close()
			defer ws.Close()
			readDone := make(chan struct{})
			go func() {
				defer close(readDone)
				for {
					if _, _, err := ws.ReadMessage(); err != nil {
						return
					}
				}
			}()
			msgs := []string{`{"action":"subscribe","pairs":["BTC-USD"]}`, `{"action":"unsubscribe","pairs":[]}`, `{"action":"subscribe"}`}
			for j := range 20 {
				if err := ws.WriteMessage(websocket.TextMessage, []byte(msgs[(i+j)%len(msgs)])); err != nil {
					t.Errorf("send: %v", err)
					return
				}
				time.Sleep(time.Millisecond)
			}
			_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			<-readDone
		})
	}
	clients.Wait()
	close(stop)
	wg.Wait()
	waitFor(t, "every session to end", func() bool { return s.hub.Clients() == 0 })
	if s.hub.Dropped() != 0 {
		t.Fatalf("Dropped() = %d, want 0", s.hub.Dropped())
	}
}
