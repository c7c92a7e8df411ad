package redis

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Cache is a byte cache with expiry (GET, SET PX); it implements
// predict.Cache. Keys are used as given: the caller namespaces them.
//
// It is on the request path, so it never makes a caller wait long: each
// call is bounded by Options.CacheTimeout, and the client's circuit breaker
// fails calls at once (ErrCircuitOpen) while Redis keeps failing or timing
// out. A failed Set is dropped, not retried: the caller has the value and
// the next miss writes it again.
type Cache struct {
	c *Client
}

// cacheStats count the cache calls that did not reach an answer.
type cacheStats struct {
	getErrors, setErrors   atomic.Uint64 // sent, failed or timed out
	getSkipped, setSkipped atomic.Uint64 // not sent: the breaker was open
}

// Get returns the value of key; a missing or expired key is (nil, false, nil).
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if !c.c.br.allow() {
		c.c.stats.getSkipped.Add(1)
		return nil, false, ErrCircuitOpen // as is: no allocation for each of a flood
	}
	cctx, cancel := context.WithTimeout(ctx, c.c.cacheTimeout)
	val, err := c.c.rdb.Get(cctx, key).Bytes()
	cancel()
	c.c.br.done(ctx, err)
	switch {
	case errors.Is(err, goredis.Nil):
		return nil, false, nil
	case err != nil:
		c.c.stats.getErrors.Add(1)
		return nil, false, fmt.Errorf("redis cache get %s: %w", key, err)
	}
	return val, true, nil
}

// Set stores val under key for ttl, rounded up to a whole millisecond
// (Redis' precision). A ttl ≤ 0 means already expired: nothing is stored, so
// a caller's clock skew cannot create an entry that never expires.
func (c *Cache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	if !c.c.br.allow() {
		c.c.stats.setSkipped.Add(1)
		return ErrCircuitOpen
	}
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, c.c.cacheTimeout)
	err := c.c.rdb.Set(cctx, key, val, ttl).Err()
	cancel()
	c.c.br.done(ctx, err)
	if err != nil {
		c.c.stats.setErrors.Add(1)
		return fmt.Errorf("redis cache set %s: %w", key, err)
	}
	return nil
}
