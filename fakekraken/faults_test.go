package fakekraken_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

const subscribeBTC = `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":true},"req_id":1}`

// subscribed dials, subscribes to BTC/USD and returns the client after the
// status and the ack; the snapshot is next.
func subscribed(t *testing.T, url string) *wsClient {
	t.Helper()
	c := dial(t, url)
	match(t, c.next(t), `\{"channel":"status".*`)
	c.send(t, subscribeBTC)
	match(t, c.next(t), `\{"method":"subscribe".*"success":true.*`)
	return c
}

// nextTrades returns the next trade frame, skipping heartbeats.
func (c *wsClient) nextTrades(t *testing.T) tradeMsg {
	t.Helper()
	return parseTrades(t, c.nextNot(t, heartbeat))
}

// untilClosed reads trade frames until the connection ends and returns
// the last trade id seen.
func (c *wsClient) untilClosed(t *testing.T) int64 {
	t.Helper()
	var last int64
	timeout := time.After(wait)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return last
			}
			if f != heartbeat {
				if m := parseTrades(t, f); len(m.Data) > 0 {
					last = m.Data[len(m.Data)-1].TradeID
				}
			}
		case <-timeout:
			t.Fatal("connection never dropped")
		}
	}
}

// Every subscribe gets the snapshot of the last 50 trades published then,
// the first and every one after a reconnect.
func TestSnapshotOnEveryResubscribe(t *testing.T) {
	srv, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 5000, time.Second)}, Speed: 40})
	seen := int64(0)
	for round := range 3 {
		c := subscribed(t, url)
		snap := c.nextTrades(t)
		end := snap.Data[len(snap.Data)-1].TradeID
		if snap.Type != "snapshot" || !slices.Equal(ids(snap), seq(end-49, end)) || end < seen || end > srv.Stats().Published {
			t.Fatalf("round %d: snapshot %s %v after %d seen, %d published", round, snap.Type, ids(snap), seen, srv.Stats().Published)
		}
		for seen = end; seen < end+20; {
			m := c.nextTrades(t)
			if m.Type != "update" || m.Data[0].TradeID != seen+1 {
				t.Fatalf("round %d: %s from %d after %d", round, m.Type, m.Data[0].TradeID, seen)
			}
			seen = m.Data[len(m.Data)-1].TradeID
		}
		c.ws.Close()
		time.Sleep(100 * time.Millisecond) // 4 trades happen while no one listens
	}
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestTradesBeforeAck(t *testing.T) {
	_, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 300, time.Second)},
		Faults: fakekraken.Faults{TradesBeforeAck: true}})
	c := dial(t, url)
	match(t, c.next(t), `\{"channel":"status".*`)
	c.send(t, subscribeBTC)
	if m := c.nextTrades(t); m.Type != "snapshot" || !slices.Equal(ids(m), seq(1, 50)) {
		t.Fatalf("first %s %v, want the snapshot 1..50", m.Type, ids(m))
	}
	if m := c.nextTrades(t); m.Type != "update" || m.Data[0].TradeID != 51 {
		t.Fatalf("second %s %v, want updates from 51", m.Type, ids(m))
	}
	match(t, c.next(t), `\{"method":"subscribe","req_id":1,"result":\{"channel":"trade","snapshot":true,"symbol":"BTC/USD"\},"success":true.*`)
}

// restTime reads /0/public/Time.
func restTime(t *testing.T, base string) time.Time {
	t.Helper()
	var r struct {
		Error  []string
		Result struct {
			Unixtime int64
			RFC1123  string
		}
	}
	_, b := get(t, base+"/0/public/Time")
	if err := json.Unmarshal(b, &r); err != nil || len(r.Error) != 0 {
		t.Fatalf("Time: %s (%v)", b, err)
	}
	rt, err := time.Parse("Mon, 02 Jan 06 15:04:05 -0700", r.Result.RFC1123)
	if err != nil || rt.Unix() != r.Result.Unixtime {
		t.Fatalf("rfc1123 %q != unixtime %d (%v)", r.Result.RFC1123, r.Result.Unixtime, err)
	}
	return time.Unix(r.Result.Unixtime, 0).UTC()
}

// The exchange clock: before the replay, the last trade REST serves (in
// memory) or the origin it will start from (streamed); then origin +
// elapsed × Speed. REST Time tells the same.
func TestExchangeClock(t *testing.T) {
	trades := synth("BTC/USD", 200, time.Minute) // 200 minutes of market time
	streamed, _ := startServer(t, fakekraken.Config{Sources: map[string]fakekraken.TradeSource{"BTC/USD": fakekraken.NewSliceSource(trades)}, Speed: 600})
	if got := streamed.Now(); !got.Equal(trades[49].TS) {
		t.Errorf("streamed, before the replay: Now %s, want the origin %s", got, trades[49].TS)
	}
	srv, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}, Speed: 600})
	base := fakekraken.RESTURL(url)
	if got := restTime(t, base); !got.Equal(trades[199].TS.Truncate(time.Second)) || !srv.Now().Equal(trades[199].TS) {
		t.Fatalf("in memory, before the replay: Time %s, Now %s; want the last trade %s", got, srv.Now(), trades[199].TS)
	}
	c := subscribed(t, url)
	c.nextTrades(t) // the snapshot: trades[49] is the origin
	time.Sleep(500 * time.Millisecond)
	now := srv.Now()
	lo, hi := trades[49].TS.Add(5*time.Minute), trades[49].TS.Add(10*time.Minute) // 0.5 s × 600, plus slack
	if now.Before(lo) || now.After(hi) {
		t.Fatalf("Now %s, want within [%s, %s]", now, lo, hi)
	}
	if got := restTime(t, base); got.Sub(now).Abs() > 2*time.Minute {
		t.Errorf("REST Time %s, Now %s", got, now)
	}
}

