package fakekraken_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/market"
)

const wait = 10 * time.Second // upper bound for anything a test waits for

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// synth makes n trades of pair with ids 1..n, step apart in time.
func synth(pair string, n int, step time.Duration) []market.Trade {
	out := make([]market.Trade, n)
	for i := range out {
		side := market.SideBuy
		if i%3 == 0 {
			side = market.SideSell
		}
		out[i] = market.Trade{Pair: pair, TradeID: int64(i + 1), Price: 100.5 + float64(i%7), Qty: 0.25,
			Side: side, OrdType: market.OrdUnknown, TS: t0.Add(time.Duration(i) * step), Source: market.SourceReplay}
	}
	return out
}

func startServer(t *testing.T, cfg fakekraken.Config) (*fakekraken.Server, string) {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := fakekraken.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv, url
}

// wsClient is a plain gorilla client whose frames arrive on a channel.
type wsClient struct {
	ws     *websocket.Conn
	frames chan string
}

func dial(t *testing.T, url string) *wsClient {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if resp != nil {
		resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	c := &wsClient{ws: ws, frames: make(chan string, 10000)}
	go func() {
		defer close(c.frames)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			c.frames <- string(b)
		}
	}()
	t.Cleanup(func() { ws.Close() })
	return c
}

func (c *wsClient) send(t *testing.T, frame string) {
	t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

func (c *wsClient) next(t *testing.T) string {
	t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			t.Fatal("connection closed")
		}
		return f
	case <-time.After(wait):
		t.Fatal("no frame")
		return ""
	}
}

// nextNot skips heartbeats.
func (c *wsClient) nextNot(t *testing.T, skip string) string {
	t.Helper()
	for {
		if f := c.next(t); f != skip {
			return f
		}
	}
}

// expectNoTrades fails on any frame but a heartbeat within d.
func (c *wsClient) expectNoTrades(t *testing.T, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case f := <-c.frames:
			if f != heartbeat {
				t.Fatalf("unexpected frame %s", f)
			}
		case <-timeout:
			return
		}
	}
}

func (c *wsClient) expectNone(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case f := <-c.frames:
		t.Fatalf("unexpected frame %s", f)
	case <-time.After(d):
	}
}

const heartbeat = `{"channel":"heartbeat"}`

// ts matches Kraken's timestamps: RFC3339, six fractional digits, Z.
const ts = `"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"`

func match(t *testing.T, frame, pattern string) []string {
	t.Helper()
	m := regexp.MustCompile("^" + pattern + "$").FindStringSubmatch(frame)
	if m == nil {
		t.Fatalf("frame\n  %s\ndoes not match\n  %s", frame, pattern)
	}
	return m
}

type wireTrade struct {
	Symbol    string      `json:"symbol"`
	Side      string      `json:"side"`
	Price     json.Number `json:"price"`
	Qty       json.Number `json:"qty"`
	OrdType   string      `json:"ord_type"`
	TradeID   int64       `json:"trade_id"`
	Timestamp string      `json:"timestamp"`
}

type tradeMsg struct {
	Channel string      `json:"channel"`
	Type    string      `json:"type"`
	Data    []wireTrade `json:"data"`
}

func parseTrades(t *testing.T, frame string) tradeMsg {
	t.Helper()
	var m tradeMsg
	if err := json.Unmarshal([]byte(frame), &m); err != nil || m.Channel != "trade" {
		t.Fatalf("not a trade frame: %s (%v)", frame, err)
	}
	return m
}

func ids(m tradeMsg) []int64 {
	out := make([]int64, len(m.Data))
	for i, d := range m.Data {
		out[i] = d.TradeID
	}
	return out
}

// slow is a tape that publishes nothing after the snapshot for an hour.
func slow(n int) fakekraken.Config {
	return fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", n, time.Hour),
		"ETH/USD": synth("ETH/USD", n, time.Hour)}, Speed: 1, SnapshotSize: 5}
}

