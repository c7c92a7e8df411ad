package connect

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/wire"
)

// BenchmarkPipelineReplay measures the whole pipeline — trade_replay input,
// candles, features, tickcast_store writing Parquet — at full speed. The
// stream is the real Kraken trade file replayed `repeat` times, each copy
// shifted one hour later (2,672 real trades per copy).
func BenchmarkPipelineReplay(b *testing.B) {
	path := realdata.Path(b, realdata.KrakenTrades1h)
	const repeat = 100
	vars := map[string]string{
		"TICKCAST_REPLAY_FILE": path,
		"TICKCAST_PAIR":        "BTC/USD",
		"TICKCAST_REPEAT":      strconv.Itoa(repeat),
	}
	var trades int
	b.ResetTimer()
	for b.Loop() {
		vars["TICKCAST_DATA_DIR"] = b.TempDir()
		runPipelineYAML(b, benchReplayYAML, vars)
		trades += 2672 * repeat
	}
	b.ReportMetric(float64(trades)/b.Elapsed().Seconds(), "trades/s")
}

const benchReplayYAML = `
input:
  trade_replay:
    paths: [ "${TICKCAST_REPLAY_FILE}" ]
    pair: "${TICKCAST_PAIR}"
    repeat: ${TICKCAST_REPEAT}
    batch_size: 2000
pipeline:
  threads: 1
  processors:
    - candles: { interval: 1m, grace: 2s }
    - features: {}
output:
  tickcast_store:
    data_dir: "${TICKCAST_DATA_DIR}"
    datasets: [ trades, candles, features ]
`

func runPipelineYAML(tb testing.TB, yaml string, vars map[string]string) {
	tb.Helper()
	env, err := NewEnvironment(Deps{Latest: &online.Latest{}})
	if err != nil {
		tb.Fatal(err)
	}
	bld := env.NewStreamBuilder()
	bld.SetEnvVarLookupFunc(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err := bld.SetYAML(yaml); err != nil {
		tb.Fatal(err)
	}
	stream, err := bld.Build()
	if err != nil {
		tb.Fatal(err)
	}
	if err := stream.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkCandleEmitLatency measures how long after end+grace a candle
// leaves the candles processor when no later trade closes it: the fake
// Kraken replays the first minute of the real trade file in real time, the
// pipeline uses 1 s windows with 0 grace, and for each candle the latency is
// its arrival at the consumer minus the wall time at which the stream clock
// reached end+grace (first trade's arrival + (end − first trade time)).
// Run with -benchtime 1x; it takes about 30 s.
func BenchmarkCandleEmitLatency(b *testing.B) {
	path := realdata.Path(b, realdata.KrakenTrades1h)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	trades, err := fakekraken.LoadTradesCSV(f, "BTC/USD", 1)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	cut := slices.IndexFunc(trades, func(t market.Trade) bool { return t.TS.Sub(trades[0].TS) > 30*time.Second })
	srv, err := fakekraken.New(fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades[:cut]}, Speed: 1, SnapshotSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()

	env, err := NewEnvironment(Deps{})
	if err != nil {
		b.Fatal(err)
	}
	bld := env.NewStreamBuilder()
	if err := bld.AddInputYAML(`kraken_trades: { url: "` + url + `", rest_url: "` + fakekraken.RESTURL(url) + `", rest_rate: -1, pairs: [BTC/USD], stop_at: "` +
		trades[cut-1].TS.Format(time.RFC3339Nano) + `" }`); err != nil {
		b.Fatal(err)
	}
	if err := bld.AddProcessorYAML(`candles: { interval: 1s, grace: 0s, emit_trades: true }`); err != nil {
		b.Fatal(err)
	}
	var (
		mu        sync.Mutex
		firstWall time.Time
		firstTS   time.Time
		lat       []time.Duration
	)
	err = bld.AddConsumerFunc(func(_ context.Context, m *service.Message) error {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		body, _ := m.AsBytes()
		switch kindOf(m) {
		case KindTrade:
			if t, err := wire.DecodeTrade(body); err == nil && firstWall.IsZero() {
				firstWall, firstTS = now, t.TS
			}
		case KindCandle:
			c, err := wire.DecodeCandle(body)
			if err != nil || firstWall.IsZero() || c.End.Equal(trades[cut-1].TS.Truncate(time.Second).Add(time.Second)) {
				return nil // the last window is closed by the final flush, not by time
			}
			due := firstWall.Add(c.End.Sub(firstTS))
			lat = append(lat, now.Sub(due))
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	stream, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := stream.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if len(lat) < 10 {
		b.Fatalf("only %d candles measured", len(lat))
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(lat)), "candles")
}
