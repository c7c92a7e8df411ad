package fakekraken_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/market"
)

const subscribeBoth = `{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"],"snapshot":true},"req_id":1}`

// received is a trade frame and when it came.
type received struct {
	at  time.Time
	msg tradeMsg
}

func (r received) pair() string { return r.msg.Data[0].Symbol }

// tradeFrames reads c's frames until done says enough (or fails after
// wait), keeping the trade frames; onFrame sees each as it comes.
func tradeFrames(t *testing.T, c *wsClient, done func([]received) bool, onFrame func(received)) []received {
	t.Helper()
	var out []received
	timeout := time.After(wait)
	for !done(out) {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatal("connection closed")
			}
			if !strings.HasPrefix(f, `{"channel":"trade"`) {
				continue
			}
			r := received{at: time.Now(), msg: parseTrades(t, f)}
			out = append(out, r)
			if onFrame != nil {
				onFrame(r)
			}
		case <-timeout:
			t.Fatal("not enough trades in time")
		}
	}
	return out
}

// idsOf returns pair's trade ids in the frames, in order.
func idsOf(frames []received, pair string) []int64 {
	var out []int64
	for _, r := range frames {
		if r.pair() == pair {
			out = append(out, ids(r.msg)...)
		}
	}
	return out
}

// firstWith returns the frame that holds pair's trade id.
func firstWith(t *testing.T, frames []received, pair string, id int64) received {
	t.Helper()
	for _, r := range frames {
		if r.pair() == pair && slices.Contains(ids(r.msg), id) {
			return r
		}
	}
	t.Fatalf("no %s frame with trade %d", pair, id)
	return received{}
}

// sentBetween counts pair's trades in the frames received in (from, to).
func sentBetween(frames []received, pair string, from, to time.Time) int {
	n := 0
	for _, r := range frames {
		if r.pair() == pair && r.at.After(from) && r.at.Before(to) {
			n += len(r.msg.Data)
		}
	}
	return n
}

// reaches is a done func: pair's trade id has been received.
func reaches(pair string, id int64) func([]received) bool {
	return func(fs []received) bool { return slices.Contains(idsOf(fs, pair), id) }
}

// stallConfig: BTC/USD and ETH/USD, 100 trades a second of wall time each,
// ETH/USD's feed stalling for 600 ms once 150 of its trades were published.
func stallConfig(lose bool) fakekraken.Config {
	return fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 3000, time.Second),
		"ETH/USD": synth("ETH/USD", 3000, time.Second)}, Speed: 100,
		Faults: fakekraken.Faults{Stalls: []fakekraken.PairStall{{Pair: "ETH-USD", After: 150, For: 600 * time.Millisecond, Lose: lose}}}}
}

// A stalled pair's trades are withheld for the stall while the other pair
// flows on the same connection, then come late, all of them, in order. A
// subscription during the stall gets the snapshot of the trades before it
// and its updates go on from there.
func TestPairStallBurst(t *testing.T) {
	t.Parallel()
	srv, url := startServer(t, stallConfig(false))
	c := dial(t, url)
	c.send(t, subscribeBoth)
	var late *wsClient
	frames := tradeFrames(t, c, reaches("ETH/USD", 400), func(r received) {
		if late == nil && r.pair() == "ETH/USD" && slices.Contains(ids(r.msg), 150) {
			late = dial(t, url) // the feed stalls now, for 600 ms
			late.send(t, `{"method":"subscribe","params":{"channel":"trade","symbol":["ETH/USD"],"snapshot":true},"req_id":2}`)
		}
	})
	if got := idsOf(frames, "ETH/USD"); !slices.Equal(got[:400], seq(1, 400)) {
		t.Fatalf("ETH/USD ids %v..., want 1..400 once each, in order", got[:min(len(got), 20)])
	}
	before, after := firstWith(t, frames, "ETH/USD", 150), firstWith(t, frames, "ETH/USD", 151)
	if d := after.at.Sub(before.at); d < 500*time.Millisecond {
		t.Errorf("ETH/USD 151 came %s after 150, want the 600 ms stall", d)
	}
	if n := len(after.msg.Data); n < 30 {
		t.Errorf("ETH/USD resumed with %d trades, want the stall's (about 60) at once", n)
	}
	if n := sentBetween(frames, "BTC/USD", before.at, after.at); n < 30 {
		t.Errorf("%d BTC/USD trades sent during ETH/USD's stall, want about 60", n)
	}
	// The subscription made during the stall.
	snap := tradeFrames(t, late, func(fs []received) bool { return len(fs) > 0 }, nil)[0].msg
	if snap.Type != "snapshot" || !slices.Equal(ids(snap), seq(101, 150)) {
		t.Fatalf("snapshot during the stall: %s %v, want 101..150", snap.Type, ids(snap))
	}
	if m := late.nextTrades(t); m.Type != "update" || m.Data[0].TradeID != 151 {
		t.Fatalf("after the snapshot: %s from %d, want updates from 151", m.Type, m.Data[0].TradeID)
	}
	if st := srv.Stats(); st.Stalls != 1 {
		t.Errorf("stats %+v: want 1 stall", st)
	}
}

