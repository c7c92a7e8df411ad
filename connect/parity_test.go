package connect

import (
	"github.com/tickcast/tickcast/internal/datadir"
	"math"
	"os"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

// Train/serve parity: the same trades through the streaming path (fake
// Kraken WebSocket → live.yaml: kraken_trades → candles → features → store)
// and through the backfill path (history.ImportTrades per day, then
// history.BuildChunk in order, as the Backfill workflow's activities do)
// give identical candles and feature rows.
func TestBackfillStreamingParity(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: pipeline + backfill + Parquet")
	}
	t.Run("real trade file", func(t *testing.T) {
		f, err := os.Open(realdata.Path(t, realdata.KrakenTrades1h))
		if err != nil {
			t.Fatal(err)
		}
		trades, err := fakekraken.LoadTradesCSV(f, "BTC/USD", 1)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkParity(t, trades, 10*time.Minute, 60)
	})
	t.Run("trades reconstructed from 3 days of real Kraken candles", func(t *testing.T) {
		path := realdata.Path(t, "kraken/ohlcvt/XBTUSD_1.2023-03-01_2023-03-21.csv")
		candles, _, err := archive.ReadCandles(path, archive.KrakenOHLCVT, "BTC/USD")
		if err != nil {
			t.Fatal(err)
		}
		end := time.Date(2023, 3, 4, 0, 0, 0, 0, time.UTC)
		n := 0
		for n < len(candles) && candles[n].Start.Before(end) {
			n++
		}
		trades := fakekraken.ReconstructTrades(candles[:n], 1)
		t.Logf("%d real candles → %d reconstructed trades", n, len(trades))
		// Daily chunks: each later chunk's features start from the whole
		// previous day (market.LongWindow), so rvol_1440 is set from the
		// 1,441st minute on both paths.
		if long := checkParity(t, trades, 24*time.Hour, 3*24*60); long != 3*24*60-market.LongWindow {
			t.Errorf("%d streamed rows with rvol_1440, want %d", long, 3*24*60-market.LongWindow)
		}
	})
}

// checkParity compares the candles and feature rows (JSON: a missing value,
// NaN, is null on both sides) and returns how many streamed rows have the
// longest feature, rvol_1440.
func checkParity(t *testing.T, trades []market.Trade, chunk time.Duration, wantCandles int) (long int) {
	t.Helper()
	live := runLiveTrades(t, trades, liveRun{})
	backfill := backfillTrades(t, trades, chunk)
	for _, ds := range []string{"candles", "features"} {
		a, b := readPairJSON(t, live.dataDir, ds, trades[0].Pair), readPairJSON(t, backfill, ds, trades[0].Pair)
		if len(a) != wantCandles || len(b) != len(a) {
			t.Fatalf("%s: %d rows streamed, %d backfilled; want %d", ds, len(a), len(b), wantCandles)
		}
		diff := 0
		for i := range a {
			if a[i] != b[i] {
				if diff++; diff <= 3 {
					t.Errorf("%s row %d differs:\nstream:   %s\nbackfill: %s", ds, i, a[i], b[i])
				}
			}
		}
		if diff > 0 {
			t.Errorf("%s: %d of %d rows differ", ds, diff, len(a))
		}
	}
	rows, err := parquet.ReadFeatures(datadir.Parquet(live.dataDir), trades[0].Pair, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !math.IsNaN(r.Values[market.FRVol1440]) {
			long++
		}
	}
	return long
}

// backfillTrades runs the backfill's steps over trades in chunks and returns the data dir.
func backfillTrades(t *testing.T, trades []market.Trade, size time.Duration) string {
	t.Helper()
	return backfillMulti(t, map[string][]market.Trade{trades[0].Pair: trades}, size)
}

func readPairJSON(t *testing.T, dataDir, dataset, pair string) []string {
	t.Helper()
	var out []string
	switch dataset {
	case "candles":
		cs, err := parquet.ReadCandles(datadir.Parquet(dataDir), pair, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			out = append(out, string(wire.AppendJSON(nil, c)))
		}
	case "features":
		rs, err := parquet.ReadFeatures(datadir.Parquet(dataDir), pair, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			out = append(out, string(wire.AppendJSON(nil, r)))
		}
	}
	return out
}
