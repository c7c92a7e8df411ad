package connect

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/kafkatest"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// Parity of the distributed stages on a real Kafka broker: the same trades
// through the fake Kraken → stage-ingest → trades → stage-candles → candles →
// stage-features → the Parquet store, and through live.yaml in one process,
// give identical candles and feature rows: the real trade hour, and three
// days of trades reconstructed from real Kraken minute candles.
func TestStagesParityRealBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: Kafka broker + three stages + live.yaml")
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
		checkStagesParity(t, trades, 60)
	})
	const days = 3
	t.Run("trades reconstructed from real Kraken candles", func(t *testing.T) {
		trades := reconstructedDays(t, "BTC/USD", days)
		t.Logf("%d days: %d reconstructed trades", days, len(trades))
		checkStagesParity(t, trades, days*24*60)
	})
}

// reconstructedDays are trades rebuilt from the first days of the real
// Kraken XBTUSD minute candles of March 2023.
func reconstructedDays(t *testing.T, pair string, days int) []market.Trade {
	t.Helper()
	path := realdata.Path(t, realdata.KrakenXBT1m21d)
	candles, _, err := archive.ReadCandles(path, archive.KrakenOHLCVT, pair)
	if err != nil {
		t.Fatal(err)
	}
	end := candles[0].Start.Truncate(24*time.Hour).AddDate(0, 0, days)
	n := 0
	for n < len(candles) && candles[n].Start.Before(end) {
		n++
	}
	return fakekraken.ReconstructTrades(candles[:n], 1)
}

func checkStagesParity(t *testing.T, trades []market.Trade, wantRows int) {
	t.Helper()
	begin := time.Now()
	pair := trades[0].Pair
	live := runLiveTrades(t, trades, liveRun{})
	liveTook := time.Since(begin)

	begin = time.Now()
	dir := runStages(t, trades)
	waitStageFor(t, 3*time.Minute, "the stages' feature rows", func() bool {
		rs, err := parquet.ReadFeatures(datadir.Parquet(dir), pair, time.Time{}, time.Time{})
		return err == nil && len(rs) >= wantRows
	})
	time.Sleep(time.Second) // a later flush would still overwrite: let it land
	t.Logf("live.yaml %v; the stages on Kafka %v", liveTook.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
	for _, ds := range []string{"candles", "features"} {
		got, want := readPairJSON(t, dir, ds, pair), readPairJSON(t, live.dataDir, ds, pair)
		if len(want) != wantRows || len(got) != len(want) {
			t.Fatalf("%s: %d rows from the stages, %d from live.yaml; want %d", ds, len(got), len(want), wantRows)
		}
		diff := 0
		for i := range want {
			if got[i] != want[i] {
				if diff++; diff <= 3 {
					t.Errorf("%s row %d:\nstages: %s\nlive:   %s", ds, i, got[i], want[i])
				}
			}
		}
		if diff > 0 {
			t.Errorf("%s: %d of %d rows differ", ds, diff, len(want))
		}
	}
}

// runStages starts a broker and the three stages over the fake Kraken
// replaying trades at full speed; it returns the stages' data directory
// once the ingest stage has replayed everything.
func runStages(t *testing.T, trades []market.Trade) string {
	t.Helper()
	seeds := kafkatest.StartCluster(t, 1).Brokers
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ApplyKafkaTopics(ctx, seeds, 2, 1); err != nil {
		t.Fatal(err)
	}
	pair := trades[0].Pair
	srv, err := fakekraken.New(fakekraken.Config{Trades: map[string][]market.Trade{pair: trades}})
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	vars := stageVars(strings.Join(seeds, ","), dir)
	startStage(t, "pipelines/stage-candles.yaml", vars)
	startStage(t, "pipelines/stage-features.yaml", vars)
	ingest := map[string]string{
		"TICKCAST_KRAKEN_WS_URL":   url,
		"TICKCAST_KRAKEN_REST_URL": fakekraken.RESTURL(url),
		"TICKCAST_REPAIR":          "false",
		"TICKCAST_REST_RATE":       "-1",
		"TICKCAST_PAIRS":           pair,
		"TICKCAST_CLOCK_SPEED":     "0",
		"TICKCAST_STOP_AT":         trades[len(trades)-1].TS.Format(time.RFC3339Nano),
		"TICKCAST_BACKOFF_MIN":     "20ms",
	}
	for k, v := range vars {
		ingest[k] = v
	}
	runStageToEnd(t, "pipelines/stage-ingest.yaml", ingest, 3*time.Minute)
	return dir
}

// runStageToEnd runs a stage whose input ends (a replay to stop_at).
func runStageToEnd(t *testing.T, file string, vars map[string]string, limit time.Duration) {
	t.Helper()
	s, err := stageBuilder(t, file, vars).Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func waitStageFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
