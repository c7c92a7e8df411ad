package redis_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickcast/tickcast/internal/redistest"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/redis"
	"github.com/tickcast/tickcast/registry"
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

// TestCacheFrozenServer: the prediction service over the Redis cache alone
// (no near cache) keeps answering fast while Redis hangs (SIGSTOP): the
// first calls time out after CacheTimeout, then the breaker opens and
// misses compute without touching Redis; after SIGCONT a background probe
// closes the breaker and the cached prediction is served again within 5 s.
func TestCacheFrozenServer(t *testing.T) {
	if testing.Short() {
		t.Skip("freezes a redis-server")
	}
	srv := redistest.StartServer(t)
	client := open(t, srv.Addr, redis.Options{})
	svc := newService(t, client.Cache())
	ctx := ctxT(t)
	predictETH := func() (predict.Prediction, time.Duration) {
		start := time.Now()
		p, err := svc.Predict(ctx, "ETH-USDT", 1, predict.Options{})
		if err != nil {
			t.Error(err)
		}
		return p, time.Since(start)
	}
	if p, _ := predictETH(); p.Cached {
		t.Fatal("first prediction cached")
	}
	if p, _ := predictETH(); !p.Cached {
		t.Fatal("second prediction not served from Redis")
	}

	srv.Pause()
	const workers, frozen = 4, 2500 * time.Millisecond // two cooldowns: probes fail too
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for end := time.Now().Add(frozen); time.Now().Before(end); {
				p, d := predictETH()
				if p.Cached {
					t.Error("frozen: served from the cache")
				}
				lat[w] = append(lat[w], d)
			}
		})
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	p99 := all[len(all)*99/100]
	m := gather(t, client)
	t.Logf("frozen %v: %d predictions, p50 %v, p99 %v, max %v; metrics %v",
		frozen, len(all), all[len(all)/2], p99, all[len(all)-1], m)
	// Before the breaker opens a request pays at most a GET and a SET
	// timeout (the slack is for a shared, loaded machine and -race).
	if max := all[len(all)-1]; max > 2*redis.DefaultCacheTimeout+500*time.Millisecond {
		t.Errorf("frozen: a prediction took %v", max)
	}
	// Over 1% of the predictions waiting for a cache timeout would show here.
	if p99 >= redis.DefaultCacheTimeout {
		t.Errorf("frozen: p99 %v", p99)
	}
	// Only the calls before the breaker opened (and those then in flight)
	// went to Redis; every later one was skipped.
	sent := m[`tickcast_redis_cache_errors_total{op="get"}`] + m[`tickcast_redis_cache_errors_total{op="set"}`]
	skipped := m[`tickcast_redis_cache_skipped_total{op="get"}`] + m[`tickcast_redis_cache_skipped_total{op="set"}`]
	if sent > redis.DefaultBreakerFailures+workers || skipped < float64(len(all)) {
		t.Errorf("frozen: %v calls sent to Redis, %v skipped, of %d predictions", sent, skipped, len(all))
	}
	if m["tickcast_redis_breaker_state"] == 0 || m["tickcast_redis_breaker_opens_total"] != 1 {
		t.Errorf("frozen: breaker state %v, opened %v times; want open once",
			m["tickcast_redis_breaker_state"], m["tickcast_redis_breaker_opens_total"])
	}

	srv.Resume()
	resumed := time.Now()
	for {
		if p, _ := predictETH(); p.Cached {
			break
		}
		if time.Since(resumed) > 5*time.Second {
			t.Fatal("the cache was not used within 5s of SIGCONT")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("cache used again %v after SIGCONT", time.Since(resumed).Round(time.Millisecond))
	if state, opens := client.Breaker(); state != redis.BreakerClosed || opens != 1 {
		t.Errorf("resumed: breaker %v, opened %d times", state, opens)
	}
}

// gather scrapes c's Collector: value by name{op="…"}.
func gather(t *testing.T, c *redis.Client) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += fmt.Sprintf("{%s=%q}", l.GetName(), l.GetValue())
			}
			if m.Gauge != nil {
				out[name] = m.GetGauge().GetValue()
			} else {
				out[name] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// newService is a prediction service for ETH/USDT h1 (the zero-return
// baseline) over one real feature row, on a market clock at the row's
// time, with cache as its only cache.
func newService(t *testing.T, cache predict.Cache) *predict.Service {
	t.Helper()
	reg, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.EnsureBaseline(ctxT(t), "ETH/USDT", 1); err != nil {
		t.Fatal(err)
	}
	row := realRows(t, binanceETH, "ETH/USDT", 1)[0]
	var latest online.Latest
	latest.Put(row)
	clock := predict.NewMarketClock(1)
	clock.ObservePair(row.Pair, row.TS)
	svc, err := predict.New(predict.Config{Registry: reg, Features: &latest, Cache: cache, NoNearCache: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

// BenchmarkCacheBreakerOpen: a GET and a SET while Redis is frozen and the
// breaker open: what a request pays for the cache then.
func BenchmarkCacheBreakerOpen(b *testing.B) {
	srv := redistest.StartServer(b)
	client := open(b, srv.Addr, redis.Options{})
	c := client.Cache()
	ctx := context.Background()
	srv.Pause()
	defer srv.Resume()
	for state, _ := client.Breaker(); state == redis.BreakerClosed; state, _ = client.Breaker() {
		_, _, _ = c.Get(ctx, "k")
	}
	val := make([]byte, 320)
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = c.Get(ctx, "tickcast:pred:bench")
		_ = c.Set(ctx, "tickcast:pred:bench", val, time.Minute)
	}
}

// TestCacheAfterClose: calls after Close fail at once, and no probe starts.
func TestCacheAfterClose(t *testing.T) {
	srv := redistest.StartServer(t)
	client, err := redis.Open(ctxT(t), srv.Addr, redis.Options{BreakerFailures: 1, BreakerCooldown: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := client.Cache()
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := c.Get(ctxT(t), "k"); err == nil {
			t.Fatal("get after Close succeeded")
		}
		time.Sleep(2 * time.Millisecond) // past the cooldown: a probe would be due
	}
	if state, opens := client.Breaker(); state != redis.BreakerOpen || opens != 1 {
		t.Errorf("breaker %v, opened %d times", state, opens)
	}
}

// TestCacheBreakerRecoversWithoutTraffic: the probes run by themselves, so
// the breaker (and its metric) closes after Redis is back, with no request
// to trigger it.
func TestCacheBreakerRecoversWithoutTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("stops a redis-server")
	}
	srv := redistest.StartServer(t)
	client := open(t, srv.Addr, redis.Options{BreakerFailures: 1, BreakerCooldown: 50 * time.Millisecond})
	srv.Stop()
	if _, _, err := client.Cache().Get(ctxT(t), "k"); err == nil {
		t.Fatal("get from a stopped server succeeded")
	}
	if state, _ := client.Breaker(); state == redis.BreakerClosed {
		t.Fatal("breaker closed after a failure at threshold 1")
	}
	srv.Restart()
	eventually(t, "breaker to close", func() bool { state, _ := client.Breaker(); return state == redis.BreakerClosed })
}
