package predict

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheKey(t *testing.T) {
	asOf := time.Date(2025, 5, 20, 0, 1, 0, 0, time.UTC)
	for _, tc := range []struct {
		pair   string
		h, v   int
		digest uint32
		want   string
	}{
		{"ETH/USDT", 1, 3, 0x9c8e2f01, "tickcast:pred:v4:ETH-USDT:h1:1747699260:9c8e2f01:v3"},
		{"ETH-USDT", 1, 3, 0x9c8e2f01, "tickcast:pred:v4:ETH-USDT:h1:1747699260:9c8e2f01:v3"},
		{"BTC/USD", 60, 0, 0xf, "tickcast:pred:v4:BTC-USD:h60:1747699260:0000000f:v0"},
	} {
		if got := CacheKey(tc.pair, tc.h, asOf, tc.digest, tc.v); got != tc.want {
			t.Errorf("CacheKey(%s, %d, %x, v%d) = %s, want %s", tc.pair, tc.h, tc.digest, tc.v, got, tc.want)
		}
	}
}

// A corrected row (same candle, other values: hand-written numbers) has
// another digest, so its prediction is never answered from the old row's.
func TestFeatureDigest(t *testing.T) {
	v := []float64{0.001, -0.002, 55.5}
	a := FeatureDigest(2000, v)
	if b := FeatureDigest(2000, append([]float64(nil), v...)); a != b {
		t.Errorf("same row, digests %x and %x", a, b)
	}
	if b := FeatureDigest(2000.5, v); a == b {
		t.Error("another close, same digest")
	}
	if b := FeatureDigest(2000, []float64{0.001, -0.002, 55.6}); a == b {
		t.Error("another value, same digest")
	}
}

func TestMemoryCacheTTLAndBound(t *testing.T) {
	ctx := context.Background()
	c := NewMemoryCache()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	if err := c.Set(ctx, "a", []byte("1"), time.Second); err != nil {
		t.Fatal(err)
	}
	_ = c.Set(ctx, "never", []byte("x"), 0)
	if v, ok, err := c.Get(ctx, "a"); !ok || err != nil || string(v) != "1" {
		t.Fatalf("Get a = %q %v %v", v, ok, err)
	}
	if _, ok, _ := c.Get(ctx, "never"); ok {
		t.Error("ttl 0 stored")
	}
	now = now.Add(time.Second)
	if _, ok, _ := c.Get(ctx, "a"); ok {
		t.Error("expired entry served")
	}
	// The entry set through the service's fast path reads as JSON.
	p := Prediction{Pair: "ETH-USDT", Horizon: 1, PredictedReturn: 1e-4}
	c.setPrediction("p", &p, time.Minute)
	if v, ok, _ := c.Get(ctx, "p"); !ok {
		t.Error("prediction missing")
	} else {
		var q Prediction
		if json.Unmarshal(v, &q) != nil || q != p {
			t.Errorf("decoded %+v, want %+v", q, p)
		}
	}
	// A value set as JSON reads on the fast path.
	b, _ := json.Marshal(p)
	_ = c.Set(ctx, "j", b, time.Minute)
	if q, ok := c.getPrediction([]byte("j")); !ok || q != p {
		t.Errorf("fast path of JSON entry: %+v %v", q, ok)
	}
	_ = c.Set(ctx, "bad", []byte("{"), time.Minute)
	if _, ok := c.getPrediction([]byte("bad")); ok {
		t.Error("undecodable entry served")
	}

	// Bounded: expired entries go first, then arbitrary ones.
	c = NewMemoryCache()
	c.max = 100
	c.now = func() time.Time { return now }
	for i := range 60 {
		_ = c.Set(ctx, CacheKey("ETH/USDT", 1, now, 0, i), []byte("x"), time.Second)
	}
	now = now.Add(2 * time.Second)
	for i := range 250 {
		_ = c.Set(ctx, CacheKey("BTC/USD", 1, now, 0, i), []byte("x"), time.Minute)
		if c.Len() > c.max {
			t.Fatalf("%d entries, bound %d", c.Len(), c.max)
		}
	}
	if _, ok, _ := c.Get(ctx, CacheKey("BTC/USD", 1, now, 0, 249)); !ok {
		t.Error("newest entry evicted")
	}
}

