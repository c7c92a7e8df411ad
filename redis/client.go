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
// prediction service computes on a cache error, the feature store serves
// its local copy) and a hung Redis must not hang requests.
const (
	DefaultDialTimeout = 500 * time.Millisecond
	DefaultReadTimeout = 250 * time.Millisecond
	// DefaultCacheTimeout bounds a cache GET or SET, which are on the
	// request path: a loopback or same-zone round trip is well under 1 ms.
	DefaultCacheTimeout = 50 * time.Millisecond
	// DefaultBreakerFailures failed or timed-out cache calls in a row open
	// the circuit breaker.
	DefaultBreakerFailures = 5
	// DefaultBreakerCooldown is how often an open breaker probes Redis (a
	// PING in the background).
	DefaultBreakerCooldown = time.Second
)

// Options configure Open. Zero values take the defaults.
type Options struct {
	Password string
	DB       int
	Logger   *slog.Logger
	// DialTimeout bounds connecting (default DefaultDialTimeout).
	DialTimeout time.Duration
	// ReadTimeout bounds each command's reads and writes, the wait for a
	// pooled connection and the breaker's probe (default
	// DefaultReadTimeout); a context deadline, when earlier, wins.
	ReadTimeout time.Duration
	// CacheTimeout bounds each Cache call (default DefaultCacheTimeout).
	CacheTimeout time.Duration
	// BreakerFailures and BreakerCooldown tune the Cache's circuit breaker
	// (defaults DefaultBreakerFailures, DefaultBreakerCooldown).
	BreakerFailures int
	BreakerCooldown time.Duration
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.CacheTimeout <= 0 {
		o.CacheTimeout = DefaultCacheTimeout
	}
	if o.BreakerFailures <= 0 {
		o.BreakerFailures = DefaultBreakerFailures
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = DefaultBreakerCooldown
	}
}

// Client is a connection pool to one Redis server. It is safe for
// concurrent use; Close it when done.
type Client struct {
	rdb          *goredis.Client
	log          *slog.Logger
	readTimeout  time.Duration
	cacheTimeout time.Duration
	cooldown     time.Duration // between the breaker's probes

	// br guards the cache calls of every Cache of this client.
	br    *breaker
	stats cacheStats

	// ctx ends at Close and stops the background subscribers and probes;
	// closed (under mu) keeps new ones from starting after Close.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

// Open connects to the Redis server at addr (host:port) and checks it with
// a PING.
func Open(ctx context.Context, addr string, o Options) (*Client, error) {
	o.defaults()
	rdb := goredis.NewClient(&goredis.Options{
		Addr:                  addr,
		Password:              o.Password,
		DB:                    o.DB,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.ReadTimeout,
		PoolTimeout:           o.ReadTimeout,
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
	c := &Client{rdb: rdb, log: o.Logger.With("component", "redis", "addr", addr),
		readTimeout: o.ReadTimeout, cacheTimeout: o.CacheTimeout, cooldown: o.BreakerCooldown}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.br = &breaker{threshold: int64(o.BreakerFailures), onOpen: c.probe, onChange: c.breakerChanged}
	return c, nil
}

// probe PINGs Redis every cooldown, in the background, until one answers
// and closes the breaker.
func (c *Client) probe() {
	c.goBackground(func(ctx context.Context) {
		t := time.NewTicker(c.cooldown)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			c.br.probing()
			pctx, cancel := context.WithTimeout(ctx, c.readTimeout)
			err := c.rdb.Ping(pctx).Err()
			cancel()
			if c.br.probed(err) {
				return
			}
		}
	})
}

func (c *Client) breakerChanged(from, to BreakerState) {
	switch {
	case to == BreakerOpen && from == BreakerClosed:
		c.log.Warn("redis: circuit breaker open: cache calls skip Redis until a probe answers",
			"probe_every", c.cooldown, "failures_in_a_row", c.br.threshold)
	case to == BreakerClosed:
		c.log.Info("redis: circuit breaker closed: Redis answers again")
	}
}

// Breaker is the state of the cache's circuit breaker and how often it
// opened since Open.
func (c *Client) Breaker() (state BreakerState, opens uint64) {
	return c.br.current(), c.br.opens.Load()
}

// Close stops the background subscribers and closes the pool.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	if err := c.rdb.Close(); err != nil {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

// Cache returns the prediction cache on this connection.
func (c *Client) Cache() *Cache { return &Cache{c: c} }

// goBackground runs fn until Close, unless the client is closed already.
func (c *Client) goBackground(fn func(ctx context.Context)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn(c.ctx)
	}()
}
