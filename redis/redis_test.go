package redis_test

import (
	"bufio"
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/redistest"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/redis"
	"github.com/tickcast/tickcast/wire"
)

var (
	_ predict.Cache    = (*redis.Cache)(nil)
	_ predict.Features = (*redis.Features)(nil)
)

// Real Binance 1-minute candles (shared/data README).
const (
	binanceETH = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"
	binanceBTC = "binance/klines/BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz"
)

// realRows returns n warm feature rows computed from the first real candles
// of a Binance file, oldest first.
func realRows(tb testing.TB, rel, pair string, n int) []market.FeatureRow {
	tb.Helper()
	f, err := archive.Open(realdata.Path(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var head bytes.Buffer // header + the candles needed
	sc := bufio.NewScanner(f)
	for i := 0; i <= market.FeatureWindow+n && sc.Scan(); i++ {
		head.Write(sc.Bytes())
		head.WriteByte('\n')
	}
	candles, err := archive.ParseCandles(&head, archive.BinanceKlines, pair, time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	feats := market.NewFeatures()
	var rows []market.FeatureRow
	for _, c := range candles {
		r, err := feats.Update(c)
		if err != nil {
			tb.Fatal(err)
		}
		if r.Warm {
			rows = append(rows, r)
		}
	}
	if len(rows) < n {
		tb.Fatalf("%s: %d warm rows, want %d", rel, len(rows), n)
	}
	return rows[len(rows)-n:]
}

func open(tb testing.TB, addr string, o redis.Options) *redis.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := redis.Open(ctx, addr, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return c
}

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func sameRow(a, b market.FeatureRow) bool {
	return bytes.Equal(wire.AppendJSON(nil, a), wire.AppendJSON(nil, b))
}

// eventually polls cond every 5ms for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestOpenFails(t *testing.T) {
	addr := redistest.Start(t)
	ctx := ctxT(t)
	if _, err := redis.Open(ctx, "127.0.0.1:1", redis.Options{}); err == nil {
		t.Error("open of a closed port succeeded")
	}
	if _, err := redis.Open(ctx, addr, redis.Options{DB: 99}); err == nil {
		t.Error("open of a database the server does not have succeeded")
	}
}
