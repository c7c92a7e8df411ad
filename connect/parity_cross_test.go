package connect

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// Train/serve parity with cross-pair features: two real pairs' trades
// (reconstructed from two days of real Binance BTC/USDT and ETH/USDT
// candles) through one live pipeline (fake Kraken → live.yaml, the pairs
// aligned by the features stage) and through the backfill (import, build
// per pair in daily chunks, then the cross step over both pairs) give
// identical candles and feature rows, xp_* and revisions included.
func TestBackfillStreamingParityCrossPair(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: pipeline + backfill + Parquet")
	}
	const n = 2 * 24 * 60
	byPair := map[string][]market.Trade{}
	pairs := []string{"BTC/USDT", "ETH/USDT"}
	for i, rel := range []string{realdata.BinanceBTC90d, realdata.BinanceETH90d} {
		cs := realfeatures.BinanceKlines(t, rel, pairs[i], n).Candles
		byPair[pairs[i]] = fakekraken.ReconstructTrades(cs, 1)
	}
	live := runLiveMulti(t, byPair)
	backfill := backfillMulti(t, byPair, 24*time.Hour)
	for _, pair := range pairs {
		for _, ds := range []string{"candles", "features"} {
			a, b := readPairJSON(t, live, ds, pair), readPairJSON(t, backfill, ds, pair)
			if len(a) != n || len(b) != len(a) {
				t.Fatalf("%s %s: %d rows streamed, %d backfilled; want %d", pair, ds, len(a), len(b), n)
			}
			diff := 0
			for i := range a {
				if a[i] != b[i] {
					if diff++; diff <= 3 {
						t.Errorf("%s %s row %d differs:\nstream:   %s\nbackfill: %s", pair, ds, i, a[i], b[i])
					}
				}
			}
			if diff > 0 {
				t.Errorf("%s %s: %d of %d rows differ", pair, ds, diff, len(a))
			}
		}
		rows, err := parquet.ReadFeatures(datadir.Parquet(live), pair, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		crossed := 0
		for _, r := range rows {
			if !math.IsNaN(r.Values[market.FXRVol30]) {
				crossed++
			}
		}
		// The other pair's rvol_30 is set from its 31st candle on.
		if want := n - 30; crossed != want {
			t.Errorf("%s: %d streamed rows with xp_rvol_30, want %d", pair, crossed, want)
		}
	}
}

// runLiveMulti streams every pair's trades through one live pipeline and
// returns its data dir.
func runLiveMulti(t *testing.T, byPair map[string][]market.Trade) string {
	t.Helper()
	srv, err := fakekraken.New(fakekraken.Config{Trades: byPair})
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var (
		names []string
		stop  time.Time
	)
	for p, ts := range byPair {
		names = append(names, p)
		if last := ts[len(ts)-1].TS; stop.IsZero() || last.Before(stop) {
			stop = last // the input ends once every pair reached it
		}
	}
	dir := t.TempDir()
	runPipelineFileFor(t, "pipelines/live.yaml", map[string]string{
		"TICKCAST_KRAKEN_WS_URL":   url,
		"TICKCAST_KRAKEN_REST_URL": fakekraken.RESTURL(url),
		"TICKCAST_REPAIR":          "false",
		"TICKCAST_REST_RATE":       "-1",
		"TICKCAST_PAIRS":           strings.Join(names, ","),
		"TICKCAST_CLOCK_SPEED":     "0",
		"TICKCAST_STOP_AT":         stop.Format(time.RFC3339Nano),
		"TICKCAST_DATA_DIR":        dir,
		"TICKCAST_BACKOFF_MIN":     "20ms",
	}, 3*time.Minute)
	return dir
}

// backfillMulti runs the backfill's steps over every pair's trades in
// chunks, then, with more than one pair, the cross step over all pairs, and
// returns the data dir.
func backfillMulti(t *testing.T, byPair map[string][]market.Trade, size time.Duration) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	var (
		pairs    []string
		from, to time.Time
	)
	for pair, trades := range byPair {
		pairs = append(pairs, pair)
		first, last := trades[0].TS.Truncate(24*time.Hour), trades[len(trades)-1].TS.Add(time.Nanosecond)
		if from.IsZero() || first.Before(from) {
			from = first
		}
		if last.After(to) {
			to = last
		}
		chunks := history.Chunks(pair, first, last, size)
		for _, c := range chunks {
			if _, err := history.ImportTrades(ctx, st, trades, c); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range chunks {
			if _, err := history.BuildChunk(ctx, st, dir, c, history.KindTrades, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(pairs) == 1 {
		return dir
	}
	for _, c := range history.Chunks("", from, to, size) {
		if _, err := history.CrossFeatures(ctx, st, dir, pairs, c.From, c.To, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
