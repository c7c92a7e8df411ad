package market

import (
	"testing"
	"time"
)

// BenchmarkAggregatorAdd replays the real Kraken hour over and over, each
// replay shifted one hour later with ids continuing, so that times and ids
// keep increasing as on a live stream. One op is one trade (plus the candles
// it closes).
func BenchmarkAggregatorAdd(b *testing.B) {
	for _, grace := range []time.Duration{0, DefaultGrace} {
		b.Run("grace="+grace.String(), func(b *testing.B) {
			benchAdd(b, loadKrakenTrades(b), []string{"BTC/USD"}, grace, nil)
		})
	}
}

// BenchmarkAggregatorFeatures is the whole per-trade domain cost of the live
// pipeline on one core: Add, and a feature row for every candle it closes.
func BenchmarkAggregatorFeatures(b *testing.B) {
	benchAdd(b, loadKrakenTrades(b), []string{"BTC/USD"}, DefaultGrace, NewFeatures())
}

// BenchmarkAggregatorAddPairs interleaves the replay over several pairs,
// trade by trade, so that every Add misses the last-pair cache.
func BenchmarkAggregatorAddPairs(b *testing.B) {
	pairs := []string{"BTC/USD", "ETH/USD", "SOL/USD", "XRP/USD", "ADA/USD", "DOGE/USD", "LTC/USD", "DOT/USD"}
	benchAdd(b, loadKrakenTrades(b), pairs, DefaultGrace, nil)
}

func benchAdd(b *testing.B, trades []Trade, pairs []string, grace time.Duration, features *Features) {
	agg, err := NewAggregator(AggregatorConfig{Interval: time.Minute, Grace: grace})
	if err != nil {
		b.Fatal(err)
	}
	out := make([]Candle, 0, 64)
	candles := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t := trades[i%len(trades)]
		t.TS = t.TS.Add(time.Duration(i/len(trades)) * time.Hour)
		t.TradeID = int64(i/len(pairs) + 1)
		t.Pair = pairs[i%len(pairs)]
		out, _, err = agg.Add(t, out[:0])
		if err != nil {
			b.Fatal(err)
		}
		candles += len(out)
		for _, c := range out {
			if features == nil {
				break
			}
			if _, err := features.Update(c); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "trades/s")
	b.ReportMetric(float64(candles)/float64(b.N), "candles/op")
}
