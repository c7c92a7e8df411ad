package connect

import (
	"github.com/tickcast/tickcast/internal/datadir"
	"math"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

// Warm start parity on real data: a store backfilled up to T warms the live
// pipeline up, so its first row (at T+1m) is warm and every live row equals
// the row a backfill through the same minutes computes at the same ts, the
// long features included: present from the first row when the store holds
// market.LongWindow candles before T, missing alike on both paths when it
// holds fewer (the backfill started there too).
// Trades are reconstructed from real Kraken 1-minute candles (labelled so),
// the same trades on both paths.
func TestWarmStartParity(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: backfill + fake Kraken + pipeline + Parquet")
	}
	path := realdata.Path(t, "kraken/ohlcvt/XBTUSD_1.2023-03-01_2023-03-21.csv")
	candles, _, err := archive.ReadCandles(path, archive.KrakenOHLCVT, "BTC/USD")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("store shorter than LongWindow", func(t *testing.T) {
		first := checkWarmStart(t, candles, time.Date(2023, 3, 1, 6, 0, 0, 0, time.UTC)) // 360 stored minutes
		if v := first.Values; !math.IsNaN(v[market.FRVol1440]) || math.IsNaN(v[market.FRVol240]) {
			t.Errorf("first row after 360 stored candles: rvol_1440 %v (want missing), rvol_240 %v (want set)", v[market.FRVol1440], v[market.FRVol240])
		}
	})
	t.Run("store holds LongWindow", func(t *testing.T) {
		first := checkWarmStart(t, candles, time.Date(2023, 3, 2, 6, 0, 0, 0, time.UTC)) // 1,800 stored minutes
		if v := first.Values[market.FRVol1440]; math.IsNaN(v) {
			t.Error("first row after 1,800 stored candles: rvol_1440 missing")
		}
	})
}

// checkWarmStart backfills candles' trades up to split, streams the next 30
// minutes with warm_start, and checks the live rows against a backfill of
// all of them; it returns the first live row.
func checkWarmStart(t *testing.T, candles []market.Candle, split time.Time) market.FeatureRow {
	t.Helper()
	end := split.Add(30 * time.Minute)
	var before, all []market.Candle
	for _, c := range candles {
		if c.Start.Before(end) {
			all = append(all, c)
			if c.Start.Before(split) {
				before = append(before, c)
			}
		}
	}
	// The split needs trades on both sides of it, else the live stream's
	// first candle is not the one at split.
	if b, a := before[len(before)-1], all[len(before)]; !(b.Volume > 0) || !(a.Volume > 0) || !a.Start.Equal(split) {
		t.Fatalf("real data changed: candles around %s are %+v and %+v", split, b, a)
	}
	allTrades := fakekraken.ReconstructTrades(all, 1)
	n := 0
	for n < len(allTrades) && allTrades[n].TS.Before(split) {
		n++
	}
	warm := backfillTrades(t, allTrades[:n], 24*time.Hour)
	reference := backfillTrades(t, allTrades, 24*time.Hour)

	// With repair, as live: REST shows no trade before the stream's first in
	// its minute, so the first candle, and the rows, are complete.
	cold := runLiveTrades(t, allTrades[n:], liveRun{repair: true})
	live := runLiveTrades(t, allTrades[n:], liveRun{repair: true, warmStart: warm})

	coldRows := readFeatures(t, cold.dataDir)
	if len(coldRows) == 0 || coldRows[0].Warm {
		t.Fatalf("without warm_start the first row should be cold: %d rows", len(coldRows))
	}
	liveRows := readFeatures(t, live.dataDir)
	if len(liveRows) != 30 {
		t.Fatalf("%d live rows, want 30", len(liveRows))
	}
	refRows := map[time.Time]string{}
	for _, r := range readFeatures(t, reference) {
		refRows[r.TS] = string(wire.AppendJSON(nil, r))
	}
	if first := liveRows[0]; !first.Warm || !first.TS.Equal(split.Add(time.Minute)) {
		t.Fatalf("first live row at %s warm=%v; want warm at %s", first.TS, first.Warm, split.Add(time.Minute))
	}
	for _, r := range liveRows {
		r.Revision = 0 // how often this stream corrected the row's candles, not part of its data
		if got, want := string(wire.AppendJSON(nil, r)), refRows[r.TS]; got != want {
			t.Errorf("row at %s:\nlive:     %s\nbackfill: %s", r.TS, got, want)
		}
	}
	return liveRows[0]
}

