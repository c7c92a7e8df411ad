package history_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// The trades and candles in this file are hand-written fixtures for the
// edges of a chunk; realdata_test.go runs the same code on real data.

func trade(id int64, hms string, price float64) market.Trade {
	return market.Trade{Pair: "BTC/USD", TradeID: id, Price: price, Qty: 0.5, Side: market.SideBuy,
		TS: at("2024-03-10T" + hms + "Z"), Source: "fixture"}
}

func candle(hm string, price float64) market.Candle {
	s := at("2024-03-10T" + hm + ":00Z")
	return market.Candle{Pair: "BTC/USD", Start: s, End: s.Add(time.Minute), Open: price, High: price, Low: price,
		Close: price, VWAP: price, Volume: 1, Trades: 2, Complete: true}
}

func chunksOf(minutes int, from, to string) []history.Chunk {
	return history.Chunks("BTC/USD", at("2024-03-10T"+from+"Z"), at("2024-03-10T"+to+"Z"), time.Duration(minutes)*time.Minute)
}

// A chunk without trades between two with trades is all empty candles; the
// last chunk ends at its last trade's window, not at its end.
func TestBuildTradesEmptyChunk(t *testing.T) {
	trades := []market.Trade{trade(1, "00:00:10", 100), trade(2, "00:01:10", 101), trade(3, "00:25:00", 99)}
	dataDir, st := newStore(t)
	chunks := chunksOf(10, "00:00:00", "00:40:00")
	importTrades(t, st, trades, chunks)
	stats := buildAll(t, st, dataDir, chunks, history.KindTrades, time.Minute)
	wantC, wantR := oneShot(t, trades, time.Minute)
	gotC, gotR := stored(t, st, "BTC/USD")
	checkCandles(t, gotC, wantC)
	checkRows(t, gotR, wantR)
	if len(gotC) != 26 || stats.Empty != 23 || !stats.Last.Equal(at("2024-03-10T00:26:00Z")) {
		t.Errorf("%d candles, stats %+v; want 26 candles to 00:26, 23 empty", len(gotC), stats)
	}
}

