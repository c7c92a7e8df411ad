package market

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fixtures below are hand-written (times on 2024-01-01 UTC); the last
// test replays the real trade hour.

// showRev is show with the revision.
func showRev(cs []Candle) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s rev=%d", show(c), c.Revision)
	}
	return out
}

type outageStep struct {
	name string
	do   func(a *Aggregator) ([]Candle, Outcome)
	want []string
	// outcome is checked for trades only.
	outcome Outcome
}

func addT(t Trade, o Outcome, want ...string) outageStep {
	return outageStep{name: fmt.Sprintf("add %d", t.TradeID), outcome: o, want: want, do: func(a *Aggregator) ([]Candle, Outcome) {
		out, o, err := a.Add(t, nil)
		if err != nil {
			panic(err)
		}
		return out, o
	}}
}

func runOutageSteps(t *testing.T, steps []outageStep) *Aggregator {
	t.Helper()
	a, err := NewAggregator(AggregatorConfig{Grace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		out, o := s.do(a)
		if strings.HasPrefix(s.name, "add") && o != s.outcome {
			t.Fatalf("step %d (%s): outcome %v, want %v", i, s.name, o, s.outcome)
		}
		if got := showRev(out); !slices.Equal(got, s.want) {
			t.Fatalf("step %d (%s) emitted\n\t%s\nwant\n\t%s", i, s.name, strings.Join(got, "\n\t"), strings.Join(s.want, "\n\t"))
		}
	}
	return a
}

func openO(id int64, from, to string, prev float64) outageStep {
	return outageStep{name: "open", do: func(a *Aggregator) ([]Candle, Outcome) {
		var t time.Time
		if to != "" {
			t = at(to)
		}
		a.OpenOutage("BTC/USD", id, at(from), t, prev)
		return nil, 0
	}}
}

func resolveO(id int64, want ...string) outageStep {
	return outageStep{name: "resolve", want: want, do: func(a *Aggregator) ([]Candle, Outcome) {
		return a.ResolveOutage("BTC/USD", id, nil), 0
	}}
}

func advO(hms string, want ...string) outageStep {
	return outageStep{name: "advance " + hms, want: want, do: func(a *Aggregator) ([]Candle, Outcome) {
		return a.Advance(at(hms), nil), 0
	}}
}

func TestOutageWindowsIncompleteUntilResolved(t *testing.T) {
	const buy, sell = SideBuy, SideSell
	corr := OutcomeCorrected
	a := runOutageSteps(t, []outageStep{
		addT(btc(1, "00:00:10", 100, 1, buy), OutcomeAccepted),
		addT(btc(2, "00:00:50", 101, 1, buy), OutcomeAccepted),
		// The connection drops after id 2; the exchange clock runs on.
		openO(7, "00:00:50", "", 0),
		advO("00:03:05",
			"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2 incomplete rev=0",
			"BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=0 VWAP=101 N=0 B=0 S=0 ids=0-0 incomplete rev=0",
			"BTC/USD 00:02:00-00:03:00 O=101 H=101 L=101 C=101 V=0 VWAP=101 N=0 B=0 S=0 ids=0-0 incomplete rev=0"),
		// Reconnected: the snapshot starts at id 3, so nothing is missing.
		// Its trades went into windows that closed meanwhile: corrections,
		// never late, still incomplete while the outage is open.
		addT(btc(3, "00:01:30", 99, 2, sell), corr,
			"BTC/USD 00:01:00-00:02:00 O=99 H=99 L=99 C=99 V=2 VWAP=99 N=1 B=0 S=2 ids=3-3 incomplete rev=1",
			"BTC/USD 00:02:00-00:03:00 O=99 H=99 L=99 C=99 V=0 VWAP=99 N=0 B=0 S=0 ids=0-0 incomplete rev=1"),
		addT(btc(4, "00:02:40", 98, 1, sell), corr,
			"BTC/USD 00:02:00-00:03:00 O=98 H=98 L=98 C=98 V=1 VWAP=98 N=1 B=0 S=1 ids=4-4 incomplete rev=2"),
		resolveO(7,
			"BTC/USD 00:00:00-00:01:00 O=100 H=101 L=100 C=101 V=2 VWAP=100.5 N=2 B=2 S=0 ids=1-2 rev=1",
			"BTC/USD 00:01:00-00:02:00 O=99 H=99 L=99 C=99 V=2 VWAP=99 N=1 B=0 S=2 ids=3-3 rev=2",
			"BTC/USD 00:02:00-00:03:00 O=98 H=98 L=98 C=98 V=1 VWAP=98 N=1 B=0 S=1 ids=4-4 rev=3"),
	})
	if s := a.Stats(); s.Outages != 1 || s.LateMerged != 2 || s.Late != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOutageMissingIDsStayIncompleteUntilFilled(t *testing.T) {
	const buy = SideBuy
	runOutageSteps(t, []outageStep{
		addT(btc(1, "00:00:10", 100, 1, buy), OutcomeAccepted),
		openO(1, "00:00:10", "", 0),
		advO("00:02:05",
			"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1 incomplete rev=0",
			"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete rev=0"),
		// More than a snapshot happened: the first trade back is id 4, so
		// ids 2..3 are missing somewhere in [00:00:10, 00:02:10]. Resolving
		// the outage completes nothing the gap covers.
		addT(btc(4, "00:02:10", 104, 1, buy), OutcomeAccepted),
		resolveO(1),
		// REST repairs id 2 (00:00:40): id 3 may still lie in either window.
		addT(btc(2, "00:00:40", 102, 1, buy), OutcomeRepaired,
			"BTC/USD 00:00:00-00:01:00 O=100 H=102 L=100 C=102 V=2 VWAP=101 N=2 B=2 S=0 ids=1-2 incomplete repaired rev=1",
			"BTC/USD 00:01:00-00:02:00 O=102 H=102 L=102 C=102 V=0 VWAP=102 N=0 B=0 S=0 ids=0-0 incomplete rev=1"),
		addT(btc(3, "00:01:20", 103, 1, buy), OutcomeRepaired,
			"BTC/USD 00:00:00-00:01:00 O=100 H=102 L=100 C=102 V=2 VWAP=101 N=2 B=2 S=0 ids=1-2 repaired rev=2",
			"BTC/USD 00:01:00-00:02:00 O=103 H=103 L=103 C=103 V=1 VWAP=103 N=1 B=1 S=0 ids=3-3 repaired rev=2"),
	})
}

func TestOutageStartsAPairAtItsRepairWindow(t *testing.T) {
	const buy = SideBuy
	a := runOutageSteps(t, []outageStep{
		// A restart: the store's last trade was at 00:00:20 at 100; the
		// stream's first trade is id 5 at 00:02:30. Trades since 00:00:00
		// are being fetched from REST.
		openO(3, "00:00:00", "00:02:30", 100),
		addT(btc(5, "00:02:30", 105, 1, buy), OutcomeAccepted,
			"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete rev=0",
			"BTC/USD 00:01:00-00:02:00 O=100 H=100 L=100 C=100 V=0 VWAP=100 N=0 B=0 S=0 ids=0-0 incomplete rev=0"),
		// REST's trades, oldest first: id 1 opens a gap below id 5, which
		// the others fill.
		addT(btc(1, "00:00:20", 100, 1, buy), OutcomeCorrected,
			"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1 incomplete rev=1"),
		addT(btc(2, "00:01:10", 101, 1, buy), OutcomeRepaired,
			"BTC/USD 00:01:00-00:02:00 O=101 H=101 L=101 C=101 V=1 VWAP=101 N=1 B=1 S=0 ids=2-2 incomplete repaired rev=1"),
		addT(btc(3, "00:01:20", 102, 1, buy), OutcomeRepaired,
			"BTC/USD 00:01:00-00:02:00 O=101 H=102 L=101 C=102 V=2 VWAP=101.5 N=2 B=2 S=0 ids=2-3 incomplete repaired rev=2"),
		addT(btc(4, "00:02:10", 104, 1, buy), OutcomeAccepted),
		resolveO(3,
			"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1 rev=2",
			"BTC/USD 00:01:00-00:02:00 O=101 H=102 L=101 C=102 V=2 VWAP=101.5 N=2 B=2 S=0 ids=2-3 repaired rev=3"),
		advO("00:03:02",
			"BTC/USD 00:02:00-00:03:00 O=104 H=105 L=104 C=105 V=2 VWAP=104.5 N=2 B=2 S=0 ids=4-5 repaired rev=0"),
	})
	if n := a.OpenOutages("BTC/USD"); n != 0 {
		t.Fatalf("%d outages still open", n)
	}
}

func TestAbandonedOutageStaysIncomplete(t *testing.T) {
	const buy = SideBuy
	runOutageSteps(t, []outageStep{
		addT(btc(1, "00:00:10", 100, 1, buy), OutcomeAccepted),
		openO(1, "00:00:30", "", 0),
		advO("00:01:05",
			"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=100 C=100 V=1 VWAP=100 N=1 B=1 S=0 ids=1-1 incomplete rev=0"),
		{name: "abandon", do: func(a *Aggregator) ([]Candle, Outcome) {
			a.AbandonOutage("BTC/USD", 1, at("00:01:30"))
			return nil, 0
		}},
		// A late trade merges, but the window stays incomplete: the outage's
		// trades were never fetched.
		addT(btc(2, "00:00:40", 99, 1, buy), OutcomeCorrected,
			"BTC/USD 00:00:00-00:01:00 O=100 H=100 L=99 C=99 V=2 VWAP=99.5 N=2 B=2 S=0 ids=1-2 incomplete rev=1"),
		addT(btc(3, "00:01:40", 98, 1, buy), OutcomeAccepted),
		advO("00:02:05",
			"BTC/USD 00:01:00-00:02:00 O=98 H=98 L=98 C=98 V=1 VWAP=98 N=1 B=1 S=0 ids=3-3 incomplete rev=0"),
		advO("00:03:05",
			"BTC/USD 00:02:00-00:03:00 O=98 H=98 L=98 C=98 V=0 VWAP=98 N=0 B=0 S=0 ids=0-0 rev=0"),
	})
}

// TestOutagesOnRealTrades replays the real trade hour with disconnects while
// the clock runs on: outages of random length, snapshots of the last 50
// trades on reconnect (an id gap when more were missed, repaired later from
// "REST"). Every candle emitted complete must hold all of its trades, and the
// latest revision of every window must equal the candles of the trades
// aggregated in order.
func TestOutagesOnRealTrades(t *testing.T) {
	trades := loadKrakenTrades(t)
	cfg := AggregatorConfig{Interval: time.Minute, Grace: 2 * time.Second}
	want := aggregateAll(t, trades, cfg)
	wantN := map[int64]int64{}
	for _, c := range want {
		wantN[c.Start.UnixNano()] = c.Trades
	}
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			a, err := NewAggregator(cfg)
			if err != nil {
				t.Fatal(err)
			}
			latest := map[int64]Candle{}
			check := func(cs []Candle) {
				for _, c := range cs {
					k := c.Start.UnixNano()
					if prev, ok := latest[k]; ok && c.Revision <= prev.Revision {
						t.Fatalf("%s re-emitted at revision %d after %d", c.Start, c.Revision, prev.Revision)
					}
					if c.Complete && c.Trades != wantN[k] {
						t.Fatalf("%s complete with %d of %d trades", c.Start.Format(time.TimeOnly), c.Trades, wantN[k])
					}
					latest[k] = c
				}
			}
			var repairs []Trade
			outage := int64(0)
			for i := 0; i < len(trades); {
				tr := trades[i]
				out, _, err := a.Add(tr, nil)
				if err != nil {
					t.Fatal(err)
				}
				check(out)
				i++
				if rng.IntN(40) != 0 || i == len(trades) {
					if len(repairs) > 0 && rng.IntN(5) == 0 { // REST answers
						for _, r := range repairs {
							out, _, _ := a.Add(r, nil)
							check(out)
						}
						repairs = nil
					}
					continue
				}
				// Disconnect after tr; away for 5..180 s of exchange time.
				outage++
				a.OpenOutage(tr.Pair, outage, tr.TS, time.Time{}, 0)
				back := tr.TS.Add(time.Duration(5+rng.IntN(176)) * time.Second)
				check(a.Advance(back, nil))
				j := i
				for j < len(trades) && !trades[j].TS.After(back) {
					j++
				}
				snap := max(i, j-50) // the last 50 trades happened before reconnect
				if snap > i {
					repairs = append(repairs, trades[i:snap]...)
				}
				for _, s := range trades[snap:j] { // the snapshot, then the outage is over
					out, _, _ := a.Add(s, nil)
					check(out)
				}
				check(a.ResolveOutage(tr.Pair, outage, nil))
				i = j
			}
			for _, r := range repairs {
				out, _, _ := a.Add(r, nil)
				check(out)
			}
			check(a.Flush(nil))
			end := want[len(want)-1].End
			for k, c := range latest { // the clock ran past the hour during an outage
				if _, ok := wantN[k]; !ok && (c.Trades != 0 || c.Start.Before(end)) {
					t.Fatalf("unexpected window %s", show(c))
				}
			}
			for _, w := range want {
				got := latest[w.Start.UnixNano()]
				got.Revision, got.Repaired = 0, false
				if !got.Complete || !candlesClose(got, w) {
					t.Fatalf("window %s:\n got %s\nwant %s", w.Start.Format(time.TimeOnly), show(got), show(w))
				}
			}
			if s := a.Stats(); s.Late != 0 {
				t.Fatalf("%d trades late", s.Late)
			}
		})
	}
}

// candlesClose compares candles, volumes to rounding (trades merged in
// another order sum in another order).
func candlesClose(a, b Candle) bool {
	near := func(x, y float64) bool { return x == y || (x-y)*(x-y) <= 1e-18*(x*x+y*y) }
	return a.Pair == b.Pair && a.Start.Equal(b.Start) && a.End.Equal(b.End) &&
		a.Open == b.Open && a.High == b.High && a.Low == b.Low && a.Close == b.Close &&
		near(a.Volume, b.Volume) && near(a.VWAP, b.VWAP) && near(a.BuyVolume, b.BuyVolume) &&
		near(a.SellVolume, b.SellVolume) && a.Trades == b.Trades &&
		a.FirstTradeID == b.FirstTradeID && a.LastTradeID == b.LastTradeID && a.Complete == b.Complete
}
