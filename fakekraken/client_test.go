package fakekraken_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
)

// outcome is what a kraken.Client delivered.
type outcome struct {
	ids         []int64
	gaps        []kraken.Gap
	statuses    []string
	disconnects []error
}

func startClient(t *testing.T, url string, tweak func(*kraken.ClientConfig)) (*kraken.Client, chan kraken.Event) {
	t.Helper()
	cfg := kraken.ClientConfig{URL: url, Pairs: []string{"XBTUSD"}, Snapshot: true, SilenceTimeout: 2 * time.Second,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := kraken.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan kraken.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, events) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
	})
	return c, events
}

// follow reads events until the trade lastID was delivered.
func follow(t *testing.T, events <-chan kraken.Event, lastID int64) outcome {
	t.Helper()
	var o outcome
	timeout := time.After(30 * time.Second)
	for len(o.ids) == 0 || o.ids[len(o.ids)-1] < lastID {
		select {
		case ev := <-events:
			o.add(ev)
		case <-timeout:
			t.Fatalf("trade %d never came; got %d trades, %d gaps", lastID, len(o.ids), len(o.gaps))
		}
	}
	return o
}

func (o *outcome) add(ev kraken.Event) {
	switch ev.Kind {
	case kraken.EventTrades:
		for _, tr := range ev.Trades {
			o.ids = append(o.ids, tr.TradeID)
		}
	case kraken.EventGap:
		o.gaps = append(o.gaps, ev.Gap)
	case kraken.EventStatus:
		o.statuses = append(o.statuses, ev.Status)
	case kraken.EventDisconnected:
		o.disconnects = append(o.disconnects, ev.Err)
	}
}

// untilHeartbeat reads events until a heartbeat arrives with done true:
// heartbeats go on after the last trade, and a status change may come later
// than the trades.
func (o *outcome) untilHeartbeat(t *testing.T, events <-chan kraken.Event, done func() bool) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev := <-events:
			o.add(ev)
			if ev.Kind == kraken.EventHeartbeat && done() {
				return
			}
		case <-timeout:
			t.Fatal("no heartbeat after the last trade")
		}
	}
}

// checkAccounts proves that every id in 1..last was either delivered once
// or reported inside exactly one gap.
func (o outcome) checkAccounts(t *testing.T, last int64) (missing int64) {
	t.Helper()
	seen := make([]int, last+1)
	for _, id := range o.ids {
		seen[id]++
	}
	for _, g := range o.gaps {
		missing += g.Missing()
		for id := g.FromID; id <= g.ToID; id++ {
			seen[id]++
		}
	}
	for id := int64(1); id <= last; id++ {
		if seen[id] != 1 {
			t.Fatalf("trade %d delivered or reported missing %d times", id, seen[id])
		}
	}
	if !slices.IsSorted(o.ids) {
		t.Error("trades out of order")
	}
	if int64(len(o.ids))+missing != last {
		t.Errorf("%d delivered + %d in gaps != %d", len(o.ids), missing, last)
	}
	return missing
}

func TestClientAgainstDrops(t *testing.T) {
	tests := []struct {
		skip                       int
		wantGaps, wantMiss, wantDu int64
	}{
		// Each drop loses 120 trades; the snapshot of 50 recovers the last 50.
		{skip: 120, wantGaps: 5, wantMiss: 5 * 70, wantDu: 0},
		// The snapshot covers all 20, and repeats 30 already seen.
		{skip: 20, wantGaps: 0, wantMiss: 0, wantDu: 5 * 30},
	}
	trades := loadReal(t)
	last := trades[len(trades)-1].TradeID
	for _, tt := range tests {
		t.Run(fmt.Sprintf("skip %d", tt.skip), func(t *testing.T) {
			srv, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades},
				Faults: fakekraken.Faults{DisconnectEvery: 400, Disconnects: 5, SkipOnDisconnect: tt.skip}})
			c, events := startClient(t, url, nil)
			o := follow(t, events, last)
			missing := o.checkAccounts(t, last)
			st := c.Stats()
			if st.Gaps != tt.wantGaps || missing != tt.wantMiss || st.MissingTrades != tt.wantMiss || st.Duplicates != tt.wantDu {
				t.Errorf("gaps %d, missing %d (stats %d), duplicates %d; want %d, %d, %d",
					st.Gaps, missing, st.MissingTrades, st.Duplicates, tt.wantGaps, tt.wantMiss, tt.wantDu)
			}
			if sst := srv.Stats(); sst.Drops != 5 || st.Reconnects != 5 || len(o.disconnects) != 5 || sst.Connections != 6 {
				t.Errorf("server %+v, client %+v, %d disconnect events", sst, st, len(o.disconnects))
			}
		})
	}
}

func TestClientAgainstFaults(t *testing.T) {
	const n = 1000
	tests := []struct {
		name   string
		faults fakekraken.Faults
		check  func(t *testing.T, o outcome, st kraken.Stats)
	}{
		{"none", fakekraken.Faults{}, func(t *testing.T, o outcome, st kraken.Stats) {
			if st.Duplicates != 0 || st.Reconnects != 0 || st.Trades != n {
				t.Errorf("stats %+v", st)
			}
		}},
		{"silence", fakekraken.Faults{SilenceAfter: 300, SilenceFor: 3 * time.Second}, func(t *testing.T, o outcome, st kraken.Stats) {
			if len(o.disconnects) != 1 || !errors.Is(o.disconnects[0], kraken.ErrSilence) || st.Reconnects != 1 {
				t.Errorf("disconnects %v, reconnects %d; want one for silence", o.disconnects, st.Reconnects)
			}
			if st.Duplicates != 50 { // the new snapshot repeats the last 50 trades
				t.Errorf("duplicates %d, want 50", st.Duplicates)
			}
		}},
		{"maintenance", fakekraken.Faults{MaintenanceAfter: 200}, func(t *testing.T, o outcome, st kraken.Stats) {
			if !slices.Equal(o.statuses, []string{"online", "maintenance", "online"}) || st.Reconnects != 0 {
				t.Errorf("statuses %v, reconnects %d", o.statuses, st.Reconnects)
			}
		}},
		{"repeated snapshot", fakekraken.Faults{RepeatSnapshotAfter: 200}, func(t *testing.T, o outcome, st kraken.Stats) {
			if st.Duplicates != 50 || st.Reconnects != 0 {
				t.Errorf("duplicates %d, reconnects %d; want 50, 0", st.Duplicates, st.Reconnects)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", n, time.Second)},
				HeartbeatInterval: 100 * time.Millisecond, Faults: tt.faults})
			c, events := startClient(t, url, func(cfg *kraken.ClientConfig) { cfg.SilenceTimeout = time.Second })
			o := follow(t, events, n)
			o.untilHeartbeat(t, events, func() bool { return tt.faults.MaintenanceAfter == 0 || len(o.statuses) >= 3 })
			if o.checkAccounts(t, n) != 0 {
				t.Errorf("gaps %v", o.gaps)
			}
			tt.check(t, o, c.Stats())
		})
	}
}

func TestClientRefusedByFake(t *testing.T) {
	_, url := startServer(t, slow(10))
	c, err := kraken.NewClient(kraken.ClientConfig{URL: url, Pairs: []string{"BTC/USD", "SOL/USD"}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Run(t.Context(), make(chan kraken.Event, 100))
	if !errors.Is(err, kraken.ErrSubscriptionRefused) || err.Error() != "kraken: subscription refused: SOL/USD: Currency pair not supported SOL/USD" {
		t.Errorf("Run = %v", err)
	}
}
