package history_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// TestRebuildFeaturesUpgradesAnOlderSchema builds the real Kraken OHLCVT
// file's store, then rewrites its feature rows as an older schema would
// have left them (schema 1, the newer columns missing): RebuildFeatures
// brings every row back to the current schema, equal to a fresh build, and
// leaves the candles as they were.
func TestRebuildFeaturesUpgradesAnOlderSchema(t *testing.T) {
	cs, _, err := archive.ReadCandles(realdata.Path(t, ohlcvt1m), archive.KrakenOHLCVT, "")
	if err != nil {
		t.Fatal(err)
	}
	dataDir, st := newStore(t)
	chunks := history.Chunks("BTC/USD", cs[0].Start, cs[len(cs)-1].End, 7*day)
	importCandles(t, st, cs, chunks)
	buildAll(t, st, dataDir, chunks, history.KindCandles, time.Minute)
	wantC, wantR := stored(t, st, "BTC/USD")
	candleTree := treeHash(t, st.Root()+"/candles")

	old := make([]market.FeatureRow, len(wantR))
	for i, r := range wantR {
		r.SchemaVersion = 1
		for j := market.FRVol5; j < market.NumFeatures; j++ {
			r.Values[j] = math.NaN()
		}
		old[i] = r
	}
	if err := st.AddFeatures(old); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, rows := stored(t, st, "BTC/USD"); rows[len(rows)-1].SchemaVersion != 1 {
		t.Fatal("the fixture did not replace the rows with schema-1 ones")
	}

	var calls int
	res, err := history.RebuildFeatures(context.Background(), st, dataDir, []string{"BTC/USD"}, time.Minute, 7*day, func(history.RebuildStats) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	s := res.Pairs[0]
	if res.Cross != (history.CrossStats{Pairs: 1, Features: len(wantR)}) {
		t.Errorf("cross stats %+v: want the %d rows of the one pair, none crossed", res.Cross, len(wantR))
	}
	if s.Features != len(wantR) || s.Chunks != calls || s.Chunks < 3 {
		t.Fatalf("stats %+v after %d progress calls; want %d rows", s, calls, len(wantR))
	}
	gotC, gotR := stored(t, st, "BTC/USD")
	checkCandles(t, gotC, wantC)
	checkRows(t, gotR, wantR)
	sameTree(t, candleTree, treeHash(t, st.Root()+"/candles"))
}

func TestRebuildFeaturesRefuses(t *testing.T) {
	dataDir, st := newStore(t)
	ctx := context.Background()
	if _, err := history.RebuildFeatures(ctx, st, dataDir, []string{"BTC/USD"}, time.Minute, 7*day, nil); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("no candles: %v, want ErrInvalid", err)
	}
	if _, err := history.RebuildFeatures(ctx, st, dataDir, []string{"BTC/USD"}, time.Minute, time.Hour, nil); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("hour chunks: %v, want ErrInvalid", err)
	}
	if _, err := history.RebuildFeatures(ctx, st, dataDir, nil, time.Minute, 7*day, nil); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("no pairs: %v, want ErrInvalid", err)
	}
	if _, err := history.RebuildFeatures(ctx, st, dataDir, []string{"nope"}, time.Minute, 7*day, nil); err == nil {
		t.Error("a bad pair was accepted")
	}
}
