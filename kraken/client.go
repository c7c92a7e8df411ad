package kraken

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickcast/tickcast/internal/backoff"
	"github.com/tickcast/tickcast/market"
)

// DefaultURL is Kraken's public WebSocket v2 endpoint.
const DefaultURL = "wss://ws.kraken.com/v2"

// Defaults follow Kraken's reconnect guide (ping 10 s as python-kraken-sdk does).
const (
	DefaultSilenceTimeout = 5 * time.Second
	DefaultPingInterval   = 10 * time.Second
	DefaultBackoffMin     = time.Second
	DefaultBackoffMax     = 60 * time.Second
)

// maxFrame bounds one frame; trade frames are a few kB, a bigger one is junk.
const maxFrame = 4 << 20

var (
	// ErrSubscriptionRefused is returned by Run when Kraken refuses one of the
	// configured pairs: retrying cannot help.
	ErrSubscriptionRefused = errors.New("kraken: subscription refused")
	// ErrSilence is the cause of a reconnect after SilenceTimeout without a frame.
	ErrSilence = errors.New("kraken: connection silent")
)

// ClientConfig configures a Client; zero durations take the defaults.
type ClientConfig struct {
	URL            string   // default DefaultURL
	Pairs          []string // any spelling market.NormalizePair accepts; sent as v2 names
	Snapshot       bool     // ask for the last 50 trades of each pair on (re)subscribe
	SilenceTimeout time.Duration
	PingInterval   time.Duration
	// BackoffMin and BackoffMax bound the exponential backoff with full
	// jitter between reconnects.
	BackoffMin, BackoffMax time.Duration
	Logger                 *slog.Logger      // default discards
	Dialer                 *websocket.Dialer // default: 10 s handshake, proxy from environment
	// Resume holds, per pair (v2 name), the last trade the caller already
	// has (from its store, after a restart): the pair's OutageStart event
	// reports it as From so that the caller can fetch what came after it.
	Resume map[string]Mark
}

// EventKind says what an Event carries.
type EventKind uint8

const (
	EventTrades       EventKind = iota + 1 // new trades, duplicates removed
	EventGap                               // trades known to be missing (by trade_id)
	EventStatus                            // an engine status message
	EventConnected                         // every pair is subscribed
	EventDisconnected                      // the connection was lost; a reconnect follows
	EventHeartbeat                         // Kraken's ~1 s heartbeat, a clock tick
	EventOutage                            // trades may be missing for a time no trade id shows (see Outage)
	EventRejected                          // a frame or trades that could not be used, as received (see Rejected)
)

var eventNames = [...]string{"", "trades", "gap", "status", "connected", "disconnected", "heartbeat", "outage", "rejected"}

// Rejected is what the client could not use, kept for a dead letter: a
// frame that did not parse, one trade of a trade frame, or one row of a
// REST Trades page (TradesPage.Rejected). Raw is cut at maxRejectedRaw
// bytes.
type Rejected struct {
	Raw []byte
	Err error
	// TradeID is the rejected trade's id when it could be read (REST rows),
	// else 0.
	TradeID int64
}

// maxRejectedRaw bounds what a rejected frame keeps: enough to see it.
const maxRejectedRaw = 4 << 10

func (k EventKind) String() string {
	if int(k) < len(eventNames) && k != 0 {
		return eventNames[k]
	}
	return fmt.Sprintf("event(%d)", k)
}

// Gap says that trade ids FromID..ToID (inclusive) of Pair were never
// received; they happened between the trades at FromTS and ToTS.
type Gap struct {
	Pair         string
	FromID, ToID int64
	FromTS, ToTS time.Time
}

// Missing is the number of trades in the gap.
func (g Gap) Missing() int64 { return g.ToID - g.FromID + 1 }

// OutageKind says why an Outage began.
type OutageKind uint8

const (
	// OutageDisconnect: the connection was lost after the trade From; the
	// outage is open until the pair's first frame on a new connection, and
	// closes after that frame's trades (an id jump among them is an
	// EventGap as usual).
	OutageDisconnect OutageKind = iota + 1
	// OutageStart: the pair's first frame of the client. Trades before its
	// first trade (NextID at To) are unknown: back to From, the last trade
	// the caller already holds (Config.Resume), or to nothing. It is
	// delivered closed, before that frame's trades.
	OutageStart
)

