package redis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/redistest"
	"github.com/tickcast/tickcast/redis"
)

func TestCacheGetSet(t *testing.T) {
	c := open(t, redistest.Start(t), redis.Options{}).Cache()
	ctx := ctxT(t)
	if _, ok, err := c.Get(ctx, "tickcast:pred:missing"); ok || err != nil {
		t.Fatalf("missing key: ok %v err %v", ok, err)
	}
	val := []byte(`{"pair":"ETH-USDT","horizon":1}`)
	if err := c.Set(ctx, "k", val, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Get(ctx, "k")
	if err != nil || !ok || string(got) != string(val) {
		t.Fatalf("get = %q, %v, %v; want %q", got, ok, err, val)
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := c.Set(ctx, "expired", val, ttl); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := c.Get(ctx, "expired"); ok || err != nil {
			t.Errorf("ttl %v stored a value (err %v)", ttl, err)
		}
	}
}

func TestCacheTTL(t *testing.T) {
	c := open(t, redistest.Start(t), redis.Options{}).Cache()
	ctx := ctxT(t)
	// 150.5ms rounds up to 151ms: Redis keeps milliseconds.
	if err := c.Set(ctx, "short", []byte("v"), 150*time.Millisecond+500*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Get(ctx, "short"); !ok || err != nil {
		t.Fatalf("fresh entry: ok %v err %v", ok, err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, ok, err := c.Get(ctx, "short"); ok || err != nil {
		t.Fatalf("expired entry: ok %v err %v", ok, err)
	}
}

// TestCacheServerGone: a stopped or frozen Redis makes the cache fail
// fast with an error, never hang, and the cache recovers with the server.
func TestCacheServerGone(t *testing.T) {
	if testing.Short() {
		t.Skip("stops and freezes a redis-server")
	}
	const readTimeout = 200 * time.Millisecond
	srv := redistest.StartServer(t)
	c := open(t, srv.Addr, redis.Options{ReadTimeout: readTimeout}).Cache()
	ctx := ctxT(t)
	if err := c.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	fails := func(what string) {
		t.Helper()
		start := time.Now()
		if _, _, err := c.Get(ctx, "k"); err == nil {
			t.Errorf("%s: get succeeded", what)
		}
		if err := c.Set(ctx, "k", []byte("v"), time.Minute); err == nil {
			t.Errorf("%s: set succeeded", what)
		}
		// Two calls, each at most one retry of a read timeout.
		if took := time.Since(start); took > 8*readTimeout {
			t.Errorf("%s: failing took %v", what, took)
		}
	}
	works := func(what string) {
		t.Helper()
		eventually(t, what, func() bool { return c.Set(ctx, "k", []byte("v"), time.Minute) == nil })
		if _, ok, err := c.Get(ctx, "k"); !ok || err != nil {
			t.Errorf("%s: get ok %v err %v", what, ok, err)
		}
	}

	srv.Pause()
	fails("paused")
	srv.Resume()
	works("resumed")

	srv.Stop()
	fails("stopped")
	// A caller's deadline also bounds a call.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := c.Get(short, "k"); err == nil {
		t.Error("stopped: get with deadline succeeded")
	}
	srv.Restart()
	works("restarted")
}

func BenchmarkCacheGet(b *testing.B) {
	c := open(b, redistest.Start(b), redis.Options{}).Cache()
	ctx := context.Background()
	val := make([]byte, 320) // about one encoded prediction
	const keys = 64
	for i := range keys {
		if err := c.Set(ctx, "tickcast:pred:bench:"+strconv.Itoa(i), val, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok, err := c.Get(ctx, "tickcast:pred:bench:"+strconv.Itoa(i%keys)); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, ok, err := c.Get(ctx, "tickcast:pred:bench:"+strconv.Itoa(i%keys)); !ok || err != nil {
					b.Error(ok, err)
					return
				}
			}
		})
	})
}
