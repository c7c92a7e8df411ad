package connect

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/redistest"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/redis"
	"github.com/tickcast/tickcast/wire"
)

// binanceCandles returns the first n real 1-minute ETH/USDT candles of the
// Binance file in shared/data.
func binanceCandles(tb testing.TB, n int) []market.Candle {
	tb.Helper()
	f, err := archive.Open(realdata.Path(tb, "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var head bytes.Buffer
	sc := bufio.NewScanner(f)
	for i := 0; i <= n && sc.Scan(); i++ { // header + n rows
		head.Write(sc.Bytes())
		head.WriteByte('\n')
	}
	cs, err := archive.ParseCandles(&head, archive.BinanceKlines, "ETH/USDT", time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

func openRedis(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c, err := redis.Open(context.Background(), addr, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisFeaturesOutputConnectFails(t *testing.T) {
	conf := mustParse(t, redisFeaturesOutputSpec(), `address: "127.0.0.1:1"`)
	out, err := redisFeaturesOutputFromConfig(conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Connect(context.Background()); err == nil {
		t.Error("connect to a closed port succeeded")
	}
	if out.prefix != redis.DefaultFeaturesPrefix {
		t.Errorf("default prefix %q", out.prefix)
	}
}

func TestRedisFeaturesOutputWrites(t *testing.T) {
	addr := redistest.Start(t)
	conf := mustParse(t, redisFeaturesOutputSpec(), fmt.Sprintf("address: %q\nprefix: test:out", addr))
	out, _, inFlight, err := newRedisFeaturesOutput(slog.New(slog.DiscardHandler))(conf, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	if inFlight != 1 {
		t.Errorf("max in flight %d, want 1", inFlight)
	}
	ctx := context.Background()
	if err := out.WriteBatch(ctx, nil); !errors.Is(err, service.ErrNotConnected) {
		t.Errorf("write before connect: %v, want ErrNotConnected", err)
	}
	if err := out.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	store := openRedis(t, addr).Features("test:out")
	sub, err := store.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}

	candles := binanceCandles(t, market.FeatureWindow+3)
	feats := market.NewFeatures()
	var rows []market.FeatureRow
	for _, c := range candles {
		r, err := feats.Update(c)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	last := rows[len(rows)-1]
	c := candles[0]
	batch := service.MessageBatch{
		newRecord(KindCandle, c.Pair, wire.AppendJSON(nil, c), c),                         // ignored
		newRecordMessage(KindFeature, "ETH/USDT", []byte(`{"pair":"ETH/USDT"}`)),          // malformed: skipped
		newRecordMessage(KindFeature, last.Pair, wire.AppendJSON(nil, rows[len(rows)-2])), // decoded from JSON
		newRecord(KindFeature, last.Pair, wire.AppendJSON(nil, last), last),               // carries its record
		newRecordMessage(KindFeature, last.Pair, wire.AppendJSON(nil, rows[0])),           // older: not kept
	}
	if err := out.WriteBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for _, want := range rows[len(rows)-2:] {
		select {
		case got := <-sub:
			if !bytes.Equal(wire.AppendJSON(nil, got), wire.AppendJSON(nil, want)) {
				t.Errorf("published %v, want %v", got.TS, want.TS)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("nothing published")
		}
	}
	got, ok := store.Get("ETH-USDT")
	if !ok || !bytes.Equal(wire.AppendJSON(nil, got), wire.AppendJSON(nil, last)) || !got.Warm {
		t.Errorf("stored %v %+v, want the last (warm) row at %v", ok, got, last.TS)
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRedisFeaturesOutputPipeline runs real candles through a Benthos
// stream — features processor, then this output — into a real Redis.
func TestRedisFeaturesOutputPipeline(t *testing.T) {
	addr := redistest.Start(t)
	env, err := NewEnvironment(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	// The integrator registers the output in env.go; the test does it here.
	if err := env.RegisterBatchOutput("tickcast_redis_features", redisFeaturesOutputSpec(),
		newRedisFeaturesOutput(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	b := env.NewStreamBuilder()
	b.SetThreads(1)
	if err := b.AddProcessorYAML(`features: {}`); err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML(fmt.Sprintf("tickcast_redis_features: { address: %q, prefix: test:pipe }", addr)); err != nil {
		t.Fatal(err)
	}
	candles := binanceCandles(t, market.FeatureWindow+30)
	send, err := b.AddBatchProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	stream, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- stream.Run(ctx) }()
	store := openRedis(t, addr).Features("test:pipe")
	sub, err := store.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(candles); i += 16 {
		var batch service.MessageBatch
		for _, c := range candles[i:min(i+16, len(candles))] {
			batch = append(batch, newRecord(KindCandle, c.Pair, wire.AppendJSON(nil, c), c))
		}
		if err := send(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	// Every row arrives, in order, equal to the features computed here.
	feats := market.NewFeatures()
	for _, c := range candles {
		want, err := feats.Update(c)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-sub:
			if !bytes.Equal(wire.AppendJSON(nil, got), wire.AppendJSON(nil, want)) {
				t.Fatalf("row at %v: got %s\nwant %s", want.TS, wire.AppendJSON(nil, got), wire.AppendJSON(nil, want))
			}
		case <-ctx.Done():
			t.Fatalf("row at %v not published", want.TS)
		}
	}
	if got, ok := store.Get("ETH/USDT"); !ok || !got.Warm || !got.TS.Equal(candles[len(candles)-1].End) {
		t.Errorf("newest row %v %v warm %v, want warm at %v", ok, got.TS, got.Warm, candles[len(candles)-1].End)
	}
	if err := stream.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("stream run: %v", err)
	}
}
