package fakekraken

import (
	"errors"
	"io"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

func drain(t testing.TB, src TradeSource) []market.Trade {
	t.Helper()
	var out []market.Trade
	for {
		tr, err := src.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tr)
	}
}

// Sources yield what the whole-file readers return: archive.OpenTrades on
// the real hour, and NewReconstructSource what ReconstructTrades makes.
func TestSourcesMatchWholeReads(t *testing.T) {
	f, err := os.Open(realdata.Path(t, realdata.KrakenTrades1h))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := LoadTradesCSV(f, "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	src, err := archive.OpenTrades(realdata.Path(t, realdata.KrakenTrades1h), "XBTUSD", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if got := drain(t, src); !slices.Equal(got, want) {
		t.Errorf("archive.OpenTrades: %d trades, differ from LoadTradesCSV's %d", len(got), len(want))
	}
	candles := readKraken1m(t)[:3000]
	if got, want := drain(t, NewReconstructSource(candles, 9)), ReconstructTrades(candles, 9); !slices.Equal(got, want) || len(got) < 10000 {
		t.Errorf("NewReconstructSource: %d trades, want the %d of ReconstructTrades", len(got), len(want))
	}
	if got := drain(t, NewSliceSource(want[:5])); !slices.Equal(got, want[:5]) {
		t.Errorf("SliceSource: %v", got)
	}
}

func readKraken1m(t testing.TB) []market.Candle {
	t.Helper()
	candles, _, err := archive.ReadCandles(realdata.Path(t, realdata.KrakenXBT1m21d), archive.KrakenOHLCVT, "BTC/USD")
	if err != nil {
		t.Fatal(err)
	}
	return candles
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// streamAll publishes every trade of the server's one streamed pair as a
// replay would, calling at(n) after each step of published trades.
func streamAll(s *Server, pair string, at func(published int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startLocked()
	tp := s.tapes[pair]
	for !tp.exhausted() {
		s.publishLocked(tp, tp.published+1000)
		at(tp.published)
	}
}

// Streaming the 21-day candle file rebuilt into trades (1.1M of them),
// read row by row, holds a window of History trades, not the file: the
// heap after 1M trades is what it was after 200,000. Holding them all
// would take some 100 MB.
func TestStreamingMemoryIsBounded(t *testing.T) {
	src, err := archive.OpenTrades(realdata.Path(t, realdata.KrakenXBT1m21d), "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Sources: map[string]TradeSource{"BTC/USD": src}, History: 20_000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var early, late uint64
	total := 0
	streamAll(s, "BTC/USD", func(n int) {
		switch {
		case n >= 200_000 && early == 0:
			early = heapInUse()
		case n >= 1_000_000 && late == 0:
			late = heapInUse()
		}
		total = n
	})
	if total < 1_000_000 || early == 0 || late == 0 {
		t.Fatalf("%d trades streamed", total)
	}
	t.Logf("%d trades; heap %.1f MB after 200k, %.1f MB after 1M", total, float64(early)/1e6, float64(late)/1e6)
	if late > early+4<<20 {
		t.Errorf("heap grew from %d to %d bytes between 200k and 1M trades", early, late)
	}
	tp := s.tapes["BTC/USD"]
	if kept := tp.loaded() - tp.base; kept < 20_000 || kept > 40_000 || s.Err() != nil {
		t.Errorf("window of %d trades (want 20,000..40,000), err %v", kept, s.Err())
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed after the last trade")
	}
}

// REST on a streamed pair: nothing before the replay; then the window,
// a since older than it answered from its first trade.
func TestRESTOnStreamedWindow(t *testing.T) {
	candles := readKraken1m(t)[:500]
	all := ReconstructTrades(candles, 1)
	s, err := New(Config{Sources: map[string]TradeSource{"BTC/USD": NewReconstructSource(candles, 1)}, History: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	page := func() []market.Trade {
		var rows []market.Trade
		s.withTrades("XBTUSD", func(tp *tape, lo int, trades []market.Trade) { rows = slices.Clone(trades) })
		return rows
	}
	if rows := page(); len(rows) != 0 {
		t.Fatalf("%d rows before the replay", len(rows))
	}
	streamAll(s, "BTC/USD", func(int) {})
	rows := page()
	if len(rows) < 1000 || len(rows) > 2000 || rows[len(rows)-1] != all[len(all)-1] || rows[0] != all[len(all)-len(rows)] {
		t.Fatalf("window of %d rows, from id %d to %d; stream of %d", len(rows), rows[0].TradeID, rows[len(rows)-1].TradeID, len(all))
	}
	if got := s.Now(); !got.Equal(all[len(all)-1].TS) {
		t.Errorf("Now at max speed %s, want the last trade's %s", got, all[len(all)-1].TS)
	}
}

// BenchmarkStreamReconstructed streams the 21-day candle file, rebuilt
// into 1.1M trades row by row, through a server: heap-MB is the live heap
// at the end (a 20,000-trade window).
func BenchmarkStreamReconstructed(b *testing.B) {
	path := realdata.Path(b, realdata.KrakenXBT1m21d)
	for b.Loop() {
		src, err := archive.OpenTrades(path, "BTC/USD", 1)
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(Config{Sources: map[string]TradeSource{"BTC/USD": src}, History: 20_000})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		streamAll(s, "BTC/USD", func(p int) { n = p })
		b.ReportMetric(float64(heapInUse())/1e6, "heap-MB")
		b.ReportMetric(float64(n), "trades")
		s.Close()
	}
}