func TestMemoryCacheConcurrent(t *testing.T) {
	c := NewMemoryCache()
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := CacheKey("ETH/USDT", g, time.Unix(int64(i%7), 0), 0, 1)
				_ = c.Set(ctx, k, []byte("v"), time.Minute)
				c.getPrediction([]byte(k))
				_, _, _ = c.Get(ctx, k)
			}
		})
	}
	wg.Wait()
}

// recordingCache is a Cache that is not a *MemoryCache, so the service goes
// through the interface and JSON; it records TTLs.
type recordingCache struct {
	*MemoryCache
	mu   sync.Mutex
	ttls []time.Duration
}

func (c *recordingCache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	c.mu.Lock()
	c.ttls = append(c.ttls, ttl)
	c.mu.Unlock()
	return c.MemoryCache.Set(ctx, key, val, ttl)
}

func (c *recordingCache) lastTTL() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ttls) == 0 {
		return -1
	}
	return c.ttls[len(c.ttls)-1]
}

// A replica with a near cache answers from the shared cache what another
// replica computed, then from its own memory: one shared read per entry.
func TestNearCacheFillsFromShared(t *testing.T) {
	f := newRulesFixture(t)
	ctx := context.Background()
	clock := &testClock{now: f.row.TS.Add(15 * time.Second)}
	shared := &countingCache{MemoryCache: NewMemoryCache()}
	a := newService(t, Config{Registry: f.reg, Features: newLatest(f.row), Clock: clock, Cache: shared})
	b := newService(t, Config{Registry: f.reg, Features: newLatest(f.row), Clock: clock, Cache: shared})
	first, err := a.Predict(ctx, "ETH-USDT", 1, Options{})
	if err != nil || first.Cached {
		t.Fatalf("replica a: %+v, %v; want computed", first, err)
	}
	shared.gets.Store(0) // a's own miss
	for i := range 3 {
		p, err := b.Predict(ctx, "ETH-USDT", 1, Options{})
		if err != nil || !p.Cached || p.PredictedReturn != first.PredictedReturn {
			t.Fatalf("replica b, call %d: %+v, %v; want a hit of a's prediction", i, p, err)
		}
	}
	if n := shared.gets.Load(); n != 1 {
		t.Errorf("%d shared reads by replica b, want 1 (then its near cache)", n)
	}
}

type countingCache struct {
	*MemoryCache
	gets atomic.Int64
}

func (c *countingCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	c.gets.Add(1)
	return c.MemoryCache.Get(ctx, key)
}

// failingCache fails every call, as a Redis that is down does.
type failingCache struct{}

var errCacheDown = errors.New("cache down")

func (failingCache) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errCacheDown
}
func (failingCache) Set(context.Context, string, []byte, time.Duration) error {
	return errCacheDown
}