func TestWarmCandlesRefusesHoles(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: backfill + Parquet")
	}
	path := realdata.Path(t, "kraken/ohlcvt/XBTUSD_1.2023-03-01_2023-03-21.csv")
	candles, _, err := archive.ReadCandles(path, archive.KrakenOHLCVT, "BTC/USD")
	if err != nil {
		t.Fatal(err)
	}
	split := time.Date(2023, 3, 1, 4, 0, 0, 0, time.UTC)
	var before []market.Candle
	for _, c := range candles {
		if c.Start.Before(split) {
			before = append(before, c)
		}
	}
	dir := backfillTrades(t, fakekraken.ReconstructTrades(before, 1), 24*time.Hour)
	first := market.Candle{Pair: "BTC/USD", Start: split, End: split.Add(time.Minute)}
	got, err := WarmCandles(dir, first)
	if err != nil || len(got) != 240 || !got[len(got)-1].End.Equal(split) { // all 4 h: fewer than LongWindow
		t.Fatalf("WarmCandles at the store's end: %d candles, %v", len(got), err)
	}
	later := market.Candle{Pair: "BTC/USD", Start: split.Add(time.Hour), End: split.Add(time.Hour + time.Minute)}
	if _, err := WarmCandles(dir, later); err == nil {
		t.Error("WarmCandles across an hour the store lacks: want an error")
	}
	if _, err := WarmCandles(t.TempDir(), first); err == nil {
		t.Error("WarmCandles on an empty store: want an error")
	}
}

func readFeatures(t *testing.T, dataDir string) []market.FeatureRow {
	t.Helper()
	rs, err := parquet.ReadFeatures(datadir.Parquet(dataDir), "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// A pair that started cold (the store was empty: the bootstrap's backfill
// runs beside the stream) warms up once the store reaches the stream's
// first candle — its own later candles need not be stored — and its rows
// from then on equal the rows computed from the real candles.
func TestFeaturesRewarmWhenTheStoreFills(t *testing.T) {
	path := realdata.Path(t, realdata.BinanceETH90d) // every minute present: contiguous
	candles, _, err := archive.ReadCandles(path, archive.BinanceKlines, "ETH/USDT")
	if err != nil {
		t.Fatal(err)
	}
	candles = candles[:200]
	dir := t.TempDir()
	fp, err := newFeaturesProcessor(nil, nil)(nil, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	p := fp.(*featuresProcessor)
	p.warmDir = dir
	process := func(cs []market.Candle) []market.FeatureRow {
		var batch service.MessageBatch
		for _, c := range cs {
			batch = append(batch, newRecord(KindCandle, c.Pair, wire.AppendJSON(nil, c), c))
		}
		out, err := p.ProcessBatch(t.Context(), batch)
		if err != nil {
			t.Fatal(err)
		}
		var rows []market.FeatureRow
		for _, m := range out[0] {
			if kindOf(m) == KindFeature {
				r, _ := decode(m, wire.DecodeFeatureRow)
				rows = append(rows, r)
			}
		}
		return rows
	}
	for _, r := range process(candles[150:153]) {
		if r.Warm {
			t.Fatal("warm with an empty store")
		}
	}
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The backfill reaches the stream's first candle (150); the stream's own
	// candles are not flushed yet.
	if err := st.AddCandles(candles[:150]); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows := process(candles[153:170])
	if rows[len(rows)-1].Warm != true {
		t.Fatalf("still cold after the store filled")
	}
	for i, r := range rows {
		k := 153 + i
		if !r.Warm {
			continue
		}
		want := market.Compute(candles[:k+1]) // the store's candles from 0, then the stream's
		if string(wire.AppendJSON(nil, r)) != string(wire.AppendJSON(nil, want)) {
			t.Fatalf("row %d after the re-warm:\n got %s\nwant %s", k, wire.AppendJSON(nil, r), wire.AppendJSON(nil, want))
		}
	}
}
