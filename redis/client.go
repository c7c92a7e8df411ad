// Package redis is tickcast's adapter for Redis (go-redis): a prediction
// cache shared by API replicas and an online feature store that lets the
// pipeline and the API run as separate processes (the scaled mode).
package redis

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults for Options: short, because every caller has a fallback (the
// prediction service computes on a cache error) and a hung Redis must not
// hang requests.
const (
	DefaultDialTimeout = 2 * time.Second
	DefaultReadTimeout = 500 * time.Millisecond
)

// Options configure Open. Zero values take the defaults.
type Options struct {
	Password string
	DB       int
	Logger   *slog.Logger
	// DialTimeout bounds connecting (default DefaultDialTimeout).
	DialTimeout time.Duration
	// ReadTimeout bounds each command's reads and writes (default
	// DefaultReadTimeout); a context deadline, when earlier, wins.
	ReadTimeout time.Duration
}

// Client is a connection pool to one Redis server. It is safe for
// concurrent use; Close it when done.
type Client struct {
	rdb         *goredis.Client
	log         *slog.Logger
	readTimeout time.Duration

	// ctx ends at Close and stops the background subscribers.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Open connects to the Redis server at addr (host:port) and checks it with
// a PING.
func Open(ctx context.Context, addr string, o Options) (*Client, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	rdb := goredis.NewClient(&goredis.Options{
		Addr:                  addr,
		Password:              o.Password,
		DB:                    o.DB,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.ReadTimeout,
		ContextTimeoutEnabled: true,
		// Fail fast rather than retry for seconds: one dial attempt and one
		// retry of a command on a broken pooled connection.
		DialerRetries:   1,
		MaxRetries:      1,
		MaxRetryBackoff: 50 * time.Millisecond,
		// One plain server: skip the cluster-maintenance handshake and
		// CLIENT SETINFO (Redis < 7.2 rejects it), one round trip less per dial.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		DisableIdentity:          true,
	})
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis %s: ping: %w", addr, err)
	}
	c := &Client{rdb: rdb, log: o.Logger.With("component", "redis", "addr", addr), readTimeout: o.ReadTimeout}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Close stops the background subscribers and closes the pool.
func (c *Client) Close() error {
	c.cancel()
	c.wg.Wait()
	if err := c.rdb.Close(); err != nil {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

// Cache returns the prediction cache on this connection.
func (c *Client) Cache() *Cache { return &Cache{rdb: c.rdb} }

// goBackground runs fn until Close.
func (c *Client) goBackground(fn func(ctx context.Context)) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn(c.ctx)
	}()
}
