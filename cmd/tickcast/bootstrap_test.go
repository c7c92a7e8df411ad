package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

func TestParseHorizons(t *testing.T) {
	for in, want := range map[string][]int{"1,5": {1, 5}, "5, 1,5": {1, 5}, "60": {60}} {
		b := bootFlags{horizons: in}
		got, err := b.parseHorizons()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "1441", "x", "1,-2"} {
		b := bootFlags{horizons: in}
		if _, err := b.parseHorizons(); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}

// Live, the top-up backfill starts where the store's candles end (or
// --backfill-days back when it holds none) and ends at the current minute.
func TestTopUpRequest(t *testing.T) {
	dir := t.TempDir()
	f := &runFlags{dataDir: dir, boot: bootFlags{backfillDays: 7}}
	now := time.Date(2025, 8, 18, 12, 30, 40, 0, time.UTC)
	req, ok := topUpRequest(f, &runPlan{live: true, pairs: []string{"BTC/USD"}}, now)
	if !ok || !req.From.Equal(now.Truncate(time.Minute).AddDate(0, 0, -7)) || !req.To.Equal(now.Truncate(time.Minute)) ||
		req.Source != "kraken" || !reflect.DeepEqual(req.Pairs, []string{"BTC/USD"}) {
		t.Errorf("empty store: %+v %v", req, ok)
	}
	if _, ok := topUpRequest(f, &runPlan{pairs: []string{"BTC/USD"}}, now); ok {
		t.Error("a replay needs no top-up")
	}
	// Hand-written candles (not market data): the store ends at 12:00.
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 8, 18, 11, 58, 0, 0, time.UTC)
	for i := range 2 {
		s := start.Add(time.Duration(i) * time.Minute)
		c := market.Candle{Pair: "BTC/USD", Start: s, End: s.Add(time.Minute), Open: 1, High: 1, Low: 1, Close: 1, VWAP: 1, Complete: true}
		if err := st.AddCandles([]market.Candle{c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	req, ok = topUpRequest(f, &runPlan{live: true, pairs: []string{"BTC/USD"}}, now)
	if want := time.Date(2025, 8, 18, 12, 0, 0, 0, time.UTC); !ok || !req.From.Equal(want) {
		t.Errorf("store ending at %s: %+v %v", want, req, ok)
	}
	if _, ok := topUpRequest(f, &runPlan{live: true, pairs: []string{"BTC/USD"}}, start.Add(2*time.Minute+30*time.Second)); ok {
		t.Error("a store that reaches the current minute needs no top-up")
	}
}