// An outage drops the connection and refuses WebSocket and REST for
// OutageFor while the clock publishes on. Fewer than 50 trades during it:
// the next snapshot is contiguous with what the client had; more: a gap.
func TestOutage(t *testing.T) {
	tests := []struct {
		name    string
		outage  time.Duration
		wantGap bool
	}{
		{"short", 200 * time.Millisecond, false}, // ~20 trades
		{"long", 1500 * time.Millisecond, true},  // ~150 trades
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// 100 trades a second of wall time.
			srv, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 3000, time.Second)},
				Speed: 100, Faults: fakekraken.Faults{OutageEvery: 150, OutageFor: tt.outage, Outages: 1}})
			c := subscribed(t, url)
			last := c.untilClosed(t)
			_, resp, err := websocket.DefaultDialer.Dial(url, nil)
			if resp != nil {
				resp.Body.Close()
			}
			if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("dial during the outage: %v, want HTTP 503", err)
			}
			if code, _ := get(t, fakekraken.RESTURL(url)+"/0/public/Time"); code != http.StatusServiceUnavailable {
				t.Fatalf("REST during the outage: HTTP %d, want 503", code)
			}
			c = redial(t, url)
			snap := c.nextTrades(t)
			first := snap.Data[0].TradeID
			if gap := first > last+1; gap != tt.wantGap || snap.Type != "snapshot" || len(snap.Data) != 50 {
				t.Fatalf("had up to %d, snapshot %s of %d from %d: gap %v, want %v", last, snap.Type, len(snap.Data), first, gap, tt.wantGap)
			}
			if st, rst := srv.Stats(), srv.RESTStats(); st.Outages != 1 || rst.Outage != 1 {
				t.Errorf("stats %+v, REST %+v", st, rst)
			}
		})
	}
}

// redial retries until the outage is over, then subscribes.
func redial(t *testing.T, url string) *wsClient {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
		if resp != nil {
			resp.Body.Close()
		}
		if err == nil {
			ws.Close()
			return subscribed(t, url)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the outage never ended")
	return nil
}

// Drops every 15 to 400 trades combine with outages of 1 s: the client
// accounts for every trade, delivered once or reported in a gap.
func TestDropsWithOutages(t *testing.T) {
	trades := loadReal(t)
	last := trades[len(trades)-1].TradeID
	for _, every := range []int{15, 400} {
		t.Run(fmt.Sprintf("drop every %d", every), func(t *testing.T) {
			t.Parallel()
			srv, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}, Speed: 1000,
				Faults: fakekraken.Faults{DisconnectEvery: every, Disconnects: 8, SkipOnDisconnect: 60,
					OutageEvery: 600, OutageFor: time.Second, Outages: 2}})
			_, events := startClient(t, url, nil)
			o := follow(t, events, last)
			o.checkAccounts(t, last)
			if st := srv.Stats(); st.Outages != 2 || st.Drops == 0 {
				t.Errorf("stats %+v: want 2 outages and drops", st)
			}
		})
	}
}