// With Lose the trades of the stall are never sent on the WebSocket: the
// feed resumes at the trades published then (a trade_id gap), which REST
// Trades serves.
func TestPairStallLose(t *testing.T) {
	t.Parallel()
	_, url := startServer(t, stallConfig(true))
	c := dial(t, url)
	c.send(t, subscribeBoth)
	frames := tradeFrames(t, c, reaches("BTC/USD", 400), nil)
	eth := idsOf(frames, "ETH/USD")
	i := slices.Index(eth, 150)
	if i < 0 || !slices.Equal(eth[:i+1], seq(1, 150)) || len(eth) <= i+1 {
		t.Fatalf("ETH/USD ids %v: want 1..150, then more", eth)
	}
	resumed := eth[i+1]
	if resumed < 151+30 || !increasing(eth) {
		t.Fatalf("ETH/USD resumed at %d, want past the ~60 trades of the stall, ids increasing", resumed)
	}
	if n := sentBetween(frames, "BTC/USD", firstWith(t, frames, "ETH/USD", 150).at, firstWith(t, frames, "ETH/USD", resumed).at); n < 30 {
		t.Errorf("%d BTC/USD trades sent during ETH/USD's stall, want about 60", n)
	}
	rows, _ := tradeRows(t, getReply(t, fakekraken.RESTURL(url)+"/0/public/Trades?pair=ETHUSD&since=0"), "XETHZUSD")
	if len(rows) < int(resumed) || int64(rows[150][6].(float64)) != 151 {
		t.Fatalf("REST serves %d ETH/USD trades, want every one up to %d, 151 included", len(rows), resumed)
	}
}

// A stall from the start (After 0): the pair's subscription gets an empty
// snapshot and its first trades come late.
func TestPairStallFromStart(t *testing.T) {
	cfg := stallConfig(false)
	cfg.Faults.Stalls[0].After = 0
	_, url := startServer(t, cfg)
	c := dial(t, url)
	c.send(t, subscribeBoth)
	frames := tradeFrames(t, c, reaches("ETH/USD", 1), nil)
	first := firstWith(t, frames, "ETH/USD", 1)
	if first.msg.Type != "update" || sentBetween(frames, "BTC/USD", time.Time{}, first.at) < 50+30 {
		t.Fatalf("ETH/USD's first trades in a %s after %d BTC/USD trades; want an update after the BTC/USD snapshot and about 60 more",
			first.msg.Type, sentBetween(frames, "BTC/USD", time.Time{}, first.at))
	}
}

func increasing(xs []int64) bool {
	for i := 1; i < len(xs); i++ {
		if xs[i] <= xs[i-1] {
			return false
		}
	}
	return true
}

func TestPairStallValidated(t *testing.T) {
	trades := map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 3, time.Second)}
	for name, tt := range map[string]struct {
		speed float64
		stall fakekraken.PairStall
		want  string
	}{
		"max speed":    {0, fakekraken.PairStall{Pair: "BTC/USD", For: time.Second}, "needs Speed > 0"},
		"other pair":   {1, fakekraken.PairStall{Pair: "ETH/USD", For: time.Second}, "not replayed"},
		"no duration":  {1, fakekraken.PairStall{Pair: "BTC/USD"}, "For > 0"},
		"negative":     {1, fakekraken.PairStall{Pair: "BTC/USD", After: -1, For: time.Second}, "After >= 0"},
		"invalid pair": {1, fakekraken.PairStall{Pair: "??", For: time.Second}, "stall"},
	} {
		_, err := fakekraken.New(fakekraken.Config{Trades: trades, Speed: tt.speed, Faults: fakekraken.Faults{Stalls: []fakekraken.PairStall{tt.stall}}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tt.want)
		}
	}
}
