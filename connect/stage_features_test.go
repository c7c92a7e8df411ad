package connect

import (
	"context"
	"errors"
	"github.com/redpanda-data/benthos/v4/public/service"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/kafkatest"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/parquet"
)

// startStage runs a stage pipeline file until stop (or the test's end).
func startStage(t *testing.T, file string, vars map[string]string) (stop func()) {
	t.Helper()
	return runTestStream(t, stageBuilder(t, file, vars))
}

// stageBuilder is a stream of a stage pipeline file with vars as its
// environment. The process's Prometheus exporter is cmd's; a test keeps
// Benthos' default.
func stageBuilder(tb testing.TB, file string, vars map[string]string) *service.StreamBuilder {
	tb.Helper()
	yaml, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	env, err := NewEnvironment(Deps{})
	if err != nil {
		tb.Fatal(err)
	}
	b := env.NewStreamBuilder()
	b.SetEnvVarLookupFunc(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err := b.SetYAML(strings.Replace(string(yaml), "tickcast_prometheus: {}", "none: {}", 1)); err != nil {
		tb.Fatal(err)
	}
	return b
}

// runTestStream builds b and runs it until stop (or the test's end).
func runTestStream(t *testing.T, b *service.StreamBuilder) (stop func()) {
	t.Helper()
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := s.Stop(ctx); err != nil {
				t.Error(err)
			}
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Logf("stream: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// stageVars are the variables of a stage replica over brokers and dataDir.
func stageVars(brokers, dataDir string) map[string]string {
	return map[string]string{
		"TICKCAST_KAFKA_BROKERS":  brokers,
		"TICKCAST_DATA_DIR":       dataDir,
		"TICKCAST_WARM_START":     dataDir,
		"TICKCAST_FLUSH_INTERVAL": "200ms",
	}
}

// TestStageFeaturesRealBroker: the real Kraken trades of 2019-07-01 00:00–01:00
// through a real Kafka broker — trades topic → stage-candles → candles topic →
// stage-features → the Parquet store — give the candles and feature rows that
// live.yaml gives in one process over the same trades.
func TestStageFeaturesRealBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: Kafka broker + two stages")
	}
	seeds := kafkatest.Start(t)
	brokers := strings.Join(seeds, ",")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ApplyKafkaTopics(ctx, seeds, 2, 1); err != nil {
		t.Fatal(err)
	}
	recs := stageRecords(t)
	for _, r := range recs {
		r.Timestamp = time.Time{} // produce time, as the ingest stage's output leaves it
	}
	produceRaw(t, brokers, recs...)
	dir := t.TempDir()
	startStage(t, "pipelines/stage-candles.yaml", stageVars(brokers, dir))
	startStage(t, "pipelines/stage-features.yaml", stageVars(brokers, dir))

	live := runLive(t, realdata.Path(t, realdata.KrakenTrades1h), liveRun{})
	want := readPairJSON(t, live.dataDir, "features", "BTC/USD")
	waitStage(t, "the stage's feature rows", func() bool {
		rs, err := parquet.ReadFeatures(datadir.Parquet(dir), "BTC/USD", time.Time{}, time.Time{})
		return err == nil && len(rs) >= len(want)
	})
	time.Sleep(500 * time.Millisecond) // a later flush would still overwrite: let it land
	for _, ds := range []string{"candles", "features"} {
		got, want := readPairJSON(t, dir, ds, "BTC/USD"), readPairJSON(t, live.dataDir, ds, "BTC/USD")
		if len(want) != 60 || len(got) != len(want) {
			t.Fatalf("%s: %d rows from the stages, %d from live.yaml; want 60", ds, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s row %d:\nstages: %s\nlive:   %s", ds, i, got[i], want[i])
				break
			}
		}
	}
	if _, err := os.Stat(datadir.Parquet(dir) + "/_fence/BTC-USD.json"); err != nil {
		t.Errorf("no fence written: %v", err)
	}
}
