package predict

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cacheKeyPrefix versions the key layout and the encoding of the values: a
// change to either must change it, so that old entries are never decoded.
// v3: predictions carry the products, and keys their versions; v4: model
// references carry trained_at and updated_at.
const cacheKeyPrefix = "tickcast:pred:v4:"

// CacheKey is the cache key of the prediction of pair (any spelling with a
// separator; written as its slug) at horizon from the row at asOf with
// feature values digest (FeatureDigest) by return model version:
// "tickcast:pred:v4:ETH-USDT:h1:1747699260:9c8e2f01:v3". The digest keeps
// a corrected row (same candle, repaired trades) from being answered with
// the prediction of the row it replaced. A pair × horizon that also serves
// other products appends each one's version (":vol2:quantiles2:p_up0"), so
// a new champion of any product is a new key.
func CacheKey(pair string, horizon int, asOf time.Time, digest uint32, version int) string {
	return string(appendCacheKey(make([]byte, 0, 64), slugOf(pair), horizon, asOf, digest, version))
}

func appendCacheKey(b []byte, slug string, horizon int, asOf time.Time, digest uint32, version int) []byte {
	b = append(b, cacheKeyPrefix...)
	b = append(b, slug...)
	b = append(b, ":h"...)
	b = strconv.AppendInt(b, int64(horizon), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, asOf.Unix(), 10)
	b = append(b, ':')
	const hex = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, hex[digest>>uint(shift)&0xf])
	}
	b = append(b, ":v"...)
	return strconv.AppendInt(b, int64(version), 10)
}

// appendProductVersions appends ":<product><version>" for each product
// model of set beyond the return one.
func appendProductVersions(b []byte, set *modelSet) []byte {
	for _, m := range set[slotReturn+1:] {
		if m != nil {
			b = append(b, ':')
			b = append(b, m.meta.Product...)
			b = strconv.AppendInt(b, int64(m.meta.Version), 10)
		}
	}
	return b
}

// made reports whether the products of p (a cached value) are those of
// set's versions: a value whose key collided is never served.
func (set *modelSet) made(p Prediction) bool {
	for _, f := range []struct {
		ref *ModelRef
		s   int
	}{{refOf(p.Vol), 1}, {quantRef(p.Quantiles), 2}, {refOf(p.PUp), 3}} {
		if f.ref != nil && (set[f.s] == nil || set[f.s].meta.Version != f.ref.Version) {
			return false
		}
	}
	return true
}

func refOf(f *Forecast) *ModelRef {
	if f == nil {
		return nil
	}
	return &f.Model
}

func quantRef(q *Quantiles) *ModelRef {
	if q == nil {
		return nil
	}
	return &q.Model
}

// FeatureDigest is the FNV-1a hash of a row's close and feature values.
func FeatureDigest(close float64, values []float64) uint32 {
	const prime = 16777619
	h := uint32(2166136261)
	mix := func(v float64) {
		u := math.Float64bits(v)
		for i := 0; i < 8; i++ {
			h ^= uint32(u >> (8 * i) & 0xff)
			h *= prime
		}
	}
	mix(close)
	for _, v := range values {
		mix(v)
	}
	return h
}

// slugOf is market.PairSlug without an allocation for a slug already.
func slugOf(pair string) string {
	if !strings.Contains(pair, "/") {
		return pair
	}
	return strings.ReplaceAll(pair, "/", "-")
}

// DefaultMemoryCacheEntries bounds a MemoryCache: past it, expired entries
// are swept and then arbitrary ones evicted.
const DefaultMemoryCacheEntries = 100_000

// sweepEvery is how often Set sweeps expired entries out of a MemoryCache.
const sweepEvery = 10 * time.Second

// MemoryCache is the in-process Cache. It honours TTLs, holds at most
// DefaultMemoryCacheEntries entries and is safe for concurrent use. The
// service stores decoded predictions in it, so that an in-memory hit costs
// neither encoding nor decoding; Get encodes them on demand.
type MemoryCache struct {
	mu        sync.RWMutex
	m         map[string]memEntry
	max       int
	nextSweep time.Time
	now       func() time.Time
}

type memEntry struct {
	val  []byte      // encoded; nil when only pred is set
	pred *Prediction // decoded; nil when set through Set
	exp  time.Time
}

// NewMemoryCache returns an empty in-memory cache.
func NewMemoryCache() *MemoryCache {
	return &MemoryCache{m: make(map[string]memEntry), max: DefaultMemoryCacheEntries, now: time.Now}
}

// Get returns a copy of the live value of key.
func (c *MemoryCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.exp) {
		return nil, false, nil
	}
	if e.val == nil {
		b, err := json.Marshal(e.pred)
		return b, err == nil, err
	}
	return append([]byte(nil), e.val...), true, nil
}

// Set stores a copy of val under key for ttl (≤ 0: not stored).
func (c *MemoryCache) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	c.set(key, memEntry{val: append([]byte(nil), val...)}, ttl)
	return nil
}

// getPrediction is the service's hit path: no copy, no decode, and no
// allocation for the key (the map index of string(key) does not copy).
func (c *MemoryCache) getPrediction(key []byte) (Prediction, bool) {
	c.mu.RLock()
	e, ok := c.m[string(key)]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.exp) {
		return Prediction{}, false
	}
	if e.pred != nil {
		return *e.pred, true
	}
	var p Prediction
	if json.Unmarshal(e.val, &p) != nil {
		return Prediction{}, false
	}
	return p, true
}

// setPrediction stores p decoded; p must not change afterwards.
func (c *MemoryCache) setPrediction(key string, p *Prediction, ttl time.Duration) {
	c.set(key, memEntry{pred: p}, ttl)
}

func (c *MemoryCache) set(key string, e memEntry, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	now := c.now()
	e.exp = now.Add(ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && (len(c.m) >= c.max || !now.Before(c.nextSweep)) {
		c.sweepLocked(now)
	}
	c.m[key] = e
}

// sweepLocked drops expired entries and, if the cache is still full, enough
// arbitrary ones (map order) to get back to 90% of the bound.
func (c *MemoryCache) sweepLocked(now time.Time) {
	c.nextSweep = now.Add(sweepEvery)
	for k, e := range c.m {
		if !now.Before(e.exp) {
			delete(c.m, k)
		}
	}
	if len(c.m) < c.max {
		return
	}
	for k := range c.m {
		if len(c.m) < c.max*9/10 {
			break
		}
		delete(c.m, k)
	}
}

// Len is the number of entries held, expired ones not yet swept included.
func (c *MemoryCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
