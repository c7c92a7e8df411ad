package market

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
)

// The fixtures in this file are hand-written: trade sequences small enough to
// work out the expected candles on paper. Times are on 2024-01-01 UTC.

const fixtureDay = "2024-01-01T"

// at parses "15:04:05" or "15:04:05.000" on the fixture day.
func at(hms string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, fixtureDay+hms+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

func btc(id int64, hms string, price, qty float64, side Side) Trade {
	return Trade{Pair: "BTC/USD", TradeID: id, Price: price, Qty: qty, Side: side, TS: at(hms), Source: SourceReplay}
}

// show renders a candle compactly so that fixtures read like a worked example:
// start-end O H L C V vwap N buy sell ids [flags].
func show(c Candle) string {
	s := fmt.Sprintf("%s %s-%s O=%g H=%g L=%g C=%g V=%g VWAP=%g N=%d B=%g S=%g ids=%d-%d",
		c.Pair, c.Start.Format("15:04:05"), c.End.Format("15:04:05"), c.Open, c.High, c.Low, c.Close,
		c.Volume, c.VWAP, c.Trades, c.BuyVolume, c.SellVolume, c.FirstTradeID, c.LastTradeID)
	if !c.Complete {
		s += " incomplete"
	}
	if c.Repaired {
		s += " repaired"
	}
	return s
}

func showAll(cs []Candle) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = show(c)
	}
	return out
}

// aggStep is one call on the aggregator and what it must emit.
type aggStep struct {
	trade   *Trade
	advance string // Advance(at(advance)) when set
	flush   bool
	mark    [2]string // MarkGap(BTC/USD, at(mark[0]), at(mark[1])) when set
	forget  *bool     // Forget("BTC/USD") must return *forget when set
	outcome Outcome
	want    []string
}

func add(t Trade, o Outcome, want ...string) aggStep {
	return aggStep{trade: &t, outcome: o, want: want}
}
func adv(hms string, want ...string) aggStep { return aggStep{advance: hms, want: want} }
func flush(want ...string) aggStep           { return aggStep{flush: true, want: want} }
func mark(from, to string) aggStep           { return aggStep{mark: [2]string{from, to}} }
func forget(had bool) aggStep                { return aggStep{forget: &had} }

func (s aggStep) run(t *testing.T, a *Aggregator) []Candle {
	t.Helper()
	switch {
	case s.trade != nil:
		out, o, err := a.Add(*s.trade, nil)
		if err != nil || o != s.outcome {
			t.Fatalf("Add(%d @%s) = %v, %v; want %v", s.trade.TradeID, s.trade.TS.Format("15:04:05"), o, err, s.outcome)
		}
		return out
	case s.advance != "":
		return a.Advance(at(s.advance), nil)
	case s.flush:
		return a.Flush(nil)
	case s.mark[0] != "":
		a.MarkGap("BTC/USD", at(s.mark[0]), at(s.mark[1]))
	case s.forget != nil:
		if had := a.Forget("BTC/USD"); had != *s.forget {
			t.Fatalf("Forget = %v, want %v", had, *s.forget)
		}
	}
	return nil
}

func runSteps(t *testing.T, cfg AggregatorConfig, steps []aggStep) *Aggregator {
	t.Helper()
	a, err := NewAggregator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		got := showAll(s.run(t, a))
		if !slices.Equal(got, s.want) {
			t.Fatalf("step %d emitted\n\t%s\nwant\n\t%s", i, strings.Join(got, "\n\t"), strings.Join(s.want, "\n\t"))
		}
	}
	return a
}

