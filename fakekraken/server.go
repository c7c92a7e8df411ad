// Package fakekraken is a protocol-exact fake of Kraken's WebSocket API v2
// and public REST API (see docs kraken-api.md; REST in rest.go), replaying
// real trades or trades rebuilt from real candles (ReconstructTrades).
// Tests, the offline demo and `make run` without internet use it in place
// of wss://ws.kraken.com/v2 and https://api.kraken.com.
//
// Trades come from memory (Config.Trades) or are streamed from a
// TradeSource (Config.Sources: OpenCSVSource, NewReconstructSource), the
// tape then keeping only the last Config.History published trades
// (tape.go). One exchange clock (Server.Now) times the replay and answers
// REST Time, SystemStatus and the WebSocket's time_in/time_out.
//
// Faults are the real exchange's: abrupt drops, silences, maintenance,
// repeated snapshots, outages refusing WebSocket and REST with HTTP 503
// while trades go on (outage.go), one pair's feed stalling while the others
// flow (stall.go), snapshot and updates before the subscribe reply, hostile
// trades served alike on WebSocket and REST (hostile.go), and REST rate
// limits and failures (RESTFaults). FaultMatrix lists fixed
// combinations for end-to-end tests.
//
// What it sends that is not in the source data: ord_type is always "market"
// (the trade files have none), and where a file has no side the side is
// inferred by the tick rule (uptick buy, downtick sell, unchanged price the
// previous side, first trade buy). Both are placeholders, not data.
package fakekraken

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickcast/tickcast/market"
)

// Defaults of Config.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultSnapshotSize      = 50
	DefaultBatchMax          = 100
)

// writeTimeout drops a client that stops reading, as Kraken does.
const writeTimeout = 10 * time.Second

// Config says what to replay and how.
type Config struct {
	// Trades per pair (any spelling, stored under the v2 name), in time
	// order with increasing trade ids, as LoadTradesCSV returns them. They
	// are all held in memory and REST serves all of them before the replay
	// starts.
	Trades map[string][]market.Trade
	// Sources per pair, read as the replay goes (OpenCSVSource,
	// NewReconstructSource): memory does not grow with the file. Only the
	// last History published trades are kept; REST Trades answers a since
	// older than that window from its first kept trade, and before the
	// replay starts a streamed pair has no REST history. A pair is in
	// Trades or Sources, not both.
	Sources map[string]TradeSource
	// History is how many published trades a streamed pair keeps
	// (default DefaultHistory, at least the pair's snapshot size).
	History int
	// Speed multiplies real time: trade i is published at
	// start + (ts_i − ts_origin)/Speed. Zero or negative means as fast as
	// the subscribed clients read, the pairs kept on one event-time clock
	// (no pair publishes past the next trade of another that is listened to).
	Speed             float64
	HeartbeatInterval time.Duration // default 1 s
	SnapshotSize      int           // default 50
	BatchMax          int           // max trades per update message, default 100
	Faults            Faults
	REST              RESTFaults   // failures of the REST API (rest.go)
	Logger            *slog.Logger // default discards
	// SnapshotSizes overrides SnapshotSize per pair (any spelling of a pair
	// of Trades or Sources; 0 means SnapshotSize): the trades published at
	// once at the start, the snapshot a subscriber gets, and for a streamed
	// pair the least History kept. A replay of pairs with different trade
	// rates gives each its trades up to a common start.
	SnapshotSizes map[string]int
}