func TestNew(t *testing.T) {
	good := synth("BTC/USD", 3, time.Second)
	swapped := synth("BTC/USD", 3, time.Second)
	swapped[1].TradeID = 9
	backwards := synth("BTC/USD", 3, -time.Second)
	tests := []struct {
		name string
		cfg  fakekraken.Config
		want string
	}{
		{"no trades", fakekraken.Config{}, "no trades"},
		{"bad pair", fakekraken.Config{Trades: map[string][]market.Trade{"BTC": good}}, "pair"},
		{"same pair twice", fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": good, "XBTUSD": good}}, "twice"},
		{"pair mismatch", fakekraken.Config{Trades: map[string][]market.Trade{"ETH/USD": good}}, `pair "BTC/USD" under ETH/USD`},
		{"ids not increasing", fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": swapped}}, "not above"},
		{"time backwards", fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": backwards}}, "before the previous"},
		{"negative fault", fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": good}, Faults: fakekraken.Faults{Disconnects: -1}}, "fault"},
		{"negative snapshot size", fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": good}, SnapshotSizes: map[string]int{"BTC/USD": -1}}, "snapshot size -1"},
		{"snapshot size of another pair", fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": good}, SnapshotSizes: map[string]int{"ETH/USD": 2}}, "not replayed"},
		{"snapshot size twice", fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": good}, SnapshotSizes: map[string]int{"BTC/USD": 2, "XBTUSD": 3}}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := fakekraken.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStatusFirst(t *testing.T) {
	_, url := startServer(t, slow(10))
	c := dial(t, url)
	m := match(t, c.next(t), `\{"channel":"status","type":"update","data":\[\{"api_version":"v2","connection_id":(\d+),"system":"online","version":"2\.0\.10","upcoming_maintenance":\[\],"emergency":\[\]\}\]\}`)
	if id, err := strconv.ParseUint(m[1], 10, 64); err != nil || id < 1<<63 {
		t.Errorf("connection_id %s: want a uint64 above 2^63 (%v)", m[1], err)
	}
	c.expectNone(t, 100*time.Millisecond) // nothing else, not even heartbeats, before a subscription
}

func TestSubscribeAcksPerSymbol(t *testing.T) {
	tests := []struct {
		name, req string
		acks      []string
	}{
		{"snapshot false", `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"],"snapshot":false},"req_id":7}`, []string{
			`\{"method":"subscribe","req_id":7,"result":\{"channel":"trade","snapshot":false,"symbol":"BTC/USD"\},"success":true,"time_in":` + ts + `,"time_out":` + ts + `\}`,
			`\{"method":"subscribe","req_id":7,"result":\{"channel":"trade","snapshot":false,"symbol":"ETH/USD"\},"success":true,"time_in":` + ts + `,"time_out":` + ts + `\}`,
		}},
		{"no req_id, snapshot by default", `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"]}}`, []string{
			`\{"method":"subscribe","result":\{"channel":"trade","snapshot":true,"symbol":"BTC/USD"\},"success":true,"time_in":` + ts + `,"time_out":` + ts + `\}`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := startServer(t, slow(10))
			c := dial(t, url)
			c.next(t)
			c.send(t, tt.req)
			for _, want := range tt.acks {
				match(t, c.next(t), want)
			}
		})
	}
}

func TestErrorReplies(t *testing.T) {
	errShape := func(fields string) string {
		return `\{"error":` + fields + `,"success":false` + `(,"symbol":"[^"]+")?,"time_in":` + ts + `,"time_out":` + ts + `\}`
	}
	tests := []struct {
		name, setup, req, want string
	}{
		{"v1 name", "", `{"method":"subscribe","params":{"channel":"trade","symbol":["XBT/USD"],"snapshot":true}}`,
			`\{"error":"Currency pair not supported XBT/USD","method":"subscribe","success":false,"symbol":"XBT/USD","time_in":` + ts + `,"time_out":` + ts + `\}`},
		{"unknown pair with req_id", "", `{"method":"subscribe","params":{"channel":"trade","symbol":["FOO/USD"]},"req_id":4}`,
			`\{"error":"Currency pair not supported FOO/USD","method":"subscribe","req_id":4,"success":false,"symbol":"FOO/USD","time_in":` + ts + `,"time_out":` + ts + `\}`},
		{"not json", "", `{"method":`, errShape(`"Malformed request"`)},
		{"unknown method", "", `{"method":"fly","req_id":3}`, errShape(`"Unsupported method: fly","method":"fly","req_id":3`)},
		{"ping with params", "", `{"method":"ping","params":{}}`, errShape(`"Unsupported field: 'params' for the given msg type: ping","method":"ping"`)},
		{"no params", "", `{"method":"subscribe","req_id":1}`, errShape(`"Missing field: 'params'","method":"subscribe","req_id":1`)},
		{"other channel", "", `{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"]}}`, errShape(`"Channel not supported: book","method":"subscribe"`)},
		{"no symbol", "", `{"method":"subscribe","params":{"channel":"trade"}}`, errShape(`"Missing field: 'symbol'","method":"subscribe"`)},
		{"symbol not a list", "", `{"method":"subscribe","params":{"channel":"trade","symbol":"BTC/USD"}}`, errShape(`"Malformed request","method":"subscribe"`)},
		{"already subscribed", `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":false}}`,
			`{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":false}}`, errShape(`"Already subscribed","method":"subscribe"`)},
		{"unsubscribe unknown", "", `{"method":"unsubscribe","params":{"channel":"trade","symbol":["BTC/USD"]}}`, errShape(`"Subscription Not Found","method":"unsubscribe"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := startServer(t, slow(10))
			c := dial(t, url)
			c.next(t)
			if tt.setup != "" {
				c.send(t, tt.setup)
				c.next(t)
			}
			c.send(t, tt.req)
			match(t, c.nextNot(t, heartbeat), tt.want)
		})
	}
}

func TestPingPong(t *testing.T) {
	_, url := startServer(t, slow(10))
	c := dial(t, url)
	c.next(t)
	c.send(t, `{"method":"ping","req_id":101}`)
	match(t, c.next(t), `\{"method":"pong","req_id":101,"time_in":`+ts+`,"time_out":`+ts+`\}`)
	c.send(t, `{"method":"ping"}`)
	match(t, c.next(t), `\{"method":"pong","time_in":`+ts+`,"time_out":`+ts+`\}`)
}

func TestHeartbeats(t *testing.T) {
	cfg := slow(10)
	cfg.HeartbeatInterval = 50 * time.Millisecond
	_, url := startServer(t, cfg)
	c := dial(t, url)
	c.next(t)
	c.expectNone(t, 200*time.Millisecond)
	c.send(t, `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":false}}`)
	c.next(t)
	last := time.Now()
	for range 5 {
		if f := c.next(t); f != heartbeat {
			t.Fatalf("frame %s, want a heartbeat", f)
		}
		if d := time.Since(last); d < 35*time.Millisecond || d > 200*time.Millisecond {
			t.Errorf("heartbeat after %v, want about 50ms", d)
		}
		last = time.Now()
	}
	c.send(t, `{"method":"unsubscribe","params":{"channel":"trade","symbol":["BTC/USD"]},"req_id":9}`)
	match(t, c.nextNot(t, heartbeat), `\{"method":"unsubscribe","req_id":9,"result":\{"channel":"trade","symbol":"BTC/USD"\},"success":true,"time_in":`+ts+`,"time_out":`+ts+`\}`)
	c.expectNone(t, 200*time.Millisecond) // no heartbeats once unsubscribed
}

func TestSnapshot(t *testing.T) {
	cfg := slow(20)
	trades := cfg.Trades["BTC/USD"]
	trades[3].Qty, trades[4].Price = 0.00000001, 84095.7
	_, url := startServer(t, cfg)
	c := dial(t, url)
	c.next(t)
	c.send(t, `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":true},"req_id":1}`)
	c.next(t)
	frame := c.next(t)
	m := parseTrades(t, frame)
	if m.Type != "snapshot" || fmt.Sprint(ids(m)) != "[1 2 3 4 5]" {
		t.Fatalf("snapshot %s, want trades 1..5", frame)
	}
	match(t, frame, `\{"channel":"trade","type":"snapshot","data":\[\{"symbol":"BTC/USD","side":"sell","price":100\.5,"qty":0\.25,"ord_type":"market","trade_id":1,"timestamp":"2026-01-02T03:04:05\.000000Z"\},.*`+
		`\{"symbol":"BTC/USD","side":"sell","price":103\.5,"qty":0\.00000001,"ord_type":"market","trade_id":4,"timestamp":"2026-01-02T06:04:05\.000000Z"\},`+
		`\{"symbol":"BTC/USD","side":"buy","price":84095\.7,.*\]\}`)
	c.expectNoTrades(t, 100*time.Millisecond)
}

func TestTickRuleSides(t *testing.T) {
	trades := synth("BTC/USD", 5, time.Hour)
	for i, p := range []float64{10, 11, 11, 9, 9} {
		trades[i].Price, trades[i].Side = p, market.SideUnknown
	}
	_, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}, Speed: 1})
	c := dial(t, url)
	c.next(t)
	c.send(t, `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":true}}`)
	c.next(t)
	var sides []string
	for _, d := range parseTrades(t, c.next(t)).Data {
		sides = append(sides, d.Side)
	}
	if got := strings.Join(sides, " "); got != "buy buy buy sell sell" {
		t.Errorf("sides %s, want the tick rule's buy buy buy sell sell", got)
	}
}

func TestBatchingAtMaxSpeed(t *testing.T) {
	_, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 40, time.Second)},
		SnapshotSize: 5, BatchMax: 7})
	c := dial(t, url)
	c.next(t)
	c.send(t, `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":true}}`)
	c.next(t)
	var got []int64
	for len(got) < 40 {
		m := parseTrades(t, c.nextNot(t, heartbeat))
		if len(m.Data) > 7 || (len(got) == 0) != (m.Type == "snapshot") {
			t.Fatalf("%s of %d trades after %d", m.Type, len(m.Data), len(got))
		}
		got = append(got, ids(m)...)
	}
	for i, id := range got {
		if id != int64(i+1) {
			t.Fatalf("trade %d has id %d: %v", i, id, got)
		}
	}
}

func TestRealTimeSpeed(t *testing.T) {
	// Eleven trades 100 ms apart at speed 2: trade 11 is due 500 ms after the start.
	_, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 11, 100*time.Millisecond)},
		Speed: 2, SnapshotSize: 1})
	c := dial(t, url)
	c.next(t)
	start := time.Now()
	c.send(t, `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":true}}`)
	c.next(t)
	var at [12]time.Duration
	for n := 0; n < 11; {
		for _, id := range ids(parseTrades(t, c.nextNot(t, heartbeat))) {
			at[id] = time.Since(start)
			n++
		}
	}
	for id, want := range map[int]time.Duration{6: 250 * time.Millisecond, 11: 500 * time.Millisecond} {
		if at[id] < want-20*time.Millisecond || at[id] > want+300*time.Millisecond {
			t.Errorf("trade %d at %v, want about %v", id, at[id], want)
		}
	}
}

