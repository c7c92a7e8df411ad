package connect_test

import (
	"context"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"go/build"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/connect"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/wire"
	"github.com/tickcast/tickcast/workflows"
)

// BenchmarkCandleEmitWhileTraining measures the candle emit latency after
// end+grace of a live-speed stream, first alone ("idle"), then while the
// same process trains without pause ("training"): back-to-back 20-trial
// Train workflows (dataset, tune, final fit, evaluation, registry, gate) of
// ETH/USDT h1 on the 90 real Binance days, run by a real Temporal worker of
// this process against a dev server (the temporal CLI of `make temporal-cli`)
// — what `tickcast run` does during its bootstrap and every retraining.
//
// The stream: the first TICKCAST_EMIT_SECONDS (60) of the real Kraken trade
// hour, served in real time by the fake Kraken as two pairs (BTC/USD and
// ETH/USD, the same trades), through kraken_trades and candles (1 s windows,
// 0 s grace, so most windows close on a clock tick). Latency = the exchange
// clock (fakekraken.Server.Now, the stream's clock live) when the candle
// reaches the consumer after the candles processor − its end + grace.
//
// Knobs, for comparing bounds on training: TICKCAST_TRAIN_CONCURRENCY (the
// request's trials at once; 0 = the default) and TICKCAST_MAX_ACTIVITIES
// (the worker's MaxConcurrentActivityExecutionSize; 8 as `tickcast worker`).
// Run with -benchtime 1x; it takes about 2 × 60 s plus a few seconds to
// build the store.
func BenchmarkCandleEmitWhileTraining(b *testing.B) {
	secs := envInt("TICKCAST_EMIT_SECONDS", 60)
	trades := hourTrades(b, time.Duration(secs)*time.Second)
	dir := binanceStore(b)
	c := devServer(b)
	w := worker.New(c, "emit-bench", worker.Options{
		MaxConcurrentActivityExecutionSize: envInt("TICKCAST_MAX_ACTIVITIES", 8),
		WorkerStopTimeout:                  time.Second,
		MaxHeartbeatThrottleInterval:       2 * time.Second,
	})
	temporalclient.Register(w, &activities.Activities{Logger: quiet(), DataDir: dir})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	req := workflows.TrainRequest{Pair: "ETH/USDT", Horizon: 1, Trials: 20, DataDir: dir,
		Concurrency: envInt("TICKCAST_TRAIN_CONCURRENCY", 0)}
	for _, training := range []bool{false, true} {
		name := map[bool]string{false: "idle", true: "training"}[training]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				var trains []time.Duration
				ctx, stop := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					defer close(done)
					if training {
						trains = trainLoop(ctx, b, c, req)
					}
				}()
				lat := emitLatencies(b, trades)
				stop()
				<-done
				reportLatency(b, lat, trains)
			}
		})
	}
}

// trainLoop runs Train again and again until ctx ends, and returns the wall
// time of each run that completed.
func trainLoop(ctx context.Context, b *testing.B, c client.Client, req workflows.TrainRequest) []time.Duration {
	var out []time.Duration
	for i := 0; ctx.Err() == nil; i++ {
		req.Seed = int64(i + 1)
		opts := client.StartWorkflowOptions{ID: fmt.Sprintf("emit-bench-train-%d-%d", time.Now().UnixNano(), i), TaskQueue: "emit-bench"}
		start := time.Now()
		run, err := c.ExecuteWorkflow(context.Background(), opts, workflows.Train, req)
		if err != nil {
			b.Error(err)
			return out
		}
		if err := run.Get(ctx, nil); err != nil {
			if ctx.Err() != nil { // the stream is done: stop training
				_ = c.CancelWorkflow(context.Background(), run.GetID(), "")
				return out
			}
			b.Error(err)
			return out
		}
		out = append(out, time.Since(start))
	}
	return out
}

