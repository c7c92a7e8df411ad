package main

import (
	"flag"
)

// serveFlags configure the prediction API that `run` serves.
type serveFlags struct {
	http       string
	redis      string
	adminKey   string
	staleAfter int
	nearCache  bool
}

func (s *serveFlags) register(fs *flag.FlagSet, e env) {
	fs.StringVar(&s.http, "http", "127.0.0.1:8080", "listen address of the prediction API, WebSocket stream, dashboard and metrics (empty: do not serve)")
	fs.StringVar(&s.redis, "redis", "", "Redis host:port for the prediction cache (empty: an in-memory cache)")
	fs.StringVar(&s.adminKey, "admin-key", e.getenv("TICKCAST_ADMIN_KEY"), "bearer key of the admin routes (promote, rollback; $TICKCAST_ADMIN_KEY; empty: admin API disabled)")
	fs.IntVar(&s.staleAfter, "stale-after", 2, "candles after which features are stale and predictions refused")
	fs.BoolVar(&s.nearCache, "near-cache", true, "with --redis: keep an in-process cache in front of Redis (entries never change, so it only saves round trips)")
}
