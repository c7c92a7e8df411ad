package fakekraken

import (
	"errors"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
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

// CSVSource, chunk by chunk, reads what LoadTradesCSV reads at once.
func TestCSVSourceMatchesLoad(t *testing.T) {
	path := realdata.Path(t, realdata.KrakenTrades1h)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := LoadTradesCSV(f, "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1, 7, 1000, csvChunkLines} {
		src, err := OpenCSVSource(path, "XBTUSD", 1)
		if err != nil {
			t.Fatal(err)
		}
		src.chunk = chunk
		if got := drain(t, src); !slices.Equal(got, want) {
			t.Errorf("chunk %d: %d trades, differ from LoadTradesCSV's %d", chunk, len(got), len(want))
		}
		if err := src.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestCSVSourceHeaderlessAndErrors(t *testing.T) {
	// Hand-written fixtures in Kraken's Time and Sales format (no header).
	src, err := NewCSVSource(strings.NewReader("1561939203.172,10749.4,0.004\n1561939205.224,10749.7,0.03869709\n"), "BTC/USD", 5)
	if err != nil {
		t.Fatal(err)
	}
	src.chunk = 1
	got := drain(t, src)
	if len(got) != 2 || got[1].TradeID != 6 || got[1].Price != 10749.7 || got[0].TS.UnixMicro() != 1561939203172000 {
		t.Fatalf("got %+v", got)
	}
	src, _ = NewCSVSource(strings.NewReader("1561939203.172,10749.4,0.004\n1561939205.224,oops,1\n"), "BTC/USD", 1)
	if _, err := src.Next(); err == nil || !strings.Contains(err.Error(), "chunk from line 1") {
		t.Errorf("bad row: %v", err)
	}
}

// ReconstructSource yields ReconstructTrades' trades one at a time.
func TestReconstructSourceMatches(t *testing.T) {
	candles := readKraken1m(t)[:3000]
	want := ReconstructTrades(candles, 9)
	if got := drain(t, NewReconstructSource(candles, 9)); !slices.Equal(got, want) || len(got) < 10000 {
		t.Fatalf("%d trades, want the %d of ReconstructTrades", len(got), len(want))
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

// Streaming the 21-day reconstructed file (1.1M trades) holds a window of
// History trades, not the file: the heap after 1M trades is what it was
// after 200,000. Holding them all would take some 100 MB.
func TestStreamingMemoryIsBounded(t *testing.T) {
	candles := readKraken1m(t)
	s, err := New(Config{Sources: map[string]TradeSource{"BTC/USD": NewReconstructSource(candles, 1)}, History: 20_000})
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

// BenchmarkStreamReconstructed streams the 21-day file through a server:
// heap-MB is the live heap at the end (a 20,000-trade window).
func BenchmarkStreamReconstructed(b *testing.B) {
	candles := readKraken1m(b)
	for b.Loop() {
		s, err := New(Config{Sources: map[string]TradeSource{"BTC/USD": NewReconstructSource(candles, 1)}, History: 20_000})
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