func TestAggregatorFixtures(t *testing.T) {
	const buy, sell = SideBuy, SideSell
	acc, dup, late := OutcomeAccepted, OutcomeDuplicate, OutcomeLate
	tests := []struct {
		name      string
		grace     time.Duration
		keep      int // RepairWindows
		steps     []aggStep
		wantStats AggregatorStats
	}{
		{
			name: "a trade at End belongs to the next window and closes the first",
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(2, "00:00:20", 102, 3, sell), acc),
				add(btc(3, "00:01:00", 101, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=102 L=100 C=102 V=4 VWAP=101.5 N=2 B=1 S=3 ids=1-2"),
				flush("BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=1 VWAP=101 N=1 B=1 S=0 ids=3-3"),
			},
			wantStats: AggregatorStats{Accepted: 3},
		},
		{
			name: "windows without trades are emitted empty at the previous close",
			steps: []aggStep{
				add(btc(1, "00:00:30", 100, 2, buy), acc),
				add(btc(2, "00:03:10", 110, 1, sell), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=2 VWAP=100 N=1 B=2 S=0 ids=1-1",
					"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0",
					"BTC/USD 00:02:00-00:03:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0"),
				flush("BTC/USD 00:03:00-00:04:00 O=110 H=110 L=110 C=110 V=1 VWAP=110 N=1 B=0 S=1 ids=2-2"),
				flush(),
			},
			wantStats: AggregatorStats{Accepted: 2},
		},
		{
			name:  "a window stays open until the watermark reaches End+Grace; without a correction horizon later trades are late",
			grace: 5 * time.Second,
			keep:  -1,
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(2, "00:01:04.999", 101, 1, buy), acc),
				add(btc(3, "00:00:59", 99, 1, sell), acc), // out of order, within grace
				add(btc(4, "00:01:05", 102, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=99 C=99 V=2 VWAP=99.5 N=2 B=1 S=1 ids=1-3"),
				add(btc(5, "00:00:30", 98, 1, sell), late),
			},
			wantStats: AggregatorStats{Accepted: 4, Late: 1},
		},
		{
			name:  "out-of-order trades merge by (ts, trade_id) and fill the gap they opened",
			grace: 10 * time.Second,
			keep:  -1,
			steps: []aggStep{
				add(btc(1, "00:00:50", 100, 1, buy), acc),
				add(btc(3, "00:01:05", 105, 1, buy), acc), // ids 2 missing
				add(btc(2, "00:00:55", 90, 1, sell), acc), // arrives after 3
				add(btc(4, "00:01:10", 107, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=90 C=90 V=2 VWAP=95 N=2 B=1 S=1 ids=1-2 repaired"),
				add(btc(5, "00:00:59", 1, 1, buy), late), // window closed: never merged
				flush("BTC/USD 00:01:00-00:02:00 O=105 H=107 L=105 C=107 V=2 VWAP=106 N=2 B=2 S=0 ids=3-4"),
			},
			wantStats: AggregatorStats{Accepted: 4, Late: 1, Gaps: 1, MissingTrades: 1, Filled: 1},
		},
		{
			name: "equal timestamps order by trade_id, whatever the arrival order",
			steps: []aggStep{
				add(btc(2, "00:00:10", 101, 1, buy), acc),
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				flush("BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2"),
			},
			wantStats: AggregatorStats{Accepted: 2},
		},
		{
			name: "trades without ids: never duplicates, arrival breaks ties, ids 0-0",
			steps: []aggStep{
				add(btc(0, "00:00:10", 100, 1, buy), acc),
				add(btc(0, "00:00:10", 100, 1, buy), acc),
				add(btc(0, "00:00:10", 103, 2, sell), acc),
				add(btc(0, "00:00:05", 99, 1, sell), acc),
				flush("BTC/USD 00:00:00-00:01:00 O=99 H=103 L=99 C=103 V=5 VWAP=101 N=4 B=2 S=3 ids=0-0"),
			},
			wantStats: AggregatorStats{Accepted: 4},
		},
		{
			name: "zero volume: VWAP is the close",
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 0, buy), acc),
				add(btc(2, "00:00:20", 101, 0, sell), acc),
				flush("BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=0 VWAP=101 N=2 B=0 S=0 ids=1-2"),
			},
			wantStats: AggregatorStats{Accepted: 2},
		},
		{
			name: "duplicates in open and closed windows are dropped",
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(1, "00:00:10", 100, 1, buy), dup),
				add(btc(2, "00:01:10", 101, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1"),
				add(btc(1, "00:00:10", 100, 1, buy), dup),  // closed window: a duplicate, not late
				add(btc(2, "00:01:10", 555, 9, sell), dup), // same id, other fields: still the same trade
				flush("BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=1 VWAP=101 N=1 B=1 S=0 ids=2-2"),
			},
			wantStats: AggregatorStats{Accepted: 2, Duplicates: 3},
		},
		{
			name: "Advance closes windows on time and emits empty ones; later trades are late without a correction horizon",
			// Grace 2s: window 00:00 closes at 00:01:02.
			grace: 2 * time.Second,
			keep:  -1,
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				adv("00:01:01.999"),
				adv("00:01:02",
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1"),
				adv("00:03:02",
					"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0",
					"BTC/USD 00:02:00-00:03:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0"),
				adv("00:02:00"), // the clock going back changes nothing
				add(btc(2, "00:02:59", 101, 1, buy), late), // its id is seen: no gap before id 3
				flush(), // no window past the last one holding a trade
				add(btc(3, "00:03:30", 102, 1, sell), acc),
				flush("BTC/USD 00:03:00-00:04:00 O=102 H=102 L=102 C=102 V=1 VWAP=102 N=1 B=0 S=1 ids=3-3"),
			},
			wantStats: AggregatorStats{Accepted: 2, Late: 1},
		},
		{
			name:  "the first window extends back within grace",
			grace: 30 * time.Second,
			steps: []aggStep{
				add(btc(2, "00:01:10", 101, 1, buy), acc),
				add(btc(1, "00:00:50", 100, 1, sell), acc),
				add(btc(3, "00:01:31", 102, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=0 S=1 ids=1-1"),
				flush("BTC/USD 00:01:00-00:02:00 O=101 H=102 L=101 C=102 V=2 VWAP=101.5 N=2 B=2 S=0 ids=2-3"),
			},
			wantStats: AggregatorStats{Accepted: 3},
		},
		{
			name:  "a trade before the first window past its grace is late",
			grace: 30 * time.Second,
			steps: []aggStep{
				add(btc(10, "00:05:00", 101, 1, buy), acc),
				add(btc(9, "00:03:30", 100, 1, sell), late), // 00:04:00+30s <= 00:05:00
				flush("BTC/USD 00:05:00-00:06:00 O=101 H=101 L=101 C=101 V=1 VWAP=101 N=1 B=1 S=0 ids=10-10"),
			},
			wantStats: AggregatorStats{Accepted: 1, Late: 1},
		},
		{
			name: "an id gap marks exactly the windows its time range overlaps (repair off)",
			keep: -1,
			// Gap: id 3, between id 2 at 00:01:20 and id 4 at 00:02:50.
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(2, "00:01:20", 101, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1"),
				add(btc(4, "00:02:50", 102, 1, buy), acc,
					"BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=1 VWAP=101 N=1 B=1 S=0 ids=2-2 incomplete"),
				add(btc(5, "00:04:10", 103, 1, buy), acc,
					"BTC/USD 00:02:00-00:03:00 O=102 H=102 L=102 C=102 V=1 VWAP=102 N=1 B=1 S=0 ids=4-4 incomplete",
					"BTC/USD 00:03:00-00:04:00 O=102 H=102 L=102 C=102 V=0 VWAP=102 N=0 B=0 S=0 ids=0-0"),
				add(btc(3, "00:02:00", 1, 1, buy), late), // the missing trade, too late
				add(btc(3, "00:02:00", 1, 1, buy), dup),  // a late trade counts as seen
				flush("BTC/USD 00:04:00-00:05:00 O=103 H=103 L=103 C=103 V=1 VWAP=103 N=1 B=1 S=0 ids=5-5"),
			},
			wantStats: AggregatorStats{Accepted: 4, Late: 1, Duplicates: 1, Gaps: 1, MissingTrades: 1, Filled: 1},
		},
		{
			name:  "a gap filled before its window closes leaves it complete",
			grace: 30 * time.Second,
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(4, "00:00:40", 103, 1, buy), acc), // ids 2, 3 missing
				add(btc(3, "00:00:30", 102, 1, buy), acc),
				add(btc(2, "00:00:20", 101, 1, buy), acc),
				add(btc(5, "00:01:40", 104, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=103 L=100 C=103 V=4 VWAP=101.5 N=4 B=4 S=0 ids=1-4 repaired"),
			},
			wantStats: AggregatorStats{Accepted: 5, Gaps: 1, MissingTrades: 2, Filled: 2},
		},
		{
			name:  "a gap only partly filled keeps its remaining time range",
			grace: 2 * time.Minute,
			// Gap ids 2..3 between 00:00:10 and 00:02:30; id 2 arrives at
			// 00:00:20, so id 3 lies in [00:00:20, 00:02:30]: all three
			// windows stay incomplete.
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(4, "00:02:30", 103, 1, buy), acc),
				add(btc(2, "00:00:20", 101, 1, buy), acc),
				flush(
					"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2 incomplete repaired",
					"BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=0 VWAP=101 N=0 B=0 S=0 ids=0-0 incomplete",
					"BTC/USD 00:02:00-00:03:00 O=103 H=103 L=103 C=103 V=1 VWAP=103 N=1 B=1 S=0 ids=4-4 incomplete"),
			},
			wantStats: AggregatorStats{Accepted: 3, Gaps: 1, MissingTrades: 2, Filled: 1},
		},
		{
			name:  "filling the middle of a gap splits it and narrows both parts",
			grace: time.Hour,
			// Gap ids 2..4 over [00:00:10, 00:03:10]. Id 3 at 00:01:30 splits
			// it into id 2 over [00:00:10, 00:01:30] and id 4 over
			// [00:01:30, 00:03:10]; id 2 then closes the first part.
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(5, "00:03:10", 104, 1, buy), acc),
				add(btc(3, "00:01:30", 102, 1, buy), acc),
				add(btc(2, "00:00:20", 101, 1, buy), acc),
				flush(
					"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2 repaired",
					"BTC/USD 00:01:00-00:02:00 O=102 H=102 L=102 C=102 V=1 VWAP=102 N=1 B=1 S=0 ids=3-3 incomplete repaired",
					"BTC/USD 00:02:00-00:03:00 O=102 H=102 L=102 C=102 V=0 VWAP=102 N=0 B=0 S=0 ids=0-0 incomplete",
					"BTC/USD 00:03:00-00:04:00 O=104 H=104 L=104 C=104 V=1 VWAP=104 N=1 B=1 S=0 ids=5-5 incomplete"),
			},
			wantStats: AggregatorStats{Accepted: 4, Gaps: 1, MissingTrades: 3, Filled: 2},
		},
		{
			name: "MarkGap marks the windows overlapping [from, to]",
			steps: []aggStep{
				add(btc(0, "00:00:10", 100, 1, buy), acc),
				mark("00:01:30", "00:02:00"), // to = Start of 00:02: inclusive, overlaps
				add(btc(0, "00:04:10", 101, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=0-0",
					"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete",
					"BTC/USD 00:02:00-00:03:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete",
					"BTC/USD 00:03:00-00:04:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0"),
				flush("BTC/USD 00:04:00-00:05:00 O=101 H=101 L=101 C=101 V=1 VWAP=101 N=1 B=1 S=0 ids=0-0"),
			},
			wantStats: AggregatorStats{Accepted: 2, Gaps: 1},
		},
		{
			name: "MarkGap before a pair's first trade applies to its windows",
			steps: []aggStep{
				mark("00:00:00", "00:00:05"),
				adv("01:00:00"), // the pair has no window yet: nothing to close
				add(btc(0, "00:00:10", 100, 1, buy), acc),
				add(btc(0, "00:01:10", 101, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=0-0 incomplete"),
			},
			wantStats: AggregatorStats{Accepted: 2, Gaps: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := runSteps(t, AggregatorConfig{Interval: time.Minute, Grace: tt.grace, RepairWindows: tt.keep}, tt.steps)
			if got := a.Stats(); got != tt.wantStats {
				t.Errorf("stats %+v, want %+v", got, tt.wantStats)
			}
		})
	}
}

// TestAggregatorForget: a forgotten pair starts over at its next trade, as
// if never seen; the other pairs and the counters stay.
func TestAggregatorForget(t *testing.T) {
	const buy = SideBuy
	acc := OutcomeAccepted
	eth := btc(1, "00:00:30", 10, 1, buy)
	eth.Pair = "ETH/USD"
	tests := []struct {
		name      string
		steps     []aggStep
		wantStats AggregatorStats
	}{
		{
			name: "the open window is dropped, not closed by the next trade",
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(2, "00:00:20", 102, 1, buy), acc),
				forget(true),
				add(btc(40, "00:03:10", 105, 1, buy), acc), // no candles for 00:00-00:03
				adv("00:04:00",
					"BTC/USD 00:03:00-00:04:00 O=105 H=105 L=105 C=105 V=1 VWAP=105 N=1 B=1 S=0 ids=40-40"),
			},
			wantStats: AggregatorStats{Accepted: 3},
		},
		{
			name: "ids seen before are new again; no gap to the earlier ones",
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(2, "00:00:20", 101, 1, buy), acc),
				forget(true),
				add(btc(2, "00:00:20", 101, 1, buy), acc),
				add(btc(3, "00:00:40", 102, 1, buy), acc),
				flush("BTC/USD 00:00:00-00:01:00 O=101 H=102 L=101 C=102 V=2 VWAP=101.5 N=2 B=2 S=0 ids=2-3"),
			},
			wantStats: AggregatorStats{Accepted: 4},
		},
		{
			name: "a closed window opens anew: rebuilt, not corrected",
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(2, "00:01:10", 101, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1"),
				forget(true),
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(2, "00:01:10", 101, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1"),
			},
			wantStats: AggregatorStats{Accepted: 4},
		},
		{
			name: "marked gaps go too",
			steps: []aggStep{
				mark("00:00:00", "00:00:30"),
				forget(true),
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				flush("BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1"),
			},
			wantStats: AggregatorStats{Accepted: 1, Gaps: 1},
		},
		{
			name: "an unknown pair, or one forgotten already: nothing to forget",
			steps: []aggStep{
				forget(false),
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				forget(true),
				forget(false),
				flush(),
			},
			wantStats: AggregatorStats{Accepted: 1},
		},
		{
			name: "other pairs keep their windows",
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(eth, acc),
				forget(true),
				flush("ETH/USD 00:00:00-00:01:00 O=10 H=10 L=10 C=10 V=1 VWAP=10 N=1 B=1 S=0 ids=1-1"),
			},
			wantStats: AggregatorStats{Accepted: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := runSteps(t, AggregatorConfig{Interval: time.Minute}, tt.steps)
			if got := a.Stats(); got != tt.wantStats {
				t.Errorf("stats %+v, want %+v", got, tt.wantStats)
			}
		})
	}
}