// A trade chunk that follows imported archive candles continues them: the
// minutes before its first trade repeat the last candle's close.
func TestBuildTradesAfterArchiveCandles(t *testing.T) {
	dataDir, st := newStore(t)
	ctx := context.Background()
	if _, err := history.ImportCandles(ctx, st, []market.Candle{candle("00:00", 100)}, chunksOf(1, "00:00:00", "00:01:00")[0]); err != nil {
		t.Fatal(err)
	}
	importTrades(t, st, []market.Trade{trade(1, "00:03:10", 101)}, chunksOf(5, "00:01:00", "00:05:00"))
	if _, err := history.BuildChunk(ctx, st, dataDir, chunksOf(5, "00:01:00", "00:05:00")[0], history.KindTrades, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, rows := stored(t, st, "BTC/USD")
	if len(got) != 4 || got[1].Close != 100 || got[2].Close != 100 || got[1].Trades != 0 || got[3].Close != 101 || got[3].Trades != 1 {
		t.Fatalf("candles %+v; want 00:00, two empty at 100, then the trade's", got)
	}
	if len(rows) != 3 || !rows[0].TS.Equal(at("2024-03-10T00:02:00Z")) || rows[0].Values[market.FRet1] != 0 {
		t.Errorf("feature rows %+v; want 3 from 00:02, seeded with the 00:00 candle", rows)
	}
}

// Candle archives: a missing bar is filled from the previous one, also
// across a chunk boundary; nothing is added after the last bar.
func TestBuildCandlesFill(t *testing.T) {
	bars := []market.Candle{candle("00:00", 100), candle("00:03", 103), candle("00:04", 104)}
	dataDir, st := newStore(t)
	chunks := chunksOf(2, "00:00:00", "00:08:00")
	importCandles(t, st, bars, chunks)
	stats := buildAll(t, st, dataDir, chunks, history.KindCandles, time.Minute)
	got, rows := stored(t, st, "BTC/USD")
	want := withEmptyMinutes(bars)
	checkCandles(t, got, want)
	checkRows(t, rows, featuresOf(t, want))
	if stats.Empty != 2 || stats.Candles != 5 {
		t.Errorf("stats %+v, want 5 candles, 2 filled", stats)
	}
}

// A range built before a later one was imported ends at its last bar; the
// later range, not continuing it, starts a new stream (cold features).
func TestBuildCandlesSeparateRanges(t *testing.T) {
	dataDir, st := newStore(t)
	first, second := chunksOf(30, "00:00:00", "00:30:00"), chunksOf(30, "00:30:00", "01:30:00")
	importCandles(t, st, []market.Candle{candle("00:00", 100)}, first)
	buildAll(t, st, dataDir, first, history.KindCandles, time.Minute)
	importCandles(t, st, []market.Candle{candle("01:00", 110)}, second)
	buildAll(t, st, dataDir, second, history.KindCandles, time.Minute)
	got, rows := stored(t, st, "BTC/USD")
	if len(got) != 2 || len(rows) != 2 || !isNaN(rows[1].Values[market.FRet1]) {
		t.Errorf("candles %+v rows %+v; want two separate streams of one candle", got, rows)
	}
}

func isNaN(f float64) bool { return f != f }

func TestBuildChunkErrors(t *testing.T) {
	dataDir, st := newStore(t)
	c := chunksOf(10, "00:00:00", "00:10:00")[0]
	ctx := context.Background()
	tests := []struct {
		name    string
		dataDir string
		c       history.Chunk
		kind    string
		iv      time.Duration
		want    string
	}{
		{"kind", dataDir, c, "bars", time.Minute, `kind "bars"`},
		{"interval", dataDir, c, history.KindTrades, 7 * time.Minute, "does not divide 24h"},
		{"empty chunk", dataDir, history.Chunk{Pair: "BTC/USD", From: c.From, To: c.From}, history.KindTrades, time.Minute, "empty chunk"},
		{"pair", dataDir, history.Chunk{Pair: "nonsense", From: c.From, To: c.To}, history.KindTrades, time.Minute, "pair"},
		{"other data dir", t.TempDir(), c, history.KindTrades, time.Minute, "is not the store of data dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := history.BuildChunk(ctx, st, tt.dataDir, tt.c, tt.kind, tt.iv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	// 5-minute bars stored, a 1-minute build asked for.
	bar := candle("00:00", 100)
	bar.End = bar.Start.Add(5 * time.Minute)
	importCandles(t, st, []market.Candle{bar}, []history.Chunk{c})
	if _, err := history.BuildChunk(ctx, st, "", c, history.KindCandles, time.Minute); err == nil || !strings.Contains(err.Error(), "not a 1m0s window") {
		t.Errorf("err = %v, want a window error", err)
	}
}

func TestBuildChunkCanceled(t *testing.T) {
	dataDir, st := newStore(t)
	chunks := chunksOf(10, "00:00:00", "00:10:00")
	importTrades(t, st, []market.Trade{trade(1, "00:00:10", 100)}, chunks)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := history.BuildChunk(ctx, st, dataDir, chunks[0], history.KindTrades, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if cs, _ := stored(t, st, "BTC/USD"); len(cs) != 0 {
		t.Errorf("a canceled build wrote %d candles", len(cs))
	}
}

func TestImportErrors(t *testing.T) {
	_, st := newStore(t)
	ctx := context.Background()
	c := chunksOf(10, "00:00:00", "00:10:00")[0]
	eth := trade(1, "00:00:10", 100)
	eth.Pair = "ETH/USD"
	if _, err := history.ImportTrades(ctx, st, []market.Trade{eth}, c); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("trade of another pair: %v", err)
	}
	// Another spelling of the chunk's pair is the same pair; rows outside the chunk are skipped.
	xbt := trade(2, "00:00:20", 100)
	xbt.Pair = "XBT/USD"
	n, err := history.ImportTrades(ctx, st, []market.Trade{xbt, trade(3, "00:10:00", 100)}, c)
	if err != nil || n != 1 {
		t.Errorf("imported %d, %v; want 1", n, err)
	}
	if _, err := history.ImportCandles(ctx, st, nil, history.Chunk{Pair: "nonsense"}); err == nil {
		t.Error("bad pair accepted")
	}
	bad := candle("00:00", 100)
	bad.Pair = ""
	if _, err := history.ImportCandles(ctx, st, []market.Candle{bad}, c); err == nil {
		t.Error("candle without a pair accepted")
	}
	st.Close(ctx)
	if _, err := history.ImportCandles(ctx, st, []market.Candle{candle("00:00", 100)}, c); !errors.Is(err, parquet.ErrClosed) {
		t.Errorf("closed store: %v", err)
	}
}
