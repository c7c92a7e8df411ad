package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

const (
	day        = 24 * time.Hour
	binanceBTC = "binance/klines/BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz"
	binanceETH = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"
	ohlcvt1m   = "kraken/ohlcvt/XBTUSD_1.2023-03-01_2023-03-21.csv"
)

// realTrades reads the real hour of Kraken BTC/USD trades (2,672).
func realTrades(tb testing.TB) []market.Trade {
	tb.Helper()
	trades, err := archive.ReadTrades(realdata.Path(tb, realdata.KrakenTrades1h), archive.KrakenTrades, "", 1)
	if err != nil {
		tb.Fatal(err)
	}
	return trades
}

// TestTradesBackfillParity is the backfill/streaming parity at the market
// level: the real trades imported in chunks (in a shuffled order) and built
// chunk by chunk give exactly the candles and feature rows of one
// aggregator and one Features over the whole file, the code the live
// pipeline runs. Building again rewrites identical files.
func TestTradesBackfillParity(t *testing.T) {
	trades := realTrades(t)
	from, to := at("2019-07-01T00:00:00Z"), at("2019-07-01T01:00:00Z")
	tests := []struct{ size, iv time.Duration }{
		{10 * time.Minute, time.Minute},
		{7 * time.Minute, time.Minute},
		{7 * time.Minute, 5 * time.Minute},
		{13 * time.Minute, time.Second},
		{time.Hour, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.size.String()+"/"+tt.iv.String(), func(t *testing.T) {
			dataDir, st := newStore(t)
			chunks := history.Chunks("BTC/USD", from, to, tt.size)
			importTrades(t, st, trades, shuffled(chunks, 1))
			stats := buildAll(t, st, dataDir, chunks, history.KindTrades, tt.iv)
			wantC, wantR := oneShot(t, trades, tt.iv)
			gotC, gotR := stored(t, st, "BTC/USD")
			checkCandles(t, gotC, wantC)
			checkRows(t, gotR, wantR)
			if stats.Trades != 2672 || stats.Candles != len(wantC) || stats.Features != len(wantR) || !stats.Last.Equal(wantC[len(wantC)-1].End) {
				t.Errorf("stats %+v; want 2672 trades, %d candles and rows, last %s", stats, len(wantC), wantC[len(wantC)-1].End)
			}
			before := treeHash(t, dataDir)
			buildAll(t, st, dataDir, chunks, history.KindTrades, tt.iv)
			sameTree(t, before, treeHash(t, dataDir))
		})
	}
}

// TestTradesBackfillGapAcrossChunks removes the real trades of 00:09:30 to
// 00:12:30, across a chunk boundary: the trade_id gap marks the candles it
// overlaps incomplete, and the empty minutes are filled, as in one run.
func TestTradesBackfillGapAcrossChunks(t *testing.T) {
	var trades []market.Trade
	for _, tr := range realTrades(t) {
		if tr.TS.Before(at("2019-07-01T00:09:30Z")) || !tr.TS.Before(at("2019-07-01T00:12:30Z")) {
			trades = append(trades, tr)
		}
	}
	dataDir, st := newStore(t)
	chunks := history.Chunks("BTC/USD", at("2019-07-01T00:00:00Z"), at("2019-07-01T01:00:00Z"), 10*time.Minute)
	importTrades(t, st, trades, chunks)
	buildAll(t, st, dataDir, chunks, history.KindTrades, time.Minute)
	wantC, wantR := oneShot(t, trades, time.Minute)
	gotC, gotR := stored(t, st, "BTC/USD")
	checkCandles(t, gotC, wantC)
	checkRows(t, gotR, wantR)
	incomplete, empty := 0, 0
	for _, c := range gotC {
		if !c.Complete {
			incomplete++
		}
		if c.Trades == 0 {
			empty++
		}
	}
	if incomplete != 4 || empty != 2 {
		t.Errorf("%d incomplete and %d empty candles; want 4 (00:09..00:12) and 2 (00:10, 00:11)", incomplete, empty)
	}
}

// TestTradesBackfillOutOfOrder builds the chunks last first: each starts a
// new stream; building them again in order gives the one-run result.
func TestTradesBackfillOutOfOrder(t *testing.T) {
	trades := realTrades(t)
	dataDir, st := newStore(t)
	chunks := history.Chunks("BTC/USD", at("2019-07-01T00:00:00Z"), at("2019-07-01T01:00:00Z"), 10*time.Minute)
	importTrades(t, st, trades, chunks)
	for i := len(chunks) - 1; i >= 0; i-- {
		buildAll(t, st, dataDir, chunks[i:i+1], history.KindTrades, time.Minute)
	}
	wantC, wantR := oneShot(t, trades, time.Minute)
	_, gotR := stored(t, st, "BTC/USD")
	if gotR[len(gotR)-1].Warm {
		t.Error("the last chunk, built first, has warm features")
	}
	buildAll(t, st, dataDir, chunks, history.KindTrades, time.Minute)
	gotC, gotR := stored(t, st, "BTC/USD")
	checkCandles(t, gotC, wantC)
	checkRows(t, gotR, wantR)
}