func TestPredictCache(t *testing.T) {
	f := newRulesFixture(t)
	ctx := context.Background()
	for _, mode := range []string{"memory", "interface", "near+interface"} {
		t.Run(mode, func(t *testing.T) {
			clock := &testClock{now: f.row.TS.Add(15 * time.Second)}
			feats := newLatest(f.row)
			var cache Cache = NewMemoryCache()
			rec := &recordingCache{MemoryCache: NewMemoryCache()}
			if mode != "memory" {
				cache = rec
			}
			s := newService(t, Config{Registry: f.reg, Features: feats, Clock: clock, Cache: cache, NoNearCache: mode == "interface"})
			miss, err := s.Predict(ctx, "ETH-USDT", 1, Options{})
			if err != nil || miss.Cached {
				t.Fatalf("first = %+v, %v", miss, err)
			}
			clock.Set(f.row.TS.Add(40 * time.Second))
			hit, err := s.Predict(ctx, "ETH/USDT", 1, Options{})
			if err != nil || !hit.Cached || hit.FeatureAgeMS != 40_000 {
				t.Fatalf("second = %+v, %v; want a hit aged 40s", hit, err)
			}
			hit.Cached, hit.FeatureAgeMS = miss.Cached, miss.FeatureAgeMS
			if hit != miss {
				t.Errorf("hit %+v ≠ miss %+v", hit, miss)
			}
			if p, _ := s.Predict(ctx, "ETH-USDT", 1, Options{NoCache: true}); p.Cached {
				t.Error("NoCache served from the cache")
			}
			if p, _ := s.Predict(ctx, "ETH-USDT", 5, Options{}); p.Cached {
				t.Error("another horizon hit h1's entry")
			}
			clock.Set(f.row.TS.Add(5 * time.Minute))
			if p, err := s.Predict(ctx, "ETH-USDT", 1, Options{AllowStale: true}); err != nil || !p.Cached || !p.Stale {
				t.Errorf("stale hit = %+v, %v; want cached and stale", p, err)
			}
			next := warmRow(t, 1)
			feats.Put(next)
			clock.Set(next.TS)
			if p, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil || p.Cached || !p.AsOf.Equal(next.TS) {
				t.Errorf("new row = %+v, %v; want a miss", p, err)
			}
			if s.CacheErrors() != 0 {
				t.Errorf("%d cache errors", s.CacheErrors())
			}
		})
	}
}

func TestPredictCacheTTL(t *testing.T) {
	f := newRulesFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		age   time.Duration // of the row on the market clock
		speed float64
		want  time.Duration
	}{
		{"real time", 15 * time.Second, 0, 45 * time.Second},
		{"speed 1", 59 * time.Second, 1, time.Second},
		{"replay 60x", 30 * time.Second, 60, 500 * time.Millisecond},
		{"next candle overdue", 90 * time.Second, 0, minCacheTTL},
		{"replay floor", 59*time.Second + 990*time.Millisecond, 100, minCacheTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingCache{MemoryCache: NewMemoryCache()}
			clock := &testClock{now: f.row.TS.Add(tc.age)}
			s := newService(t, Config{Registry: f.reg, Features: newLatest(f.row), Clock: clock, Cache: rec, Speed: tc.speed})
			if _, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil {
				t.Fatal(err)
			}
			if got := rec.lastTTL(); got != tc.want {
				t.Errorf("ttl %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPredictCacheFailures(t *testing.T) {
	f := newRulesFixture(t)
	ctx := context.Background()
	s := newService(t, Config{Registry: f.reg, Features: newLatest(f.row), Clock: f.clock, Cache: failingCache{}, NoNearCache: true})
	for i := range 3 {
		p, err := s.Predict(ctx, "ETH-USDT", 1, Options{})
		if err != nil || p.Cached || p.PredictedReturn != directPredict(t, f.art, f.row) {
			t.Fatalf("request %d = %+v, %v; want served uncached", i, p, err)
		}
	}
	if n := s.CacheErrors(); n != 6 {
		t.Errorf("%d cache errors, want 6 (a get and a set per request)", n)
	}

	// A value that does not decode, or is another model's, is recomputed.
	rec := &recordingCache{MemoryCache: NewMemoryCache()}
	s = newService(t, Config{Registry: f.reg, Features: newLatest(f.row), Clock: f.clock, Cache: rec, NoNearCache: true})
	key := CacheKey(ethPair, 1, f.row.TS, FeatureDigest(f.row.Close, f.row.Values[:]), 1)
	for _, bad := range []string{"{not json", `{"horizon":1,"model":{"name":"xgboost","version":9}}`} {
		_ = rec.MemoryCache.Set(ctx, key, []byte(bad), time.Minute)
		if p, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil || p.Cached {
			t.Errorf("corrupt entry %s: %+v, %v", bad, p, err)
		}
	}
	if n := s.CacheErrors(); n != 2 {
		t.Errorf("%d cache errors, want 2", n)
	}
}