// emitLatencies streams trades through the fake Kraken in real time into
// kraken_trades → candles and returns each candle's latency after end+grace
// on the exchange clock: first emissions only (the last window, closed by
// the final flush, left out).
func emitLatencies(b *testing.B, trades []market.Trade) []time.Duration {
	eth := slices.Clone(trades)
	for i := range eth {
		eth[i].Pair = "ETH/USD"
	}
	srv, err := fakekraken.New(fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades, "ETH/USD": eth}, Speed: 1, SnapshotSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	env, err := connect.NewEnvironment(connect.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	last := trades[len(trades)-1].TS
	bld := env.NewStreamBuilder()
	if err := bld.SetLoggerYAML(`level: warn`); err != nil {
		b.Fatal(err)
	}
	if err := bld.AddInputYAML(`kraken_trades: { url: "` + url + `", rest_url: "` + fakekraken.RESTURL(url) + `", rest_rate: -1, pairs: [BTC/USD, ETH/USD], stop_at: "` + last.Format(time.RFC3339Nano) + `" }`); err != nil {
		b.Fatal(err)
	}
	if err := bld.AddProcessorYAML(`candles: { interval: 1s, grace: 0s }`); err != nil {
		b.Fatal(err)
	}
	lastEnd := last.Truncate(time.Second).Add(time.Second)
	var (
		mu   sync.Mutex
		lat  []time.Duration
		seen = map[string]bool{}
	)
	// The exchange clock runs at wall speed once the replay starts: sample
	// its offset outside the consumer (Server.Now takes the lock the replay
	// holds while it publishes to this very stream).
	var offset atomic.Int64
	sampler := time.NewTicker(100 * time.Millisecond)
	defer sampler.Stop()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-sampler.C:
				offset.Store(int64(time.Until(srv.Now())))
			}
		}
	}()
	err = bld.AddConsumerFunc(func(_ context.Context, m *service.Message) error {
		now := time.Now().Add(time.Duration(offset.Load()))
		if k, _ := m.MetaGet(connect.MetaKind); k != connect.KindCandle {
			return nil
		}
		body, _ := m.AsBytes()
		c, err := wire.DecodeCandle(body)
		if err != nil || !c.End.Before(lastEnd) || c.Revision > 0 {
			return nil // corrections are not emit latency
		}
		mu.Lock()
		if !seen[c.Pair+c.Start.String()] {
			seen[c.Pair+c.Start.String()] = true
			lat = append(lat, now.Sub(c.End))
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	stream, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), last.Sub(trades[0].TS)+time.Minute)
	defer cancel()
	if err := stream.Run(ctx); err != nil {
		b.Fatal(err)
	}
	return lat
}

func reportLatency(b *testing.B, lat, trains []time.Duration) {
	if len(lat) < 10 {
		b.Fatalf("only %d candles measured", len(lat))
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	b.ReportMetric(ms(q(0.5)), "p50-ms")
	b.ReportMetric(ms(q(0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(float64(len(lat)), "candles")
	b.ReportMetric(float64(len(trains)), "trainings")
	if len(trains) > 0 {
		slices.Sort(trains)
		b.ReportMetric(trains[len(trains)/2].Seconds(), "train-s")
	}
}

// hourTrades are the first d of the real Kraken trade hour.
func hourTrades(b *testing.B, d time.Duration) []market.Trade {
	f, err := os.Open(realdata.Path(b, realdata.KrakenTrades1h))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	trades, err := fakekraken.LoadTradesCSV(f, "BTC/USD", 1)
	if err != nil {
		b.Fatal(err)
	}
	if cut := slices.IndexFunc(trades, func(t market.Trade) bool { return t.TS.Sub(trades[0].TS) > d }); cut > 0 {
		trades = trades[:cut]
	}
	return trades
}

// binanceStore backfills the 90 real days of ETH/USDT 1-minute candles into
// a fresh store (candles and feature rows), as `tickcast backfill --source
// archive` does.
func binanceStore(b *testing.B) string {
	path := realdata.Path(b, realdata.BinanceETH90d)
	dir := b.TempDir()
	candles, _, err := archive.ReadCandles(path, archive.BinanceKlines, "ETH/USDT")
	if err != nil {
		b.Fatal(err)
	}
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ch := history.Chunk{Pair: "ETH/USDT", From: candles[0].Start.Truncate(24 * time.Hour), To: candles[len(candles)-1].End.Truncate(24 * time.Hour).Add(24 * time.Hour)}
	if _, err := history.ImportCandles(ctx, st, candles, ch); err != nil {
		b.Fatal(err)
	}
	if _, err := history.BuildChunk(ctx, st, dir, ch, activities.KindCandles, time.Minute); err != nil {
		b.Fatal(err)
	}
	if err := st.Close(ctx); err != nil {
		b.Fatal(err)
	}
	return dir
}

// devServer starts a Temporal dev server (stopped when the benchmark ends)
// and returns its client, or skips without the temporal CLI.
func devServer(b *testing.B) client.Client {
	bin := os.Getenv("TICKCAST_TEMPORAL_BIN")
	if bin == "" {
		bin = filepath.Join(build.Default.GOPATH, "bin", "temporal-v1.5.1")
	}
	if _, err := os.Stat(bin); err != nil {
		b.Skipf("no temporal CLI at %s (make temporal-cli, or set TICKCAST_TEMPORAL_BIN): %v", bin, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  bin,
		LogLevel:      "error",
		Stdout:        io.Discard,
		ClientOptions: &client.Options{Logger: tlog.NewStructuredLogger(quiet())},
	})
	if err != nil {
		b.Fatalf("dev server: %v", err)
	}
	b.Cleanup(func() { _ = srv.Stop() })
	return srv.Client()
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