// TestBinanceBackfill imports a real Binance pair's 90 days in 7-day
// chunks (in a shuffled order) and builds them: exactly the 130,708 source
// candles (every field) and their 130,708 feature rows.
func TestBinanceBackfill(t *testing.T) {
	path := realdata.Path(t, binanceBTC)
	if testing.Short() {
		t.Skip("90 days of candles: not in -short")
	}
	cs, src, err := archive.ReadCandles(path, archive.BinanceKlines, "")
	if err != nil {
		t.Fatal(err)
	}
	chunks := history.Chunks("BTC/USDT", cs[0].Start, cs[len(cs)-1].End, 7*day)
	dataDir, st := newStore(t)
	if n := importCandles(t, st, cs, shuffled(chunks, 7)); n != 130_708 || len(chunks) != 13 {
		t.Fatalf("imported %d candles in %d chunks, want 130,708 in 13", n, len(chunks))
	}
	if err := history.RecordSources(dataDir, parquet.DatasetCandles, "BTC/USDT", src); err != nil {
		t.Fatal(err)
	}
	stats := buildAll(t, st, dataDir, chunks, history.KindCandles, time.Minute)
	want := history.BuildStats{Candles: 130_708, Features: 130_708, Last: cs[len(cs)-1].End}
	if stats != want {
		t.Errorf("stats %+v, want %+v", stats, want)
	}
	gotC, gotR := stored(t, st, "BTC/USDT")
	checkCandles(t, gotC, cs)
	checkRows(t, gotR, featuresOf(t, cs))
}

// TestOHLCVTBackfillFillsAbsentMinutes imports Kraken's real 1-minute
// OHLCVT file (30,180 bars, 60 minutes absent) in daily chunks: the build
// fills the 60 minutes as empty candles, as the aggregator would. The
// import's files do not depend on the chunk order, and building again
// rewrites identical files.
func TestOHLCVTBackfillFillsAbsentMinutes(t *testing.T) {
	cs, _, err := archive.ReadCandles(realdata.Path(t, ohlcvt1m), archive.KrakenOHLCVT, "")
	if err != nil {
		t.Fatal(err)
	}
	dataDir, st := newStore(t)
	chunks := history.Chunks("BTC/USD", cs[0].Start, cs[len(cs)-1].End, day)
	importCandles(t, st, cs, shuffled(chunks, 3))
	_, inOrder := newStore(t)
	importCandles(t, inOrder, cs, chunks)
	sameTree(t, treeHash(t, st.Root()), treeHash(t, inOrder.Root()))

	stats := buildAll(t, st, dataDir, chunks, history.KindCandles, time.Minute)
	want := withEmptyMinutes(cs)
	if len(want) != 30_240 || stats.Empty != 60 || stats.Candles != 30_240 || stats.Features != 30_240 {
		t.Fatalf("stats %+v (reference %d candles); want 30,240 candles and rows, 60 empty", stats, len(want))
	}
	gotC, gotR := stored(t, st, "BTC/USD")
	checkCandles(t, gotC, want)
	checkRows(t, gotR, featuresOf(t, want))
	before := treeHash(t, dataDir)
	if again := buildAll(t, st, dataDir, chunks, history.KindCandles, time.Minute); again != stats {
		t.Errorf("rebuild stats %+v, first %+v", again, stats)
	}
	sameTree(t, before, treeHash(t, dataDir))
}

// withEmptyMinutes inserts, where a minute is absent, the empty candle the
// aggregator emits for a window without trades.
func withEmptyMinutes(cs []market.Candle) []market.Candle {
	out := []market.Candle{cs[0]}
	for _, c := range cs[1:] {
		for prev := out[len(out)-1]; prev.End.Before(c.Start); prev = out[len(out)-1] {
			p := prev.Close
			out = append(out, market.Candle{Pair: c.Pair, Start: prev.End, End: prev.End.Add(time.Minute),
				Open: p, High: p, Low: p, Close: p, VWAP: p, Complete: true})
		}
		out = append(out, c)
	}
	return out
}

// TestImportCandlesCounts checks that a chunk imports only its own rows.
func TestImportCandlesCounts(t *testing.T) {
	cs, _, err := archive.ReadCandles(realdata.Path(t, ohlcvt1m), archive.KrakenOHLCVT, "")
	if err != nil {
		t.Fatal(err)
	}
	_, st := newStore(t)
	c := history.Chunk{Pair: "XBTUSD", From: at("2023-03-02T00:00:00Z"), To: at("2023-03-03T00:00:00Z")}
	n, err := history.ImportCandles(context.Background(), st, cs, c)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := stored(t, st, "BTC/USD")
	if n != len(got) || n < 1400 || !got[0].Start.Equal(c.From) || !got[n-1].Start.Before(c.To) {
		t.Errorf("imported %d candles, stored %d from %s; want that day's", n, len(got), got[0].Start)
	}
}