// TestAggregatorRepairsClosedWindows: trades filling a gap after their
// window closed (as REST repair delivers them) correct the kept candles.
func TestAggregatorRepairsClosedWindows(t *testing.T) {
	const buy, sell = SideBuy, SideSell
	acc, dup, late, rep := OutcomeAccepted, OutcomeDuplicate, OutcomeLate, OutcomeRepaired
	tests := []struct {
		name      string
		cfg       AggregatorConfig
		steps     []aggStep
		wantStats AggregatorStats
	}{
		{
			name: "the missing trade corrects its closed candle and completes its neighbours",
			// Gap: id 3, between id 2 at 00:01:20 and id 4 at 00:02:50. Id 3
			// (at 00:02:00, price 1) then comes: 00:02 is corrected (it is
			// the Open: earliest ts), 00:01 only becomes complete, 00:03
			// (empty, at 00:02's unchanged close) is not re-emitted.
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(2, "00:01:20", 101, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1"),
				add(btc(4, "00:02:50", 102, 1, buy), acc,
					"BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=1 VWAP=101 N=1 B=1 S=0 ids=2-2 incomplete"),
				add(btc(5, "00:04:10", 103, 1, buy), acc,
					"BTC/USD 00:02:00-00:03:00 O=102 H=102 L=102 C=102 V=1 VWAP=102 N=1 B=1 S=0 ids=4-4 incomplete",
					"BTC/USD 00:03:00-00:04:00 O=102 H=102 L=102 C=102 V=0 VWAP=102 N=0 B=0 S=0 ids=0-0"),
				add(btc(3, "00:02:00", 1, 1, sell), rep,
					"BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=1 VWAP=101 N=1 B=1 S=0 ids=2-2",
					"BTC/USD 00:02:00-00:03:00 O=1 H=102 L=1 C=102 V=2 VWAP=51.5 N=2 B=1 S=1 ids=3-4 repaired"),
				add(btc(3, "00:02:00", 1, 1, sell), dup),
				flush("BTC/USD 00:04:00-00:05:00 O=103 H=103 L=103 C=103 V=1 VWAP=103 N=1 B=1 S=0 ids=5-5"),
			},
			wantStats: AggregatorStats{Accepted: 4, Duplicates: 1, Gaps: 1, MissingTrades: 1, Filled: 1, Repaired: 1, Corrected: 2},
		},
		{
			name: "a trade into an empty closed window re-emits the empty ones after it",
			// Gap: id 2 over [00:00:10, 00:03:10]: 00:00..00:03 close
			// incomplete, 00:01 and 00:02 empty at 100. Id 2 at 00:01:30,
			// price 90, fills 00:01; 00:02 now repeats 90; 00:03 (not empty)
			// only becomes complete, like 00:00.
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(3, "00:03:10", 110, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1 incomplete",
					"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete",
					"BTC/USD 00:02:00-00:03:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete"),
				add(btc(4, "00:04:05", 111, 1, buy), acc,
					"BTC/USD 00:03:00-00:04:00 O=110 H=110 L=110 C=110 V=1 VWAP=110 N=1 B=1 S=0 ids=3-3 incomplete"),
				add(btc(2, "00:01:30", 90, 2, sell), rep,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1",
					"BTC/USD 00:01:00-00:02:00 O=90 H=90 L=90 C=90 V=2 VWAP=90 N=1 B=0 S=2 ids=2-2 repaired",
					"BTC/USD 00:02:00-00:03:00 O=90 H=90 L=90 C=90 V=0 VWAP=90 N=0 B=0 S=0 ids=0-0",
					"BTC/USD 00:03:00-00:04:00 O=110 H=110 L=110 C=110 V=1 VWAP=110 N=1 B=1 S=0 ids=3-3"),
				flush("BTC/USD 00:04:00-00:05:00 O=111 H=111 L=111 C=111 V=1 VWAP=111 N=1 B=1 S=0 ids=4-4"),
			},
			wantStats: AggregatorStats{Accepted: 3, Gaps: 1, MissingTrades: 1, Filled: 1, Repaired: 1, Corrected: 4},
		},
		{
			name: "a gap filled trade by trade completes windows as its time range narrows",
			// Gap: ids 2..4 over [00:00:10, 00:03:10]. Each fill narrows it
			// to start at the filled trade, so a window becomes complete once
			// a trade after it is filled; the last fill removes the gap.
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(5, "00:03:10", 104, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1 incomplete",
					"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete",
					"BTC/USD 00:02:00-00:03:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete"),
				add(btc(2, "00:00:20", 101, 1, buy), rep,
					"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2 incomplete repaired",
					"BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=0 VWAP=101 N=0 B=0 S=0 ids=0-0 incomplete",
					"BTC/USD 00:02:00-00:03:00 O=101 H=101 L=101 C=101 V=0 VWAP=101 N=0 B=0 S=0 ids=0-0 incomplete"),
				add(btc(3, "00:01:30", 102, 1, buy), rep,
					"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2 repaired",
					"BTC/USD 00:01:00-00:02:00 O=102 H=102 L=102 C=102 V=1 VWAP=102 N=1 B=1 S=0 ids=3-3 incomplete repaired",
					"BTC/USD 00:02:00-00:03:00 O=102 H=102 L=102 C=102 V=0 VWAP=102 N=0 B=0 S=0 ids=0-0 incomplete"),
				add(btc(4, "00:02:40", 103, 1, buy), rep,
					"BTC/USD 00:01:00-00:02:00 O=102 H=102 L=102 C=102 V=1 VWAP=102 N=1 B=1 S=0 ids=3-3 repaired",
					"BTC/USD 00:02:00-00:03:00 O=103 H=103 L=103 C=103 V=1 VWAP=103 N=1 B=1 S=0 ids=4-4 repaired"),
				flush("BTC/USD 00:03:00-00:04:00 O=104 H=104 L=104 C=104 V=1 VWAP=104 N=1 B=1 S=0 ids=5-5"),
			},
			wantStats: AggregatorStats{Accepted: 2, Gaps: 1, MissingTrades: 3, Filled: 3, Repaired: 3, Corrected: 8},
		},
		{
			name: "a fill in an open window completes the closed windows the gap overlapped",
			cfg:  AggregatorConfig{Grace: 30 * time.Second},
			// Gap: id 2 over [00:00:50, 00:01:20]; 00:00 closes incomplete.
			steps: []aggStep{
				add(btc(1, "00:00:50", 100, 1, buy), acc),
				add(btc(3, "00:01:20", 102, 1, buy), acc),
				add(btc(4, "00:01:31", 103, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1 incomplete"),
				add(btc(2, "00:01:10", 101, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1"),
				flush("BTC/USD 00:01:00-00:02:00 O=101 H=103 L=101 C=103 V=3 VWAP=102 N=3 B=3 S=0 ids=2-4 repaired"),
			},
			wantStats: AggregatorStats{Accepted: 4, Gaps: 1, MissingTrades: 1, Filled: 1, Corrected: 1},
		},
		{
			name: "a gap found after its windows closed re-emits them incomplete until filled",
			// The clock closes 00:00 and 00:01 (empty) complete; id 4 then
			// shows id 3 missing over [00:00:50, 00:02:20]: both are
			// re-emitted incomplete, as a batch over the same trades closes
			// them. Id 3 (at 00:01:30) completes them.
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(2, "00:00:50", 101, 1, buy), acc),
				adv("00:01:02", "BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2"),
				adv("00:02:02", "BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=0 VWAP=101 N=0 B=0 S=0 ids=0-0"),
				add(btc(4, "00:02:20", 103, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2 incomplete",
					"BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=0 VWAP=101 N=0 B=0 S=0 ids=0-0 incomplete"),
				add(btc(3, "00:01:30", 102, 1, sell), rep,
					"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2",
					"BTC/USD 00:01:00-00:02:00 O=102 H=102 L=102 C=102 V=1 VWAP=102 N=1 B=0 S=1 ids=3-3 repaired"),
				flush("BTC/USD 00:02:00-00:03:00 O=103 H=103 L=103 C=103 V=1 VWAP=103 N=1 B=1 S=0 ids=4-4"),
			},
			wantStats: AggregatorStats{Accepted: 3, Gaps: 1, MissingTrades: 1, Filled: 1, Repaired: 1, Corrected: 4},
		},
		{
			name: "a trade of a gap merged into a window another missing trade overlaps leaves it incomplete",
			// The clock closes 00:00..00:02 complete (00:01, 00:02 empty);
			// id 5 shows ids 2..4 missing over [00:00:10, 00:03:10]. Id 3
			// comes (id 4, at the exchange, corrupt, never will): 00:01 gets
			// its trade but id 4 may still be in it and in 00:02.
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				adv("00:03:02",
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1",
					"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0",
					"BTC/USD 00:02:00-00:03:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0"),
				add(btc(5, "00:03:10", 104, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1 incomplete",
					"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete",
					"BTC/USD 00:02:00-00:03:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete"),
				add(btc(2, "00:00:40", 101, 1, buy), rep,
					"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2 incomplete repaired",
					"BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=0 VWAP=101 N=0 B=0 S=0 ids=0-0 incomplete",
					"BTC/USD 00:02:00-00:03:00 O=101 H=101 L=101 C=101 V=0 VWAP=101 N=0 B=0 S=0 ids=0-0 incomplete"),
				add(btc(3, "00:01:20", 102, 1, buy), rep,
					"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2 repaired",
					"BTC/USD 00:01:00-00:02:00 O=102 H=102 L=102 C=102 V=1 VWAP=102 N=1 B=1 S=0 ids=3-3 incomplete repaired",
					"BTC/USD 00:02:00-00:03:00 O=102 H=102 L=102 C=102 V=0 VWAP=102 N=0 B=0 S=0 ids=0-0 incomplete"),
			},
			wantStats: AggregatorStats{Accepted: 2, Gaps: 1, MissingTrades: 3, Filled: 2, Repaired: 2, Corrected: 9},
		},
		{
			name: "windows beyond RepairWindows stay late; a late trade in a kept window is a correction",
			cfg:  AggregatorConfig{RepairWindows: 2},
			// Gap: id 2 over [00:00:10, 00:03:10]. Only 00:02 and 00:03 are
			// kept when id 2 (at 00:01:30) comes: it is late, but its id is
			// no longer missing, so the kept windows become complete. Id 6
			// extends the ids without a gap into kept window 00:03: merged.
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(3, "00:03:10", 110, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1 incomplete",
					"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete",
					"BTC/USD 00:02:00-00:03:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete"),
				add(btc(4, "00:04:10", 111, 1, buy), acc,
					"BTC/USD 00:03:00-00:04:00 O=110 H=110 L=110 C=110 V=1 VWAP=110 N=1 B=1 S=0 ids=3-3 incomplete"),
				add(btc(2, "00:01:30", 90, 1, sell), late,
					"BTC/USD 00:02:00-00:03:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0",
					"BTC/USD 00:03:00-00:04:00 O=110 H=110 L=110 C=110 V=1 VWAP=110 N=1 B=1 S=0 ids=3-3"),
				add(btc(5, "00:04:20", 112, 1, buy), acc),
				add(btc(6, "00:03:30", 1, 1, sell), OutcomeCorrected,
					"BTC/USD 00:03:00-00:04:00 O=110 H=110 L=1 C=1 V=2 VWAP=55.5 N=2 B=1 S=1 ids=3-6"),
				flush("BTC/USD 00:04:00-00:05:00 O=111 H=112 L=111 C=112 V=2 VWAP=111.5 N=2 B=2 S=0 ids=4-5"),
			},
			wantStats: AggregatorStats{Accepted: 4, Late: 1, LateMerged: 1, Gaps: 1, MissingTrades: 1, Filled: 1, Corrected: 3},
		},
		{
			name: "a window a MarkGap range overlapped stays incomplete after a repair",
			// Gap: id 2 over [00:00:10, 00:01:40]; mark [00:01:10, 00:01:20].
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(3, "00:01:40", 102, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1 incomplete"),
				mark("00:01:10", "00:01:20"),
				add(btc(4, "00:02:10", 103, 1, buy), acc,
					"BTC/USD 00:01:00-00:02:00 O=102 H=102 L=102 C=102 V=1 VWAP=102 N=1 B=1 S=0 ids=3-3 incomplete"),
				add(btc(2, "00:01:05", 101, 1, buy), rep,
					"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1",
					"BTC/USD 00:01:00-00:02:00 O=101 H=102 L=101 C=102 V=2 VWAP=101.5 N=2 B=2 S=0 ids=2-3 incomplete repaired"),
			},
			wantStats: AggregatorStats{Accepted: 3, Gaps: 2, MissingTrades: 1, Filled: 1, Repaired: 1, Corrected: 2},
		},
		{
			name: "windows a gap dropped for MaxGaps overlapped stay incomplete",
			cfg:  AggregatorConfig{MaxGaps: 1},
			// Gap id 2 over [00:00:10, 00:00:20] is dropped when gap id 4
			// over [00:00:20, 00:01:30] opens: id 2 will never be merged, so
			// 00:00 stays incomplete when id 4 repairs it; 00:01 completes.
			steps: []aggStep{
				add(btc(1, "00:00:10", 100, 1, buy), acc),
				add(btc(3, "00:00:20", 101, 1, buy), acc),
				add(btc(5, "00:01:30", 103, 1, buy), acc,
					"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-3 incomplete"),
				add(btc(6, "00:02:10", 104, 1, buy), acc,
					"BTC/USD 00:01:00-00:02:00 O=103 H=103 L=103 C=103 V=1 VWAP=103 N=1 B=1 S=0 ids=5-5 incomplete"),
				add(btc(4, "00:00:50", 102, 1, buy), rep,
					"BTC/USD 00:00:00-00:01:00 O=100 H=102 L=100 C=102 V=3 VWAP=101 N=3 B=3 S=0 ids=1-4 incomplete repaired",
					"BTC/USD 00:01:00-00:02:00 O=103 H=103 L=103 C=103 V=1 VWAP=103 N=1 B=1 S=0 ids=5-5"),
				add(btc(2, "00:00:15", 99, 1, sell), dup), // dropped gap: counts as seen
			},
			wantStats: AggregatorStats{Accepted: 4, Duplicates: 1, Gaps: 2, MissingTrades: 2, Filled: 1, Repaired: 1, Corrected: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := runSteps(t, tt.cfg, tt.steps)
			if got := a.Stats(); got != tt.wantStats {
				t.Errorf("stats %+v, want %+v", got, tt.wantStats)
			}
		})
	}
}

