package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Cache is a byte cache with expiry (GET, SET PX); it implements
// predict.Cache. Keys are used as given: the caller namespaces them.
type Cache struct {
	rdb *goredis.Client
}

// Get returns the value of key; a missing or expired key is (nil, false, nil).
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	val, err := c.rdb.Get(ctx, key).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		return nil, false, nil
	case err != nil:
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
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	if err := c.rdb.Set(ctx, key, val, ttl).Err(); err != nil {
		return fmt.Errorf("redis cache set %s: %w", key, err)
	}
	return nil
}