func (k OutageKind) String() string {
	switch k {
	case OutageDisconnect:
		return "disconnect"
	case OutageStart:
		return "start"
	}
	return fmt.Sprintf("outage(%d)", k)
}

// Outage is a span in which trades of Pair may have been missed without a
// trade_id jump to show it. ID is unique within a Client.
type Outage struct {
	ID   int64
	Kind OutageKind
	Pair string
	// Open is true when the outage begins; an event with Open false ends it.
	Open bool
	// From is the last trade held before it (zero ID: none).
	From Mark
	// To and NextID: the first trade after it (closing events; NextID 0
	// when the frame held no new trade, To then the frame's arrival).
	To     time.Time
	NextID int64
}

// Mark is one trade's id and time.
type Mark struct {
	ID    int64
	TS    time.Time
	Price float64
}

// Event is what Run delivers.
type Event struct {
	Kind   EventKind
	Trades []market.Trade // EventTrades, in trade_id order per pair
	// Closes (EventTrades) are outages that end with these trades: they
	// apply after them, in the same delivery, so that no consumer can see
	// the trades without the end of the outage.
	Closes []Outage
	Gap    Gap       // EventGap
	Outage Outage    // EventOutage
	Reject Rejected  // EventRejected
	Status string    // EventStatus, EventConnected: the engine status (online, maintenance...)
	Err    error     // EventDisconnected: why
	Time   time.Time // when the frame was received (or the connection lost)
}

// Stats counts what the client has seen since it was made.
type Stats struct {
	Frames         int64 // frames read
	Malformed      int64 // frames that could not be parsed
	RejectedTrades int64 // invalid trades dropped from otherwise good frames
	Trades         int64 // trades delivered
	Duplicates     int64 // trades dropped as already delivered
	Gaps           int64 // EventGap emitted
	MissingTrades  int64 // trades inside those gaps
	Reconnects     int64 // dials after a lost or failed connection
	Outages        int64 // disconnect outages opened
}

type counters struct {
	frames, malformed, rejected, trades, duplicates, gaps, missing, reconnects, outages atomic.Int64
}

// Client streams Kraken trades, reconnecting forever. Run must not be called
// concurrently; Stats may be.
type Client struct {
	cfg     ClientConfig
	log     *slog.Logger
	pairs   []string
	dialer  *websocket.Dialer
	stats   counters
	reqID   atomic.Int32
	running atomic.Bool
	jitter  func(time.Duration) time.Duration // full jitter; tests make it deterministic

	// Owned by the goroutine in Run.
	last      map[string]Mark
	outages   map[string]Outage // open disconnect outages by pair
	outageSeq int64
	logGate   gate
}

// NewClient validates cfg and applies the defaults.
func NewClient(cfg ClientConfig) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pairs, err := market.SplitPairs(cfg.Pairs...) // v2 names (XBT→BTC), each once
	if err != nil {
		return nil, fmt.Errorf("kraken: %w", err)
	}
	c := &Client{cfg: cfg, log: cfg.Logger, pairs: pairs, dialer: cfg.Dialer, jitter: backoff.Full,
		last: map[string]Mark{}, outages: map[string]Outage{}}
	c.logGate.every = time.Second
	return c, nil
}

func (cfg ClientConfig) withDefaults() ClientConfig {
	cfg.URL = cmp.Or(cfg.URL, DefaultURL)
	cfg.SilenceTimeout = cmp.Or(cfg.SilenceTimeout, DefaultSilenceTimeout)
	cfg.PingInterval = cmp.Or(cfg.PingInterval, DefaultPingInterval)
	cfg.BackoffMin = cmp.Or(cfg.BackoffMin, DefaultBackoffMin)
	cfg.BackoffMax = cmp.Or(cfg.BackoffMax, DefaultBackoffMax)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Dialer == nil {
		cfg.Dialer = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, Proxy: http.ProxyFromEnvironment}
	}
	return cfg
}

func (cfg ClientConfig) validate() error {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return fmt.Errorf("kraken: url %q: %w", cfg.URL, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("kraken: url %q: scheme must be ws or wss", cfg.URL)
	}
	if cfg.SilenceTimeout < 0 || cfg.PingInterval < 0 || cfg.BackoffMin < 0 || cfg.BackoffMax < cfg.BackoffMin {
		return errors.New("kraken: durations must be positive and BackoffMin <= BackoffMax")
	}
	return nil
}

