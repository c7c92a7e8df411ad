package main

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/tickcast/tickcast/internal/datadir"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/redistest"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/redis"
	"github.com/tickcast/tickcast/registry"
)

// An API replica over a real Redis and a shared data dir: it serves the
// features a pipeline put, caches in Redis, and pushes newer rows.
func TestServeReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: Redis + API")
	}
	ctx := context.Background()
	redisAddr := redistest.Start(t)
	dir := t.TempDir()
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.EnsureBaseline(ctx, "ETH/USDT", 1); err != nil {
		t.Fatal(err)
	}
	candles, rows := shiftedETH(t, 200)
	store, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.AddCandles(candles[:len(candles)-1]); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(ctx); err != nil {
		t.Fatal(err)
	}
	client, err := redis.Open(ctx, redisAddr, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	pipeline := client.Features("") // as the tickcast_redis_features output writes
	for _, r := range rows[len(rows)-5 : len(rows)-1] {
		if err := pipeline.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	addr := freeAddr(t)
	defer startServe(t, "--redis", redisAddr, "--data-dir", dir, "--http", addr, "--replica", "test-a", "--stale-after", "5")()
	base := "http://" + addr
	waitReady(t, base)

	for i, wantCached := range []bool{false, true} {
		code, body := httpGet(base + "/v1/predictions/ETH-USDT")
		var p predict.Prediction
		if err := json.Unmarshal(body, &p); err != nil || code != http.StatusOK {
			t.Fatalf("GET %d: %d %s", i, code, body)
		}
		if p.Model.Version != 0 || p.Cached != wantCached || !p.AsOf.Equal(rows[len(rows)-2].TS) {
			t.Errorf("GET %d: model v%d cached %v as_of %s, want v0 %v %s", i, p.Model.Version, p.Cached, p.AsOf, wantCached, rows[len(rows)-2].TS)
		}
	}
	// The dashboard's candles come from the Parquet store.
	var cs struct{ Candles []json.RawMessage }
	code, body := httpGet(base + "/v1/candles/ETH-USDT?limit=10")
	if err := json.Unmarshal(body, &cs); err != nil || code != http.StatusOK || len(cs.Candles) != 10 {
		t.Errorf("GET candles: %d %s", code, body)
	}

	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1/stream?pairs=ETH-USDT", nil)
	if err != nil {
		t.Fatalf("dial stream: %v", err)
	}
	resp.Body.Close()
	defer ws.Close()
	readFrame(t, ws, "subscribed")
	newest := rows[len(rows)-1]
	if err := pipeline.Put(ctx, newest); err != nil {
		t.Fatal(err)
	}
	for {
		var f struct{ Prediction predict.Prediction }
		readFrame(t, ws, "prediction", &f)
		if f.Prediction.AsOf.Equal(newest.TS) {
			break
		}
	}
}

// shiftedETH returns the last n real Binance ETH/USDT candles and their
// feature rows with timestamps shifted so that the next-to-last candle ends
// at the current minute: predictions age on the wall clock, and 2025's rows
// would be stale. The last row is the "next candle", a minute ahead.
func shiftedETH(t *testing.T, n int) ([]market.Candle, []market.FeatureRow) {
	t.Helper()
	all, _, err := archive.ReadCandles(realdata.Path(t, realdata.BinanceETH90d), archive.BinanceKlines, "ETH/USDT")
	if err != nil {
		t.Fatal(err)
	}
	cs := all[len(all)-n:]
	shift := time.Now().UTC().Truncate(time.Minute).Sub(cs[n-2].End)
	feats := market.NewFeatures()
	rows := make([]market.FeatureRow, n)
	for i := range cs {
		cs[i].Start, cs[i].End = cs[i].Start.Add(shift), cs[i].End.Add(shift)
		if rows[i], err = feats.Update(cs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if !rows[n-1].Warm {
		t.Fatal("rows not warm")
	}
	return cs, rows
}

// startServe runs `tickcast serve args…` until the returned stop, which
// checks that it ended cleanly (its output logged when the test failed).
func startServe(t *testing.T, args ...string) (stop func()) {
	t.Helper()
	var out, errOut lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), func(string) string { return "" }, &out, &errOut)
	}()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := httpGet(base + "/readyz")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 30s: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readFrame reads stream frames until one of type typ, decoded into v.
func readFrame(t *testing.T, ws *websocket.Conn, typ string, v ...any) {
	t.Helper()
	for {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read stream waiting for %s: %v", typ, err)
		}
		var f struct{ Type string }
		if err := json.Unmarshal(msg, &f); err != nil {
			t.Fatalf("frame %s: %v", msg, err)
		}
		if f.Type != typ {
			continue
		}
		if len(v) > 0 {
			if err := json.Unmarshal(msg, v[0]); err != nil {
				t.Fatalf("frame %s: %v", msg, err)
			}
		}
		return
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve"}, // no --redis
		{"serve", "--redis", "127.0.0.1:1", "--http", ""},
		{"serve", "--redis", "127.0.0.1:1", "--replica", "a/b"},
		{"serve", "--redis", "127.0.0.1:1", "--interval", "0s"},
		{"serve", "--redis", "127.0.0.1:1", "extra"},
	} {
		if _, err := runCmd(t, args...); !errors.Is(err, errUsage) {
			t.Errorf("tickcast %v: %v, want a usage error", args, err)
		}
	}
}
