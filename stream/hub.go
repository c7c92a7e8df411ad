// Package stream fans predictions out to WebSocket clients. Every client
// has a bounded send queue drained by its own writer goroutine: a client
// that cannot keep up is disconnected instead of slowing the publisher or
// the other clients.
//
// Wire protocol (JSON text frames). Server → client:
//
//	{"type":"subscribed","pairs":["ETH-USDT"],"all":false}   after connecting and after each change
//	{"type":"subscribed","pairs":[],"all":true}              every pair (pairs [] with all false: none)
//	{"type":"prediction","published_at":"<RFC3339Nano>","prediction":{...predict.Prediction}}   with vol, quantiles, p_up as served
//	{"type":"error","error":"bad_request","message":"..."}   the connection stays open
//
// Client → server: {"action":"subscribe","pairs":[...]} adds pairs (no
// pairs: every pair; pairs while subscribed to every pair: just those);
// {"action":"unsubscribe","pairs":[...]} removes pairs (no pairs: all of
// them). The connection URL may preset them: ?pairs=ETH-USDT,BTC-USD.
// Pairs take any spelling market.NormalizePair accepts and come back as
// slugs. Close codes: 1001 hub closing, 1008 "too slow", 1009 request over
// 4 KiB. Clients must answer pings (browsers do) within two intervals.
package stream

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickcast/tickcast/predict"
)

// Config tunes a Hub; zero values take the defaults.
type Config struct {
	Logger       *slog.Logger
	SendBuffer   int           // frames queued per client before it counts as too slow; default 256
	WriteTimeout time.Duration // per frame; default 5s
	PingInterval time.Duration // keepalive; a client silent for two intervals is closed; default 20s
	MaxClients   int           // further upgrades get 503; default 10000
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SendBuffer <= 0 {
		c.SendBuffer = 256
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.MaxClients <= 0 {
		c.MaxClients = 10000
	}
	return c
}

// Hub is the set of connected clients and their subscriptions. It is an
// http.Handler (the upgrade endpoint) and safe for concurrent use.
type Hub struct {
	cfg Config
	log *slog.Logger
	up  websocket.Upgrader

	mu      sync.RWMutex
	clients map[*client]struct{}
	all     map[*client]struct{}            // subscribed to every pair
	byPair  map[string]map[*client]struct{} // slug → subscribers
	closed  bool

	conns    atomic.Int64 // sessions, counted from before the upgrade so MaxClients holds
	dropped  atomic.Uint64
	sessions sync.WaitGroup
}

// NewHub returns a hub with no clients.
func NewHub(cfg Config) *Hub {
	cfg = cfg.withDefaults()
	h := &Hub{cfg: cfg, log: cfg.Logger, clients: map[*client]struct{}{},
		all: map[*client]struct{}{}, byPair: map[string]map[*client]struct{}{}}
	h.up = websocket.Upgrader{
		ReadBufferSize: 1024,
		// Prepared frames are written straight to the socket; a shared pool
		// keeps 10k idle connections from holding 10k write buffers.
		WriteBufferPool: &sync.Pool{},
		// Refusals (wrong method, foreign Origin, bad handshake) answer in
		// the API's JSON error shape, coded after the status.
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			code := strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
			writeHTTPError(w, status, code, reason.Error())
		},
	}
	return h
}

// Publish sends p to every client subscribed to p.Pair (or to all pairs).
// It never blocks: a client whose queue is full is dropped (closed with
// 1008 "too slow") and counted in Dropped.
func (h *Hub) Publish(p predict.Prediction) {
	b, err := encodePrediction(p, time.Now())
	if err != nil {
		h.log.Error("stream: publish", "err", err)
		return
	}
	slug := slugOf(p.Pair)
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed || len(h.all)+len(h.byPair[slug]) == 0 {
		return
	}
	// Prepared once: every client gets the same framed bytes.
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		h.log.Error("stream: prepare frame", "err", err)
		return
	}
	for c := range h.all {
		c.offer(pm)
	}
	for c := range h.byPair[slug] {
		c.offer(pm)
	}
}

// Clients is the number of open connections (including ones upgrading).
func (h *Hub) Clients() int { return int(h.conns.Load()) }