// Faults are what real connections suffer, on demand. Trade counts are of
// update trades sent; "once" faults count across all connections.
type Faults struct {
	// DisconnectEvery drops a connection abruptly (no close frame, like
	// Cloudflare's 1006) once this many update trades were sent on it.
	DisconnectEvery int
	// Disconnects caps the injected drops; 0 = unlimited.
	Disconnects int
	// SkipOnDisconnect trades "happen" while the client is away: each drop
	// publishes this many trades that the dropped connection never gets.
	SkipOnDisconnect int
	// SilenceAfter, SilenceFor: once, the connection that has just sent
	// trade number SilenceAfter sends nothing at all (not even heartbeats)
	// for SilenceFor.
	SilenceAfter int
	SilenceFor   time.Duration
	// MaintenanceAfter: once, every connection gets status "maintenance",
	// then "online" again one HeartbeatInterval later.
	MaintenanceAfter int
	// RepeatSnapshotAfter: once, the connection sends its snapshots again
	// mid-stream (a client must deduplicate them).
	RepeatSnapshotAfter int
	// OutageEvery, OutageFor, Outages: each time OutageEvery trades were
	// published (on the exchange clock, all pairs, outside outages) every
	// WebSocket connection is dropped abruptly and for OutageFor of wall
	// time new upgrades and REST requests get HTTP 503 (outage.go), while
	// trades keep being published. Clients coming back get the snapshot of
	// each pair's last snapshot-size trades: contiguous with what they had
	// if fewer happened meanwhile, else a trade_id gap. Outages caps them;
	// 0 = unlimited. Combines with DisconnectEvery.
	OutageEvery int
	OutageFor   time.Duration
	Outages     int
	// TradesBeforeAck sends a subscription's snapshot and first update
	// before the subscribe reply, as the real exchange sometimes does.
	TradesBeforeAck bool
	// Hostile replaces tape trades by corrupt copies with the same
	// trade_id, on the WebSocket and in REST alike (hostile.go).
	Hostile []HostileTrade
	// Stalls stall one pair's feed while the others flow (stall.go).
	Stalls []PairStall
}

// Stats counts what the server did.
type Stats struct {
	Connections  int64 // WebSocket connections accepted
	Drops        int64 // injected abrupt disconnects
	Published    int64 // trades published (made part of the exchange's history)
	Sent         int64 // trades sent in update messages
	SnapshotSent int64 // trades sent in snapshot messages
	Outages      int64 // injected outages
	Stalls       int64 // pair feeds stalled (Faults.Stalls begun)
}

// Server is the fake exchange. One replay cursor per pair is shared by all
// connections: trades happen whoever listens.
type Server struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
	up  websocket.Upgrader

	mu       sync.Mutex
	tapes    map[string]*tape
	conns    map[*conn]struct{}
	started  bool
	start    time.Time // wall clock at the first subscription
	origin   time.Time // event time published at start
	statuses []string  // engine status history; connections catch up on it
	sentAll  int64     // update trades sent on all connections
	once     onceFaults
	drops    int
	// Outages (outage.go).
	outages     int
	sinceOutage int
	outageUntil time.Time
	closed      bool
	httpSrv     *http.Server
	rest        *restState

	done      chan struct{}
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	stats     struct{ connections, drops, published, sent, snapshot, outages, stalls atomic.Int64 }
}

type onceFaults struct{ silence, maintenance, repeat bool }

// New validates cfg. It copies the trades; the caller's slices stay
// untouched. It reads the first trade of each source, and closes the
// sources when it fails.
func New(cfg Config) (*Server, error) {
	cfg = withDefaults(cfg)
	if err := cfg.validate(); err != nil {
		closeSources(cfg.Sources)
		return nil, err
	}
	tapes, err := newTapes(cfg)
	if err != nil {
		closeSources(cfg.Sources)
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, tapes: tapes, conns: map[*conn]struct{}{},
		statuses: []string{"online"}, rest: newRESTState(cfg.REST), done: make(chan struct{}), closing: make(chan struct{})}
	s.up.CheckOrigin = func(*http.Request) bool { return true } // a local fake: any page may connect
	s.mux = s.routes()
	return s, nil
}

