package connect

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/wire"
)

// The old whole-file path of trade_replay, kept as the reference the
// streaming input must match: every file loaded, then the copies made.
func loadTradeFile(t *testing.T, path, pair string, firstID int64) []market.Trade {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts, err := fakekraken.LoadTradesCSV(f, pair, firstID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		ts[i].Source = market.SourceReplay
	}
	return ts
}

// repeatShifted appends n−1 copies of trades, each shifted later by their
// span rounded up to the hour, with trade ids continuing the sequence.
func repeatShifted(trades []market.Trade, n int) []market.Trade {
	if n <= 1 || len(trades) == 0 {
		return trades
	}
	span := trades[len(trades)-1].TS.Sub(trades[0].TS).Truncate(time.Hour) + time.Hour
	idStep := trades[len(trades)-1].TradeID - trades[0].TradeID + 1
	out := make([]market.Trade, 0, len(trades)*n)
	for k := range n {
		for _, t := range trades {
			t.TS = t.TS.Add(time.Duration(k) * span)
			t.TradeID += int64(k) * idStep
			out = append(out, t)
		}
	}
	return out
}

// replayAll drains a trade_replay input, checking the ticks as it goes.
func replayAll(t *testing.T, in *tradeReplayInput) []market.Trade {
	t.Helper()
	ctx := context.Background()
	if err := in.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	var out []market.Trade
	for {
		batch, _, err := in.ReadBatch(ctx)
		if errors.Is(err, service.ErrEndOfInput) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, batchTrades(t, batch, len(out) > 0 && len(batch) == 1)...)
	}
}

// batchTrades returns a batch's trades; it must end with a tick at the
// last trade's time (a flush tick when final).
func batchTrades(t *testing.T, batch service.MessageBatch, final bool) []market.Trade {
	t.Helper()
	var trades []market.Trade
	for _, m := range batch[:len(batch)-1] {
		tr, err := decode(m, wire.DecodeTrade)
		if err != nil || kindOf(m) != KindTrade {
			t.Fatalf("not a trade: %v", err)
		}
		trades = append(trades, tr)
	}
	now, flush, err := tickOf(batch[len(batch)-1])
	if err != nil || flush != final || (len(trades) > 0 && !now.Equal(trades[len(trades)-1].TS)) {
		t.Fatalf("tick %v flush %v (%v) after %d trades", now, flush, err, len(trades))
	}
	return trades
}

func replayInput(paths []string, batch, repeat int, firstID int64) *tradeReplayInput {
	return &tradeReplayInput{paths: paths, pair: "BTC/USD", batchSize: batch, firstID: firstID, repeat: repeat, open: archive.OpenTrades}
}

func equalTrades(t *testing.T, got, want []market.Trade) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d trades, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("trade %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// The streaming replay yields the trades of the old whole-file path on the
// real hour: two files in a row, three copies, batches across file ends.
func TestTradeReplayStreamsLikeWholeFile(t *testing.T) {
	path := realdata.Path(t, realdata.KrakenTrades1h)
	a := loadTradeFile(t, path, "BTC/USD", 7)
	b := loadTradeFile(t, path, "BTC/USD", 7+int64(len(a)))
	want := repeatShifted(append(a, b...), 3)
	got := replayAll(t, replayInput([]string{path, path}, 1000, 3, 7))
	equalTrades(t, got, want)
}

// A candle file replays as the trades fakekraken.ReconstructTrades makes
// of its candles, read one row at a time.
func TestTradeReplayCandleFile(t *testing.T) {
	path := realdata.Path(t, realdata.KrakenXBT1m21d)
	cs, _, err := archive.ReadCandles(path, archive.KrakenOHLCVT, "BTC/USD")
	if err != nil {
		t.Fatal(err)
	}
	want := fakekraken.ReconstructTrades(cs, 1)
	got := replayAll(t, replayInput([]string{path}, 4096, 1, 1))
	equalTrades(t, got, want)
}

// BenchmarkTradeReplayInput reads the 1,122,869 trades rebuilt from the real
// 21-day Kraken candle file through the input (messages built, nothing
// downstream): the input's share of a replay, and its memory per run.
func BenchmarkTradeReplayInput(b *testing.B) {
	path := realdata.Path(b, realdata.KrakenXBT1m21d)
	ctx := context.Background()
	var trades int
	for b.Loop() {
		in := replayInput([]string{path}, 1000, 1, 1)
		if err := in.Connect(ctx); err != nil {
			b.Fatal(err)
		}
		for {
			batch, _, err := in.ReadBatch(ctx)
			if errors.Is(err, service.ErrEndOfInput) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			trades += len(batch) - 1
		}
		in.Close(ctx)
	}
	b.ReportMetric(float64(trades)/b.Elapsed().Seconds(), "trades/s")
}

// A bad row ends the replay there: its error once, then the flush tick at
// the last good trade and the end of input. Hand-written fixture.
func TestTradeReplayBadRow(t *testing.T) {
	path := t.TempDir() + "/trades.csv"
	body := "time_ms,price,volume\n1561939203000,100,1\n1561939204000,101,1\n1561939205000,oops,1\n1561939206000,102,1\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	in := replayInput([]string{path}, 1, 1, 1)
	ctx := context.Background()
	if err := in.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	var trades []market.Trade
	var errs int
	for {
		batch, _, err := in.ReadBatch(ctx)
		if errors.Is(err, service.ErrEndOfInput) {
			break
		}
		if err != nil {
			errs++
			if !strings.Contains(err.Error(), "line 4") {
				t.Errorf("error %v, want line 4", err)
			}
			continue
		}
		if now, flush, _ := tickOf(batch[len(batch)-1]); flush {
			if len(batch) != 1 || !now.Equal(trades[len(trades)-1].TS) {
				t.Errorf("flush tick at %v after %d trades", now, len(trades))
			}
			continue
		}
		trades = append(trades, batchTrades(t, batch, false)...)
	}
	if errs != 1 || len(trades) != 2 {
		t.Errorf("%d errors, %d trades; want 1, 2", errs, len(trades))
	}
}

// The input's memory does not grow with its file: over the 1,122,869
// trades rebuilt from the 21-day candle file the live heap stays under
// 16 MB (3 MB measured; the trades alone, loaded whole, are 99 MB as
// market.Trade).
func TestTradeReplayMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 1.1 M trades (about 3 s)")
	}
	path := realdata.Path(t, realdata.KrakenXBT1m21d)
	in := replayInput([]string{path}, 500, 1, 1)
	ctx := context.Background()
	if err := in.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	var peak uint64
	var ms runtime.MemStats
	for n := 0; ; n++ {
		_, _, err := in.ReadBatch(ctx)
		if errors.Is(err, service.ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n%200 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	t.Logf("live heap up to %.1f MB", float64(peak)/(1<<20))
	if in.read != 1_122_869 || peak > 16<<20 {
		t.Errorf("%d trades, live heap up to %.1f MB; want 1,122,869 under 16 MB", in.read, float64(peak)/(1<<20))
	}
}