// Pairs returns the v2 names the client subscribes to.
func (c *Client) Pairs() []string { return slices.Clone(c.pairs) }

// Stats returns the counters; safe for concurrent use.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		Frames: s.frames.Load(), Malformed: s.malformed.Load(), RejectedTrades: s.rejected.Load(),
		Trades: s.trades.Load(), Duplicates: s.duplicates.Load(), Gaps: s.gaps.Load(),
		MissingTrades: s.missing.Load(), Reconnects: s.reconnects.Load(), Outages: s.outages.Load(),
	}
}

// Run connects, subscribes and delivers events until ctx is done, then
// returns ctx.Err(). Lost connections are retried forever with backoff; only
// a refused pair (ErrSubscriptionRefused) ends Run early.
func (c *Client) Run(ctx context.Context, events chan<- Event) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("kraken: Run is already running")
	}
	defer c.running.Store(false)
	b := backoff.Backoff{Min: c.cfg.BackoffMin, Max: c.cfg.BackoffMax, Jitter: c.jitter}
	for {
		err := c.connectOnce(ctx, events, &b)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrSubscriptionRefused) {
			return err
		}
		if err := b.Wait(ctx); err != nil {
			return err
		}
		c.stats.reconnects.Add(1)
	}
}

// connectOnce runs one connection to its end and reports why it ended.
func (c *Client) connectOnce(ctx context.Context, events chan<- Event, b *backoff.Backoff) error {
	ws, err := c.dial(ctx)
	if err != nil {
		c.log.Warn("kraken: dial failed", "url", c.cfg.URL, "err", err)
		return c.openOutages(ctx, events, time.Now(), err)
	}
	s := newSession(c, ws, events)
	err = s.run(ctx)
	if s.ready {
		b.Reset() // the connection worked: start the next backoff from BackoffMin
	}
	if ctx.Err() != nil || errors.Is(err, ErrSubscriptionRefused) {
		return err
	}
	c.log.Warn("kraken: connection lost", "err", err)
	now := time.Now()
	if e := emit(ctx, events, Event{Kind: EventDisconnected, Err: err, Time: now}); e != nil {
		return e
	}
	return c.openOutages(ctx, events, now, err)
}

// openOutages opens a disconnect outage for every pair that has trades and
// none open: from its last trade on, trades may be missed until the pair's
// first frame on a new connection. It returns cause unless ctx ended.
func (c *Client) openOutages(ctx context.Context, events chan<- Event, now time.Time, cause error) error {
	for _, p := range c.pairs {
		m, seen := c.last[p]
		if _, open := c.outages[p]; !seen || open {
			continue
		}
		c.outageSeq++
		o := Outage{ID: c.outageSeq, Kind: OutageDisconnect, Pair: p, Open: true, From: m}
		c.outages[p] = o
		c.stats.outages.Add(1)
		if err := emit(ctx, events, Event{Kind: EventOutage, Outage: o, Time: now}); err != nil {
			return err
		}
	}
	return cause
}

func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	ws, resp, err := c.dialer.DialContext(ctx, c.cfg.URL, nil)
	if resp != nil {
		resp.Body.Close() // gorilla has read what it needs
	}
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w (HTTP %s)", err, resp.Status)
		}
		return nil, fmt.Errorf("kraken: dial %s: %w", c.cfg.URL, err)
	}
	ws.SetReadLimit(maxFrame)
	return ws, nil
}

// nextReqID counts from 1 and wraps within int32 as Kraken requires.
func (c *Client) nextReqID() int32 {
	for {
		id := c.reqID.Add(1)
		if id > 0 {
			return id
		}
		c.reqID.CompareAndSwap(id, 0)
	}
}

// sequence drops duplicates and splits trades at gaps, in stream order.
// Trades are first ordered by (pair, trade_id) so that a snapshot sent
// newest first is sequenced the same as one sent oldest first. A pair's
// first frame ever is preceded by its OutageStart; its first frame after a
// disconnect is followed by the end of that outage.
func (c *Client) sequence(trades []market.Trade, recv time.Time) []Event {
	slices.SortStableFunc(trades, func(a, b market.Trade) int {
		return cmp.Or(strings.Compare(a.Pair, b.Pair), cmp.Compare(a.TradeID, b.TradeID))
	})
	var out []Event
	for len(trades) > 0 {
		n := 1
		for n < len(trades) && trades[n].Pair == trades[0].Pair {
			n++
		}
		out = c.sequencePair(trades[:n], recv, out)
		trades = trades[n:]
	}
	return out
}