func withDefaults(cfg Config) Config {
	cfg.HeartbeatInterval = cmp.Or(cfg.HeartbeatInterval, DefaultHeartbeatInterval)
	cfg.SnapshotSize = cmp.Or(cfg.SnapshotSize, DefaultSnapshotSize)
	cfg.BatchMax = cmp.Or(cfg.BatchMax, DefaultBatchMax)
	cfg.History = cmp.Or(cfg.History, DefaultHistory)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

func (cfg Config) validate() error {
	f := cfg.Faults
	switch {
	case len(cfg.Trades)+len(cfg.Sources) == 0:
		return errors.New("fakekraken: no trades")
	case math.IsNaN(cfg.Speed) || math.IsInf(cfg.Speed, 0):
		return fmt.Errorf("fakekraken: speed %v", cfg.Speed)
	case cfg.HeartbeatInterval < 0 || cfg.SnapshotSize < 0 || cfg.BatchMax < 0 || cfg.History < 0:
		return errors.New("fakekraken: negative HeartbeatInterval, SnapshotSize, BatchMax or History")
	case min(f.DisconnectEvery, f.Disconnects, f.SkipOnDisconnect, f.SilenceAfter, f.MaintenanceAfter, f.RepeatSnapshotAfter,
		f.OutageEvery, f.Outages) < 0 || f.SilenceFor < 0 || f.OutageFor < 0:
		return errors.New("fakekraken: negative fault setting")
	}
	for pair, n := range cfg.SnapshotSizes {
		if n < 0 {
			return fmt.Errorf("fakekraken: snapshot size %d of %s", n, pair)
		}
	}
	for _, h := range f.Hostile {
		if h.At < 0 || h.Kind < HostileYear2100 || h.Kind > HostilePriceX1000 {
			return fmt.Errorf("fakekraken: hostile trade %+v", h)
		}
	}
	return cfg.REST.validate()
}

// routes lists the HTTP surface. REST endpoints go under /0/public/.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/v2", s.handleWS)
	s.mountREST(mux)
	return mux
}

// Handler serves the fake: the WebSocket API at /v2, REST at /0/public/.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background.
// It returns the WebSocket URL, like ws://127.0.0.1:PORT/v2.
func (s *Server) Start(addr string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.httpSrv != nil {
		return "", errors.New("fakekraken: server closed or already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("fakekraken: listen %s: %w", addr, err)
	}
	s.httpSrv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	srv := s.httpSrv
	s.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("fakekraken: serve", "err", err)
		}
	})
	url := "ws://" + ln.Addr().String() + "/v2"
	s.log.Info("fakekraken: listening", "url", url)
	return url, nil
}

// Done is closed when every trade has been published.
func (s *Server) Done() <-chan struct{} { return s.done }

// Close stops serving, drops every connection and waits for the server's
// goroutines.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.closing)
		if s.httpSrv != nil {
			err = s.httpSrv.Close()
		}
		for c := range s.conns {
			c.ws.Close()
		}
		for _, t := range s.tapes {
			if t.src != nil {
				t.end(errClosed)
			}
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return err
}

// errClosed ends the sources of a closed server (not an error of theirs).
var errClosed = io.EOF

func closeSources(srcs map[string]TradeSource) {
	for _, src := range srcs {
		if c, ok := src.(io.Closer); ok {
			c.Close()
		}
	}
}

// Stats returns the counters; safe for concurrent use.
func (s *Server) Stats() Stats {
	st := &s.stats
	return Stats{Connections: st.connections.Load(), Drops: st.drops.Load(), Published: st.published.Load(),
		Sent: st.sent.Load(), SnapshotSent: st.snapshot.Load(), Outages: st.outages.Load(), Stalls: st.stalls.Load()}
}

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	if s.refuseInOutage(w) {
		return
	}
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := newConn(s, ws)
	if !s.register(c) {
		ws.Close()
		return
	}
	s.log.Debug("fakekraken: connection", "remote", r.RemoteAddr, "connection_id", c.id)
	s.wg.Go(c.readLoop)
	s.wg.Go(c.writeLoop)
}

// register adds c unless the server is closing; under mu so that no
// goroutine is added to wg once Close waits on it.
func (s *Server) register(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.inOutageLocked(time.Now()) {
		return false
	}
	s.conns[c] = struct{}{}
	c.statusSeen = len(s.statuses)
	s.stats.connections.Add(1)
	return true
}

// unregister removes c and its subscriptions, waking the connections
// that may now advance the replay.
func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	for _, t := range s.tapes {
		if _, ok := t.subs[c]; ok {
			delete(t.subs, c)
			s.wakeLocked(t)
		}
	}
}

// setSystem changes the engine status and tells every connection.
func (s *Server) setSystem(system string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses = append(s.statuses, system)
	for c := range s.conns {
		c.notify()
	}
	s.log.Info("fakekraken: status", "system", system)
}

// statusesSince returns the status changes c has not sent yet.
func (s *Server) statusesSince(c *conn) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.statuses[c.statusSeen:]
	c.statusSeen = len(s.statuses)
	return out
}

func (s *Server) system() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statuses[len(s.statuses)-1]
}