func TestReplayRealFileExactlyOnce(t *testing.T) {
	trades := loadReal(t)
	srv, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}})
	c := dial(t, url)
	c.next(t)
	c.send(t, `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":true},"req_id":1}`)
	c.next(t)
	var got []wireTrade
	for len(got) < len(trades) {
		got = append(got, parseTrades(t, c.nextNot(t, heartbeat)).Data...)
	}
	for i, w := range got {
		tr := trades[i]
		if w.TradeID != tr.TradeID || w.Price.String() != strconv.FormatFloat(tr.Price, 'f', -1, 64) ||
			w.Side != tr.Side.String() || w.Timestamp != tr.TS.Format("2006-01-02T15:04:05.000000Z") {
			t.Fatalf("trade %d: got %+v, want %+v", i, w, tr)
		}
	}
	select {
	case <-srv.Done():
	case <-time.After(wait):
		t.Fatal("Done not closed")
	}
	c.expectNoTrades(t, 100*time.Millisecond)
	want := fakekraken.Stats{Connections: 1, Published: 2672, Sent: 2622, SnapshotSent: 50}
	if st := srv.Stats(); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func TestAfterTheLastTrade(t *testing.T) {
	cfg := fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 30, time.Second)},
		SnapshotSize: 5, HeartbeatInterval: 30 * time.Millisecond}
	srv, url := startServer(t, cfg)
	sub := `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":true}}`
	c := dial(t, url)
	c.next(t)
	c.send(t, sub)
	c.next(t)
	for n := 0; n < 30; {
		n += len(parseTrades(t, c.nextNot(t, heartbeat)).Data)
	}
	<-srv.Done()
	if f := c.next(t); f != heartbeat {
		t.Errorf("after the end: %s, want heartbeats", f)
	}
	late := dial(t, url)
	late.next(t)
	late.send(t, sub)
	late.next(t)
	if m := parseTrades(t, late.next(t)); m.Type != "snapshot" || fmt.Sprint(ids(m)) != "[26 27 28 29 30]" {
		t.Errorf("late snapshot %v", ids(m))
	}
}