// A hostile trade carries the same corrupt values under its id on the
// WebSocket and in REST Trades.
func TestHostileTrades(t *testing.T) {
	trades := synth("BTC/USD", 100, time.Second)
	var hostile []fakekraken.HostileTrade
	for i, k := range fakekraken.HostileKinds() {
		hostile = append(hostile, fakekraken.HostileTrade{At: 40 + i, Kind: k})
	}
	_, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades},
		Faults: fakekraken.Faults{Hostile: hostile}})
	c := subscribed(t, url)
	snap := c.nextTrades(t)
	rows, _ := tradeRows(t, getReply(t, fakekraken.RESTURL(url)+"/0/public/Trades?pair=XBTUSD&since=0"), "XXBTZUSD")
	for i, k := range fakekraken.HostileKinds() {
		orig := trades[40+i]
		want := map[fakekraken.HostileKind][3]string{ // timestamp, price, qty
			fakekraken.HostileYear2100:   {"2100-01-02T03:04:" + fmt.Sprintf("%02d", 45+i) + ".000000Z", "105.5", "0.25"},
			fakekraken.HostileDayAhead:   {"2026-01-03T03:04:" + fmt.Sprintf("%02d", 45+i) + ".000000Z", "106.5", "0.25"},
			fakekraken.HostileDayBehind:  {"2026-01-01T03:04:" + fmt.Sprintf("%02d", 45+i) + ".000000Z", "100.5", "0.25"},
			fakekraken.HostileHuge:       {"2026-01-02T03:04:" + fmt.Sprintf("%02d", 45+i) + ".000000Z", "1" + zeros(308), "1" + zeros(308)},
			fakekraken.HostileNegative:   {"2026-01-02T03:04:" + fmt.Sprintf("%02d", 45+i) + ".000000Z", "-102.5", "0.25"},
			fakekraken.HostileZeroPrice:  {"2026-01-02T03:04:" + fmt.Sprintf("%02d", 45+i) + ".000000Z", "0", "0.25"},
			fakekraken.HostilePriceX1000: {"2026-01-02T03:04:" + fmt.Sprintf("%02d", 45+i) + ".000000Z", "104500", "0.25"},
		}[k]
		ws := snap.Data[40+i]
		if ws.TradeID != orig.TradeID || ws.Timestamp != want[0] || string(ws.Price) != want[1] || string(ws.Qty) != want[2] {
			t.Errorf("%s: WebSocket %+v, want id %d %v", k, ws, orig.TradeID, want)
		}
		row := rows[40+i]
		wantTS, _ := time.Parse(time.RFC3339Nano, want[0])
		price, _ := strconv.ParseFloat(row[0].(string), 64)
		wantPrice, _ := strconv.ParseFloat(want[1], 64)
		if row[6].(float64) != float64(orig.TradeID) || price != wantPrice || int64(row[2].(float64)) != wantTS.Unix() {
			t.Errorf("%s: REST %v, want id %d %v", k, row, orig.TradeID, want)
		}
	}
}

func zeros(n int) string { return string(slices.Repeat([]byte{'0'}, n)) }

// Every scenario of the matrix is accepted by New, and the list is the
// same every call.
func TestFaultMatrix(t *testing.T) {
	m := fakekraken.FaultMatrix()
	if len(m) < 9 || fmt.Sprint(m) != fmt.Sprint(fakekraken.FaultMatrix()) {
		t.Fatalf("matrix of %d, or not deterministic", len(m))
	}
	for _, sc := range m {
		if _, err := fakekraken.New(sc.Config(fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 10, time.Second)}})); err != nil {
			t.Errorf("%s: %v", sc.Name, err)
		}
	}
}

// A pair streamed from its file, with a window far smaller than the file,
// reaches the client whole, exactly once.
func TestReplayStreamedFileExactlyOnce(t *testing.T) {
	trades := loadReal(t)
	src, err := archive.OpenTrades(realdata.Path(t, realdata.KrakenTrades1h), "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv, url := startServer(t, fakekraken.Config{Sources: map[string]fakekraken.TradeSource{"BTC/USD": src}, History: 100})
	_, events := startClient(t, url, nil)
	o := follow(t, events, int64(len(trades)))
	if o.checkAccounts(t, int64(len(trades))) != 0 || len(o.ids) != len(trades) || srv.Err() != nil {
		t.Errorf("%d trades delivered of %d, gaps %v, err %v", len(o.ids), len(trades), o.gaps, srv.Err())
	}
	<-srv.Done()
}

// Past the rate, REST answers HTTP 200 with Kraken's error: by default
// EGeneral:Too many requests, or the RateLimitWith asked for.
func TestRESTRateLimitError(t *testing.T) {
	for _, with := range []string{"", fakekraken.ErrRateLimit} {
		srv, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 10, time.Second)},
			REST: fakekraken.RESTFaults{RateLimitPerSecond: 1, RateLimitWith: with}})
		base := fakekraken.RESTURL(url)
		getReply(t, base+"/0/public/Time")
		code, b := get(t, base+"/0/public/Trades?pair=XBTUSD")
		want := `{"error":["` + cmp.Or(with, "EGeneral:Too many requests") + `"]}`
		if code != http.StatusOK || string(b) != want || srv.RESTStats().RateLimited != 1 {
			t.Errorf("RateLimitWith %q: HTTP %d %s, want 200 %s", with, code, b, want)
		}
	}
}

// The matrix against the WebSocket client, on the first 1,500 real trades
// at ten times each scenario's speed: every trade is delivered once or
// reported in a gap. Left out: the 10 s outages (20 s of waiting) and the
// hostile trades (whether a client accepts them is its own test).
func TestFaultMatrixAgainstClient(t *testing.T) {
	trades := loadReal(t)[:1500]
	last := trades[len(trades)-1].TradeID
	for _, sc := range fakekraken.FaultMatrix() {
		if sc.Faults.OutageFor > 5*time.Second || len(sc.Faults.Hostile) > 0 {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			sc.Speed *= 10
			srv, url := startServer(t, sc.Config(fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}}))
			_, events := startClient(t, url, nil)
			o := follow(t, events, last)
			o.checkAccounts(t, last)
			if st := srv.Stats(); st.Drops+st.Outages == 0 && !sc.Faults.TradesBeforeAck {
				t.Errorf("no fault injected: %+v", st)
			}
		})
	}
}
