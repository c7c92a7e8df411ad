package market

import (
	"testing"
	"time"
)

// The trades here are hand-written fixtures: the ids and times that make a
// gap, not market data.
func TestGapsOpen(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	trade := func(id int64, at time.Duration) Trade {
		return Trade{Pair: "ETH/USDT", TradeID: id, TS: t0.Add(at), Price: 100, Qty: 1, Side: SideBuy}
	}
	open := func(a *Aggregator) bool {
		for pair, o := range a.GapsOpen() {
			if pair == "ETH/USDT" {
				return o
			}
		}
		return false
	}
	a, err := NewAggregator(AggregatorConfig{Interval: time.Minute, Grace: time.Second, RepairWindows: 3})
	if err != nil {
		t.Fatal(err)
	}
	add := func(tr Trade) {
		t.Helper()
		if _, _, err := a.Add(tr, nil); err != nil {
			t.Fatal(err)
		}
	}
	add(trade(1, 0))
	if open(a) {
		t.Fatal("open gap after one trade")
	}
	add(trade(5, 10*time.Second)) // ids 2..4 missing
	if !open(a) {
		t.Fatal("trade_id gap not open")
	}
	for id := int64(2); id <= 4; id++ {
		add(trade(id, 5*time.Second))
	}
	if open(a) {
		t.Fatal("gap still open after its trades came")
	}
	add(trade(7, 20*time.Second)) // id 6 missing, never comes
	if !open(a) {
		t.Fatal("second gap not open")
	}
	add(trade(8, 10*time.Minute)) // the gap's window falls out of the correction horizon
	if open(a) {
		t.Fatal("gap older than the correction horizon still open")
	}
	a.OpenOutage("ETH/USDT", 1, t0.Add(10*time.Minute), time.Time{}, 0)
	if !open(a) {
		t.Fatal("outage not open")
	}
	a.ResolveOutage("ETH/USDT", 1, nil)
	if open(a) {
		t.Fatal("resolved outage still open")
	}
}