func TestHandlerServesOnlyV2(t *testing.T) {
	srv, err := fakekraken.New(slow(3))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.Handler() == nil {
		t.Fatal("nil handler")
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil || !strings.HasSuffix(url, "/v2") || !strings.HasPrefix(url, "ws://127.0.0.1:") {
		t.Fatalf("Start = %q, %v", url, err)
	}
	_, resp, err := websocket.DefaultDialer.Dial(strings.TrimSuffix(url, "/v2")+"/v1", nil)
	if resp != nil {
		resp.Body.Close()
	}
	if err == nil {
		t.Error("/v1 upgraded")
	}
	if _, err := srv.Start("127.0.0.1:0"); err == nil {
		t.Error("second Start accepted")
	}
}

// shareClock makes n trades of pair, each run of tie trades at the same
// time, spaced every seconds: hand-written, not real data, so that two
// pairs of different trade rates end at the same time and tie across pairs.
func shareClock(pair string, n, tie int, every time.Duration) []market.Trade {
	out := synth(pair, n, 0)
	for i := range out {
		out[i].TS = t0.Add(time.Duration(i/tie) * every)
	}
	return out
}

// maxSpan is the longest time k consecutive trades cover.
func maxSpan(trades []market.Trade, k int) time.Duration {
	var d time.Duration
	for i := k - 1; i < len(trades); i++ {
		d = max(d, trades[i].TS.Sub(trades[i-k+1].TS))
	}
	return d
}

// At max speed pairs of different trade rates advance on one event-time
// clock: BTC (two trades every 2 s) and ETH (three every 12 s) both span 20
// minutes, each snapshot (SnapshotSizes) ending at 48 s. Their received
// times interleave, every trade arrives once and in order.
func TestMaxSpeedPairsShareOneClock(t *testing.T) {
	const batch = 10
	btc, eth := shareClock("BTC/USD", 1201, 2, 2*time.Second), shareClock("ETH/USD", 301, 3, 12*time.Second)
	// A pair publishes no trade after the other's next unpublished one, and
	// of the other's published trades at most a batch is still unread: a
	// pair leads the other by at most the span of batch+2 of its trades.
	lead := map[string]time.Duration{"BTC/USD": maxSpan(eth, batch+2), "ETH/USD": maxSpan(btc, batch+2)}
	srv, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"XBTUSD": btc},
		Sources:      map[string]fakekraken.TradeSource{"ETH/USD": fakekraken.NewSliceSource(eth)},
		SnapshotSize: 5, SnapshotSizes: map[string]int{"XBTUSD": 50, "ETH/USD": 15}, BatchMax: batch})
	c := dial(t, url)
	c.next(t)
	c.send(t, `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"],"snapshot":true}}`)
	got, newest := map[string][]int64{}, map[string]time.Time{}
	for len(got["BTC/USD"]) < len(btc) || len(got["ETH/USD"]) < len(eth) {
		f := c.next(t)
		if !strings.HasPrefix(f, `{"channel":"trade"`) {
			continue
		}
		m := parseTrades(t, f)
		pair := m.Data[0].Symbol
		if m.Type == "snapshot" && len(m.Data) != map[string]int{"BTC/USD": 50, "ETH/USD": 15}[pair] {
			t.Errorf("%s snapshot of %d trades", pair, len(m.Data))
		}
		got[pair] = append(got[pair], ids(m)...)
		ts, err := time.Parse(time.RFC3339Nano, m.Data[len(m.Data)-1].Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		newest[pair] = ts
		other := map[string]string{"BTC/USD": "ETH/USD", "ETH/USD": "BTC/USD"}[pair]
		if o, ok := newest[other]; ok && ts.Sub(o) > lead[pair] {
			t.Fatalf("%s at %s, %s at %s: %s runs ahead by more than %s", pair, ts, other, o, pair, lead[pair])
		}
	}
	for pair, n := range map[string]int{"BTC/USD": len(btc), "ETH/USD": len(eth)} {
		for i, id := range got[pair] {
			if id != int64(i+1) {
				t.Fatalf("%s trade %d has id %d, want each trade once in order", pair, i, id)
			}
		}
		if len(got[pair]) != n {
			t.Errorf("%s: %d trades, want %d", pair, len(got[pair]), n)
		}
	}
	select {
	case <-srv.Done():
	case <-time.After(wait):
		t.Fatal("Done not closed")
	}
}

// A pair nobody listens to holds no one back at max speed.
func TestMaxSpeedUnheardPairHoldsNoOneBack(t *testing.T) {
	_, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 100, time.Second),
		"ETH/USD": synth("ETH/USD", 100, time.Hour)}, SnapshotSize: 5, BatchMax: 10})
	c := dial(t, url)
	c.next(t)
	c.send(t, `{"method":"subscribe","params":{"channel":"trade","symbol":["ETH/USD"],"snapshot":true}}`)
	for n := 0; n < 100; {
		if f := c.nextNot(t, heartbeat); strings.HasPrefix(f, `{"channel":"trade"`) {
			n += len(parseTrades(t, f).Data)
		}
	}
}