// Dropped is the number of clients disconnected for being too slow.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }

// Close closes every connection with 1001 going away, waits for their
// goroutines, and refuses new ones. Publish after Close does nothing.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	cs := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	for _, c := range cs {
		c.end(websocket.CloseGoingAway, "server shutting down")
	}
	h.sessions.Wait()
}

// ServeHTTP upgrades the request to a WebSocket subscribed to the pairs
// of ?pairs=ETH-USDT,BTC-USD (none: all pairs) and serves it until it ends.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		writeHTTPError(w, http.StatusBadRequest, "bad_request", "this endpoint speaks WebSocket only: send an upgrade request")
		return
	}
	pairs, err := queryPairs(r)
	if err != nil {
		writeHTTPError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if status, code, msg := h.reserve(); status != 0 {
		writeHTTPError(w, status, code, msg)
		return
	}
	defer h.release()
	ws, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		return // the Upgrader answered (Error above)
	}
	newClient(h, ws).serve(pairs)
}

// reserve takes a session slot before the upgrade, so that refusals are
// plain HTTP answers and Close can wait for every session it let in.
func (h *Hub) reserve() (status int, code, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return http.StatusServiceUnavailable, "unavailable", "stream is shutting down"
	case h.conns.Load() >= int64(h.cfg.MaxClients):
		h.log.Warn("stream: client refused", "max_clients", h.cfg.MaxClients)
		return http.StatusServiceUnavailable, "too_many_clients", "too many stream clients; retry later"
	}
	h.conns.Add(1)
	h.sessions.Add(1)
	return 0, "", ""
}

func (h *Hub) release() {
	h.conns.Add(-1)
	h.sessions.Done()
}

// register adds c with its first subscription; false once the hub is closed.
func (h *Hub) register(c *client, pairs []string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	h.setLocked(c, len(pairs) == 0, pairs)
	return true
}

func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setLocked(c, false, nil)
	delete(h.clients, c)
}

// apply changes c's subscription per req and returns the reply frame.
func (h *Hub) apply(c *client, req Request) []byte {
	pairs, err := slugs(req.Pairs)
	if err != nil {
		return encodeError("bad_request", err.Error())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case req.Action == ActionSubscribe && len(pairs) == 0:
		h.setLocked(c, true, nil)
	case req.Action == ActionSubscribe && c.all:
		h.setLocked(c, false, pairs) // from everything to just these
	case req.Action == ActionSubscribe:
		next := union(c.pairs, pairs)
		if len(next) > maxPairs {
			return encodeError("bad_request", fmt.Sprintf("at most %d pairs per connection", maxPairs))
		}
		h.setLocked(c, false, next)
	case len(pairs) == 0:
		h.setLocked(c, false, nil) // unsubscribe from everything
	case c.all:
		return encodeError("bad_request", "subscribed to all pairs: subscribe to a list of pairs first, or unsubscribe with no pairs")
	default:
		h.setLocked(c, false, minus(c.pairs, pairs))
	}
	return encodeSubscribed(c.all, c.pairs)
}

// setLocked replaces c's subscription in the index; h.mu must be held.
func (h *Hub) setLocked(c *client, all bool, pairs []string) {
	delete(h.all, c)
	for _, p := range c.pairs {
		if subs := h.byPair[p]; subs != nil {
			delete(subs, c)
			if len(subs) == 0 {
				delete(h.byPair, p)
			}
		}
	}
	c.all, c.pairs = all, pairs
	if all {
		h.all[c] = struct{}{}
		return
	}
	for _, p := range pairs {
		if h.byPair[p] == nil {
			h.byPair[p] = map[*client]struct{}{}
		}
		h.byPair[p][c] = struct{}{}
	}
}

func queryPairs(r *http.Request) ([]string, error) {
	var raw []string
	for _, v := range r.URL.Query()["pairs"] {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				raw = append(raw, p)
			}
		}
	}
	return slugs(raw)
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func minus(a, b []string) []string {
	return slices.DeleteFunc(slices.Clone(a), func(p string) bool { return slices.Contains(b, p) })
}

// writeHTTPError answers before any upgrade in the API's error shape.
func writeHTTPError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
