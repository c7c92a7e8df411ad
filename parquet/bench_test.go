package parquet

import (
	"context"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
)

// benchTrades is a synthetic day of one pair: n trades evenly spread.
func benchTrades(n int) []market.Trade {
	day := at("2024-03-10T00:00:00Z")
	step := 24 * time.Hour / time.Duration(n)
	out := make([]market.Trade, n)
	for i := range out {
		out[i] = market.Trade{Pair: "BTC/USD", TradeID: int64(i + 1), Price: 68000 + float64(i%500)/10,
			Qty: float64(i%97) / 1000, Side: market.Side(1 + i%2), OrdType: market.OrdType(1 + i%2),
			TS: day.Add(time.Duration(i) * step), Source: market.SourceKrakenWS}
	}
	return out
}

// BenchmarkStoreTrades measures rows/s written into a fresh store,
// including the final flush: Add in batches of 1000, then Close.
func BenchmarkStoreTrades(b *testing.B) {
	const rows, batch = 200_000, 1000
	trades := benchTrades(rows)
	for b.Loop() {
		s, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < rows; i += batch {
			if err := s.AddTrades(trades[i : i+batch]); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkStoreTradesReplay measures the merge path: replaying a day
// over its existing partition file.
func BenchmarkStoreTradesReplay(b *testing.B) {
	const rows = 200_000
	trades := benchTrades(rows)
	s, err := Open(b.TempDir(), Options{FlushRows: rows})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.AddTrades(trades); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
