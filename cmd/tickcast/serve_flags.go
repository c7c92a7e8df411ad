package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// serveFlags configure the prediction API that `run` serves.
type serveFlags struct {
	http       string
	redis      string
	adminKey   string
	staleAfter int
	nearCache  bool
	// modelMaxAge is predict.Config.ModelMaxAge: how long after its last
	// full training a champion serves; 0: no limit.
	modelMaxAge time.Duration
	// drift watches the live rows for drift and starts a full Train on
	// Temporal at temporal when a detector fires (driftwatch). run defaults
	// it on (with its own --temporal-address) while its worker is up.
	drift    bool
	temporal temporalFlags
}

// defaultModelMaxAge is --model-max-age's default.
const defaultModelMaxAge = 72 * time.Hour

func (s *serveFlags) register(fs *flag.FlagSet, e env) {
	fs.StringVar(&s.http, "http", "127.0.0.1:8080", "listen address of the prediction API, WebSocket stream, dashboard and metrics (empty: do not serve)")
	fs.StringVar(&s.redis, "redis", "", "Redis host:port for the prediction cache (empty: an in-memory cache)")
	s.registerAdminKey(fs, e)
	fs.IntVar(&s.staleAfter, "stale-after", 2, "candles after which features are stale and predictions refused")
	fs.BoolVar(&s.nearCache, "near-cache", true, "with --redis: keep an in-process cache in front of Redis (entries never change, so it only saves round trips)")
	fs.BoolVar(&s.drift, "drift", false, "watch the live rows for drift (regime shift; PSI against the champion's training rows) and start a full Train on Temporal when a detector fires, at most once per pair × horizon per hour (needs --temporal-address)")
	if fs.Lookup("temporal-address") == nil { // run has its own
		s.temporal.register(fs, e.getenv)
	}
	s.modelMaxAge = defaultModelMaxAge
	fs.Func("model-max-age", "how long after its last full training (wall clock) a champion serves; past it the baseline or rollback target serves and /readyz says why (0: no limit; default 72h)", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		if d < 0 {
			return fmt.Errorf("%s: want 0 (no limit) or more", v)
		}
		s.modelMaxAge = d
		return nil
	})
}

// registerAdminKey takes the admin key from --admin-key-file, else
// --admin-key, else $TICKCAST_ADMIN_KEY. A command line is visible to every
// user of the machine (ps, /proc), so --admin-key logs a warning. The key is
// never a flag default, which -h would print, and never in a flag error.
func (s *serveFlags) registerAdminKey(fs *flag.FlagSet, e env) {
	s.adminKey = strings.TrimSpace(e.getenv("TICKCAST_ADMIN_KEY"))
	var fromFile bool
	fs.Func("admin-key-file", "a `file` holding the bearer key of the admin routes (promote, rollback): preferred; else $TICKCAST_ADMIN_KEY", func(path string) error {
		key, err := readKeyFile(path)
		if err != nil {
			return err
		}
		fromFile, s.adminKey = true, key
		return nil
	})
	fs.Func("admin-key", "bearer `key` of the admin routes, visible to other users in ps: prefer --admin-key-file or $TICKCAST_ADMIN_KEY (empty: admin API disabled)", func(key string) error {
		if key != "" && e.logger != nil {
			e.logger.Warn("--admin-key puts the admin key on the command line, where other users of this machine can read it (ps): use --admin-key-file or $TICKCAST_ADMIN_KEY")
		}
		if !fromFile {
			s.adminKey = strings.TrimSpace(key)
		}
		return nil
	})
}

// readKeyFile is the key a file holds (surrounding white space removed); an
// error never quotes the file.
func readKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin key file: %w", err) // *PathError: the path and the reason
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("admin key file %s is empty", path)
	}
	return key, nil
}
