package parquet

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// benchTrades is one day of real trades: the real Kraken BTC/USD hour
// (2,672 trades) copied 75 times, copy k shifted 18·k minutes later with
// trade ids continuing, so that ~200 k rows land in one day partition.
func benchTrades(b *testing.B) []market.Trade {
	f, err := os.Open(realdata.Path(b, realdata.KrakenTrades1h))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	hour, err := fakekraken.LoadTradesCSV(f, "BTC/USD", 1)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]market.Trade, 0, 75*len(hour))
	for k := range 75 {
		for _, t := range hour {
			t.TS = t.TS.Add(time.Duration(k) * 18 * time.Minute)
			t.TradeID += int64(k * len(hour))
			out = append(out, t)
		}
	}
	return out
}

// BenchmarkStoreTrades measures rows/s written into a fresh store,
// including the final flush: Add in batches of 1000, then Close.
func BenchmarkStoreTrades(b *testing.B) {
	const batch = 1000
	trades := benchTrades(b)
	rows := len(trades) / batch * batch
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
	trades := benchTrades(b)
	rows := len(trades)
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