// sequencePair sequences one pair's trades of a frame, in id order.
func (c *Client) sequencePair(trades []market.Trade, recv time.Time, out []Event) []Event {
	pair := trades[0].Pair
	if _, seen := c.last[pair]; !seen {
		c.outageSeq++
		first := trades[0]
		o := Outage{ID: c.outageSeq, Kind: OutageStart, Pair: pair, From: c.cfg.Resume[pair], To: first.TS, NextID: first.TradeID}
		out = append(out, Event{Kind: EventOutage, Outage: o, Time: recv})
	}
	var run []market.Trade
	var next *market.Trade
	for i, t := range trades {
		gap, fresh := c.track(t)
		if gap != nil {
			if len(run) > 0 {
				out, run = append(out, Event{Kind: EventTrades, Trades: run, Time: recv}), nil
			}
			out = append(out, Event{Kind: EventGap, Gap: *gap, Time: recv})
		}
		if fresh {
			run = append(run, t)
			if next == nil {
				next = &trades[i]
			}
		}
	}
	if len(run) > 0 {
		out = append(out, Event{Kind: EventTrades, Trades: run, Time: recv})
	}
	if o, open := c.outages[pair]; open {
		delete(c.outages, pair)
		o.Open, o.To = false, recv
		if next != nil {
			o.To, o.NextID = next.TS, next.TradeID
		}
		if n := len(out); n > 0 && out[n-1].Kind == EventTrades && len(run) > 0 {
			out[n-1].Closes = append(out[n-1].Closes, o)
		} else {
			out = append(out, Event{Kind: EventOutage, Outage: o, Time: recv})
		}
	}
	return out
}

// track updates the pair's newest trade. The first trade of a pair ever seen
// is the baseline: what came before it is not a gap (see OutageStart).
func (c *Client) track(t market.Trade) (gap *Gap, fresh bool) {
	m, seen := c.last[t.Pair]
	if seen && t.TradeID <= m.ID {
		c.stats.duplicates.Add(1)
		return nil, false
	}
	if seen && t.TradeID > m.ID+1 {
		gap = &Gap{Pair: t.Pair, FromID: m.ID + 1, ToID: t.TradeID - 1, FromTS: m.TS, ToTS: t.TS}
		c.stats.gaps.Add(1)
		c.stats.missing.Add(gap.Missing())
	}
	c.last[t.Pair] = Mark{ID: t.TradeID, TS: t.TS, Price: t.Price}
	c.stats.trades.Add(1)
	return gap, true
}

// noteMalformed counts a bad frame and logs it, at most once a second.
func (c *Client) noteMalformed(b []byte, err error) {
	c.stats.malformed.Add(1)
	if ok, skipped := c.logGate.allow(time.Now()); ok {
		c.log.Warn("kraken: malformed frame skipped", "err", err, "frame", truncate(b, 200), "suppressed", skipped)
	}
}

func (c *Client) noteRejected(errs []error) {
	if len(errs) == 0 {
		return
	}
	c.stats.rejected.Add(int64(len(errs)))
	if ok, skipped := c.logGate.allow(time.Now()); ok {
		c.log.Warn("kraken: invalid trades dropped", "count", len(errs), "first", errs[0], "suppressed", skipped)
	}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

// gate rate-limits a log line and counts what it held back.
type gate struct {
	every   time.Duration
	last    time.Time
	skipped int
}

func (g *gate) allow(now time.Time) (ok bool, skipped int) {
	if !g.last.IsZero() && now.Sub(g.last) < g.every {
		g.skipped++
		return false, 0
	}
	g.last, skipped, g.skipped = now, g.skipped, 0
	return true, skipped
}

// emit delivers ev unless ctx ends first, so that a full channel cannot
// hold Run after cancellation.
func emit(ctx context.Context, events chan<- Event, ev Event) error {
	select {
	case events <- ev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