// A corrected candle is re-emitted with what is known now: a late trade
// merged into a window that closed complete, while an outage the input
// opened since overlaps it, gives an incomplete candle, complete again
// once the outage is resolved.
func TestAggregatorCorrectionKnowsOpenOutage(t *testing.T) {
	a, err := NewAggregator(AggregatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Add(btc(1, "00:00:10", 100, 1, SideBuy), nil); err != nil {
		t.Fatal(err)
	}
	if got := showAll(a.Advance(at("00:01:02"), nil)); len(got) != 1 || strings.Contains(got[0], "incomplete") {
		t.Fatalf("closed %v, want 00:00 complete", got)
	}
	a.OpenOutage("BTC/USD", 7, at("00:00:30"), time.Time{}, 0)
	out, o, err := a.Add(btc(2, "00:00:40", 101, 1, SideBuy), nil)
	if want := "BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2 incomplete"; err != nil || o != OutcomeCorrected ||
		fmt.Sprint(showAll(out)) != "["+want+"]" {
		t.Fatalf("late trade during the outage: %v %v %v, want %s", showAll(out), o, err, want)
	}
	if got := showAll(a.ResolveOutage("BTC/USD", 7, nil)); len(got) != 1 || strings.Contains(got[0], "incomplete") {
		t.Fatalf("outage resolved: %v, want 00:00 complete", got)
	}
}

func TestAggregatorMaxGapsDropsOldest(t *testing.T) {
	const buy = SideBuy
	acc, dup := OutcomeAccepted, OutcomeDuplicate
	// Three gaps (ids 2, 4, 6) with room for two: the gap of id 2 is
	// forgotten, so id 2 now counts as seen; ids 4 and 6 are still missing.
	a := runSteps(t, AggregatorConfig{Interval: time.Minute, Grace: time.Hour, MaxGaps: 2}, []aggStep{
		add(btc(1, "00:00:01", 100, 1, buy), acc),
		add(btc(3, "00:00:03", 100, 1, buy), acc),
		add(btc(5, "00:00:05", 100, 1, buy), acc),
		add(btc(7, "00:00:07", 100, 1, buy), acc),
		add(btc(2, "00:00:02", 100, 1, buy), dup),
		add(btc(4, "00:00:04", 100, 1, buy), acc),
		add(btc(6, "00:00:06", 100, 1, buy), acc),
	})
	want := AggregatorStats{Accepted: 6, Duplicates: 1, Gaps: 3, MissingTrades: 3, Filled: 2}
	if got := a.Stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

func TestAggregatorMarkGapEdges(t *testing.T) {
	acc := OutcomeAccepted
	a := runSteps(t, AggregatorConfig{MaxGaps: 1}, []aggStep{
		add(btc(0, "00:00:10", 100, 1, SideBuy), acc),
		mark("00:02:10", "00:02:20"),
		mark("00:03:30", "00:03:10"), // reversed: [00:03:10, 00:03:30]; MaxGaps 1 forgets the first
		add(btc(0, "00:04:10", 101, 1, SideBuy), acc,
			"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=0-0",
			"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0",
			"BTC/USD 00:02:00-00:03:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0",
			"BTC/USD 00:03:00-00:04:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete"),
	})
	a.MarkGap("", at("00:00:00"), at("01:00:00")) // no pair: ignored
	if got := a.Stats(); got != (AggregatorStats{Accepted: 2, Gaps: 2}) {
		t.Errorf("stats %+v", got)
	}
}

func TestAggregatorPairsAreIndependent(t *testing.T) {
	a, err := NewAggregator(AggregatorConfig{Interval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	eth := func(id int64, hms string, price float64) Trade {
		tr := btc(id, hms, price, 1, SideBuy)
		tr.Pair = "ETH/USD"
		return tr
	}
	var out []Candle
	for _, tr := range []Trade{
		btc(1, "00:00:10", 100, 1, SideBuy), eth(1, "00:00:20", 10), // same id, other pair: not a duplicate
		btc(2, "00:02:10", 101, 1, SideBuy), eth(5, "00:00:30", 11), // BTC's watermark does not close ETH
	} {
		var o Outcome
		out, o, err = a.Add(tr, out)
		if err != nil || o != OutcomeAccepted {
			t.Fatalf("Add %s/%d: %v %v", tr.Pair, tr.TradeID, o, err)
		}
	}
	out = a.Advance(at("00:01:00"), out)
	want := []string{
		"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1",
		"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0",
		"ETH/USD 00:00:00-00:01:00 O=10 H=11 L=10 C=11 V=2 VWAP=10.5 N=2 B=2 S=0 ids=1-5 incomplete",
	}
	if got := showAll(out); !slices.Equal(got, want) {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func TestAggregatorInvalidTrades(t *testing.T) {
	good := btc(1, "00:00:10", 100, 1, SideBuy)
	tests := []struct {
		name string
		edit func(*Trade)
	}{
		{"NaN price", func(t *Trade) { t.Price = math.NaN() }},
		{"negative price", func(t *Trade) { t.Price = -1 }},
		{"zero price", func(t *Trade) { t.Price = 0 }},
		{"infinite qty", func(t *Trade) { t.Qty = math.Inf(1) }},
		{"NaN qty", func(t *Trade) { t.Qty = math.NaN() }},
		{"negative qty", func(t *Trade) { t.Qty = -0.5 }},
		{"negative trade_id", func(t *Trade) { t.TradeID = -3 }},
		{"zero ts", func(t *Trade) { t.TS = time.Time{} }},
		{"ts before 1970", func(t *Trade) { t.TS = time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC) }},
		{"ts after 2262", func(t *Trade) { t.TS = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"empty pair", func(t *Trade) { t.Pair = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := NewAggregator(AggregatorConfig{})
			bad := good
			tt.edit(&bad)
			out, o, err := a.Add(bad, nil)
			if !errors.Is(err, ErrInvalid) || o != OutcomeInvalid || len(out) != 0 {
				t.Fatalf("Add = %v, %v, %v; want OutcomeInvalid and ErrInvalid", out, o, err)
			}
			if got := a.Stats(); got != (AggregatorStats{Invalid: 1}) {
				t.Errorf("stats %+v, want only Invalid=1", got)
			}
			if got := a.Advance(at("23:00:00"), nil); len(got) != 0 {
				t.Errorf("an invalid trade opened a window: %v", showAll(got))
			}
		})
	}
}

func TestAggregatorIntervals(t *testing.T) {
	// From 10:20:30.25 on day 1 to 01:00 (a window boundary) on day 3.
	first := time.Date(2024, 1, 1, 10, 20, 30, 250e6, time.UTC)
	last := time.Date(2024, 1, 3, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		interval  time.Duration
		wantCount int
		wantFirst time.Time
	}{
		{time.Second, 139171, time.Date(2024, 1, 1, 10, 20, 30, 0, time.UTC)},
		{time.Minute, 2321, time.Date(2024, 1, 1, 10, 20, 0, 0, time.UTC)},
		{15 * time.Minute, 156, time.Date(2024, 1, 1, 10, 15, 0, 0, time.UTC)},
		{time.Hour, 40, time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)},
		{24 * time.Hour, 3, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.interval.String(), func(t *testing.T) {
			a, err := NewAggregator(AggregatorConfig{Interval: tt.interval})
			if err != nil {
				t.Fatal(err)
			}
			var out []Candle
			for i, ts := range []time.Time{first, last} {
				tr := Trade{Pair: "BTC/USD", TradeID: int64(i + 1), Price: float64(100 + i), Qty: 1, Side: SideBuy, TS: ts}
				if out, _, err = a.Add(tr, out); err != nil {
					t.Fatal(err)
				}
			}
			out = a.Flush(out)
			checkGrid(t, out, tt.interval, tt.wantFirst, tt.wantCount)
			if lc := out[len(out)-1]; !lc.Start.Equal(last.Truncate(tt.interval)) || lc.Close != 101 || lc.Trades != 1 {
				t.Errorf("last candle %s, want the trade at %v", show(lc), last)
			}
		})
	}
}

// checkGrid checks that candles form the contiguous, aligned UTC grid of
// count windows of length iv starting at first.
func checkGrid(t *testing.T, cs []Candle, iv time.Duration, first time.Time, count int) {
	t.Helper()
	if len(cs) != count {
		t.Fatalf("%d candles, want %d", len(cs), count)
	}
	for i, c := range cs {
		want := first.Add(time.Duration(i) * iv)
		if !c.Start.Equal(want) || !c.End.Equal(want.Add(iv)) || c.Start.Location() != time.UTC {
			t.Fatalf("candle %d: [%v, %v), want [%v, %v) UTC", i, c.Start, c.End, want, want.Add(iv))
		}
	}
}

func TestAggregatorConfigValidate(t *testing.T) {
	tests := []struct {
		cfg AggregatorConfig
		ok  bool
	}{
		{AggregatorConfig{}, true}, // defaults: 1m, grace 0, 1024 gaps
		{AggregatorConfig{Interval: time.Second}, true},
		{AggregatorConfig{Interval: 5 * time.Minute, Grace: 2 * time.Second}, true},
		{AggregatorConfig{Interval: 24 * time.Hour, Grace: 24*time.Hour - 1}, true},
		{AggregatorConfig{Interval: 8 * time.Hour}, true},
		{AggregatorConfig{MaxGaps: 1}, true},
		{AggregatorConfig{Interval: -time.Minute}, false},
		{AggregatorConfig{Interval: 500 * time.Millisecond}, false},
		{AggregatorConfig{Interval: 1500 * time.Millisecond}, false}, // not whole seconds
		{AggregatorConfig{Interval: 7 * time.Second}, false},         // does not divide a day
		{AggregatorConfig{Interval: 7 * time.Hour}, false},
		{AggregatorConfig{Interval: 48 * time.Hour}, false},
		{AggregatorConfig{Grace: -time.Second}, false},
		{AggregatorConfig{Grace: 24 * time.Hour}, false},
		{AggregatorConfig{MaxGaps: -1}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.cfg), func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if _, err := NewAggregator(tt.cfg); (err == nil) != tt.ok {
				t.Fatalf("NewAggregator: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{
		OutcomeAccepted: "accepted", OutcomeDuplicate: "duplicate", OutcomeLate: "late",
		OutcomeInvalid: "invalid", OutcomeRepaired: "repaired", Outcome(9): "outcome(9)",
	} {
		if got := o.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", o, got, want)
		}
	}
}

// minuteBar is a candle computed straight from the CSV rows of the real file.
type minuteBar struct {
	open, high, low, close, volume, pv, buy, sell float64
	trades                                        int64
	first, last                                   int64
}

// groupByMinute reads the real file with its own parser (not loadKrakenTrades)
// and groups rows by minute; rows are in time order, ids are row numbers.
func groupByMinute(t *testing.T) map[int64]*minuteBar {
	f, err := os.Open(realdata.Path(t, realdata.KrakenTrades1h))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	bars := map[int64]*minuteBar{}
	for i, r := range rows[1:] {
		ms, _ := strconv.ParseInt(r[0], 10, 64)
		p, _ := strconv.ParseFloat(r[2], 64)
		q, _ := strconv.ParseFloat(r[3], 64)
		b, ok := bars[ms/60000]
		if !ok {
			b = &minuteBar{open: p, high: p, low: p, first: int64(i + 1)}
			bars[ms/60000] = b
		}
		b.high, b.low, b.close = max(b.high, p), min(b.low, p), p
		b.volume += q
		b.pv += p * q
		b.trades++
		b.last = int64(i + 1)
		if r[4] == "buy" {
			b.buy += q
		} else {
			b.sell += q
		}
	}
	return bars
}

func TestAggregatorRealKrakenHour(t *testing.T) {
	trades := loadKrakenTrades(t)
	bars := groupByMinute(t)
	a, err := NewAggregator(AggregatorConfig{Interval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var out []Candle
	for _, tr := range trades {
		if out, _, err = a.Add(tr, out); err != nil {
			t.Fatal(err)
		}
	}
	out = a.Flush(out)
	checkGrid(t, out, time.Minute, time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC), 60)
	for _, c := range out {
		b := bars[c.Start.UnixMilli()/60000]
		if b == nil {
			t.Fatalf("candle %s: no rows in that minute", show(c))
		}
		checkBar(t, c, b)
	}
	want := AggregatorStats{Accepted: int64(len(trades))}
	if got := a.Stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

func checkBar(t *testing.T, c Candle, b *minuteBar) {
	t.Helper()
	same := c.Open == b.open && c.High == b.high && c.Low == b.low && c.Close == b.close &&
		c.Trades == b.trades && c.FirstTradeID == b.first && c.LastTradeID == b.last && c.Complete && !c.Repaired
	sums := near(c.Volume, b.volume) && near(c.BuyVolume, b.buy) && near(c.SellVolume, b.sell) && near(c.VWAP, b.pv/b.volume)
	if !same || !sums {
		t.Errorf("candle %s\nwant %+v", show(c), *b)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// TestAggregatorOutOfOrderRealData delays every real trade by a random 0..4s
// and aggregates with 5s of grace: the candles must equal those of the
// ordered stream. Out-of-order ids open gaps that close some windows with
// Complete=false; the later ids fill them and those candles are re-emitted
// complete, so the latest version of every candle is complete.
func TestAggregatorOutOfOrderRealData(t *testing.T) {
	for _, cfg := range []AggregatorConfig{
		{Interval: time.Minute, Grace: 5 * time.Second},
		{Interval: time.Second, Grace: 5 * time.Second},
		{Interval: time.Second, Grace: 10 * time.Minute}, // hundreds of open windows
	} {
		t.Run(fmt.Sprintf("%v+%v", cfg.Interval, cfg.Grace), func(t *testing.T) {
			testOutOfOrder(t, loadKrakenTrades(t), cfg)
		})
	}
}

func testOutOfOrder(t *testing.T, trades []Trade, cfg AggregatorConfig) {
	ordered := aggregateAll(t, trades, cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	type arrival struct {
		at time.Time
		t  Trade
	}
	arrivals := make([]arrival, len(trades))
	for i, tr := range trades {
		arrivals[i] = arrival{tr.TS.Add(time.Duration(rng.Int64N(int64(4 * time.Second)))), tr}
	}
	slices.SortStableFunc(arrivals, func(x, y arrival) int { return x.at.Compare(y.at) })
	shuffled := make([]Trade, len(arrivals))
	for i, ar := range arrivals {
		shuffled[i] = ar.t
	}
	if slices.EqualFunc(trades, shuffled, func(x, y Trade) bool { return x.TradeID == y.TradeID }) {
		t.Fatal("the shuffle did not reorder anything")
	}
	got := aggregateAll(t, shuffled, cfg)
	if len(got) != len(ordered) {
		t.Fatalf("%d candles, want %d", len(got), len(ordered))
	}
	for i := range got {
		g, w := got[i], ordered[i]
		if !sameBar(g, w) || !g.Complete {
			t.Errorf("candle %d:\n got %s\nwant %s", i, show(g), show(w))
		}
	}
}

// sameBar compares all but the flags, sums to rounding (their order differs).
func sameBar(g, w Candle) bool {
	return g.Start.Equal(w.Start) && g.End.Equal(w.End) && g.Open == w.Open && g.High == w.High &&
		g.Low == w.Low && g.Close == w.Close && g.Trades == w.Trades &&
		g.FirstTradeID == w.FirstTradeID && g.LastTradeID == w.LastTradeID &&
		near(g.Volume, w.Volume) && near(g.VWAP, w.VWAP) && near(g.BuyVolume, w.BuyVolume) && near(g.SellVolume, w.SellVolume)
}

// aggregateAll returns the latest version of every candle, in Start order,
// as a store keyed by start keeps them.
func aggregateAll(t *testing.T, trades []Trade, cfg AggregatorConfig) []Candle {
	t.Helper()
	a, err := NewAggregator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []Candle
	for _, tr := range trades {
		var o Outcome
		if out, o, err = a.Add(tr, out); err != nil || o != OutcomeAccepted {
			t.Fatalf("trade %d: %v %v", tr.TradeID, o, err)
		}
	}
	return latestByStart(t, a.Flush(out))
}

// latestByStart folds re-emitted candles into the first emission's place,
// checking that a correction never precedes its original.
func latestByStart(t *testing.T, cs []Candle) []Candle {
	t.Helper()
	var out []Candle
	at := map[time.Time]int{}
	for _, c := range cs {
		i, ok := at[c.Start]
		switch {
		case ok:
			out[i] = c
		case len(out) > 0 && !c.Start.After(out[len(out)-1].Start):
			t.Fatalf("candle %s emitted after a later one", show(c))
		default:
			at[c.Start] = len(out)
			out = append(out, c)
		}
	}
	return out
}

func TestAggregatorAddDoesNotAllocate(t *testing.T) {
	trades := loadKrakenTrades(t)
	a, err := NewAggregator(AggregatorConfig{Interval: time.Minute, Grace: DefaultGrace})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Candle, 0, 16)
	i := 0
	allocs := testing.AllocsPerRun(len(trades)-1, func() {
		out, _, err = a.Add(trades[i], out[:0])
		i++
	})
	if err != nil || allocs != 0 {
		t.Errorf("Add: %v allocs/op (err %v), want 0", allocs, err)
	}
}

// TestAggregatorRepairRealData drops ranges of real trades, as a dropped
// connection does, and delivers each range again in id order, as REST repair
// does, `delay` trades after the stream resumed (windows still open, closed,
// or every window flushed). The latest version of every candle must equal
// the candle of the uninterrupted stream, complete, and repaired exactly
// where trades were missing.
func TestAggregatorRepairRealData(t *testing.T) {
	trades := loadKrakenTrades(t)
	cfg := AggregatorConfig{Interval: time.Minute, Grace: DefaultGrace}
	ordered := aggregateAll(t, trades, cfg)
	type outage struct{ from, to int } // trade indexes [from, to)
	outages := []outage{{400, 520}, {1000, 1120}, {2500, 2510}}
	repaired, missed := map[time.Time]bool{}, map[int]bool{}
	for _, o := range outages {
		for i := o.from; i < o.to; i++ {
			repaired[trades[i].TS.Truncate(time.Minute)], missed[i] = true, true
		}
	}
	for _, delay := range []int{0, 50, 500, len(trades)} {
		t.Run(fmt.Sprintf("delay=%d", delay), func(t *testing.T) {
			a, err := NewAggregator(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var out []Candle
			feed := func(trs []Trade) {
				for _, tr := range trs {
					var o Outcome
					if out, o, err = a.Add(tr, out); err != nil || (o != OutcomeAccepted && o != OutcomeRepaired) {
						t.Fatalf("trade %d: %v %v", tr.TradeID, o, err)
					}
				}
			}
			pending := outages
			for i := range trades {
				if missed[i] {
					continue
				}
				feed(trades[i : i+1])
				if len(pending) > 0 && i >= pending[0].to+delay {
					feed(trades[pending[0].from:pending[0].to])
					pending = pending[1:]
				}
			}
			out = a.Flush(out)
			for _, o := range pending {
				feed(trades[o.from:o.to])
			}
			got := latestByStart(t, out)
			if len(got) != len(ordered) {
				t.Fatalf("%d candles, want %d", len(got), len(ordered))
			}
			for i, c := range got {
				if !sameBar(c, ordered[i]) || !c.Complete || c.Repaired != repaired[c.Start] {
					t.Errorf("candle %d:\n got %s\nwant %s (repaired=%v)", i, show(c), show(ordered[i]), repaired[c.Start])
				}
			}
			st := a.Stats()
			if st.Filled != 250 || st.MissingTrades != 250 || st.Accepted+st.Repaired != int64(len(trades)) ||
				(delay >= 500 && (st.Repaired == 0 || st.Corrected == 0)) {
				t.Errorf("stats %+v", st)
			}
			t.Logf("%d emitted, %d corrections; stats %+v", len(out), len(out)-len(got), st)
		})
	}
}
