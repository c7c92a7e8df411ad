package connect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
)

const (
	kiFieldURL            = "url"
	kiFieldPairs          = "pairs"
	kiFieldSnapshot       = "snapshot"
	kiFieldSilenceTimeout = "silence_timeout"
	kiFieldPingInterval   = "ping_interval"
	kiFieldBackoffMin     = "backoff_min"
	kiFieldBackoffMax     = "backoff_max"
	kiFieldTickInterval   = "tick_interval"
	kiFieldClockSpeed     = "clock_speed"
	kiFieldStopAt         = "stop_at"
	kiFieldRepair         = "repair"
	kiFieldRESTURL        = "rest_url"
	kiFieldRESTRate       = "rest_rate"
	kiFieldRepairAttempts = "repair_attempts"
)

// MetaRepair marks trades fetched from REST to fill a trade_id gap ("true").
const MetaRepair = "tickcast_repair"

const (
	// maxQueuedGaps bounds the gaps waiting for repair; beyond it a gap is
	// only reported.
	maxQueuedGaps = 64
	// repairDrainTimeout bounds how long a replay that reached stop_at waits
	// for repairs in flight before its final flush.
	repairDrainTimeout = 30 * time.Second
	// restBackoffMax caps the REST client's own retry backoff: a repair is
	// worth less the longer it waits.
	restBackoffMax = 30 * time.Second
)

func krakenTradesInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Streams trades from Kraken's WebSocket API v2, with clock ticks for event-time windows.").
		Description(`
Subscribes the trade channel for every pair (any spelling: BTC/USD, XBT/USD, XBTUSD, BTC-USD),
with an explicit snapshot. Reconnects after silence or errors with exponential backoff and
jitter, resubscribes, drops snapshot replays already seen (by trade_id), and emits a message
with tickcast_kind=gap for every trade_id gap (trades missed while away).

With repair on and rest_url set, each gap is then repaired in the background: the missing
trade ids are fetched from Kraken's REST Trades endpoint (rate-limited to rest_rate requests
per second; retried with backoff, repair_attempts times at most — a gap not fully repaired
stays reported) and emitted as trade messages with tickcast_repair=true and source
kraken-rest, each id once. The candles processor merges them, re-emitting corrected candles
for windows already closed. The stream never waits for REST. A reconnect is covered by the
snapshot (snapshot: true): its first trade shows the gap since the last trade held.

Besides trades (tickcast_kind=trade), it emits ticks (tickcast_kind=tick) every tick_interval
carrying the stream clock: the newest trade time advanced by the wall time since it arrived
times clock_speed (1 live; N for a replay at N×; 0 for a replay as fast as possible, where
only trades move the clock). With stop_at set, the input ends once every pair has a trade at
or after that time, after a final flush tick: that is how a replay ends by itself.`).
		Field(service.NewStringField(kiFieldURL).Description("WebSocket v2 endpoint.").Default("wss://ws.kraken.com/v2")).
		Field(service.NewStringListField(kiFieldPairs).Description("Pairs to subscribe; an element may hold several separated by commas (handy with env vars).").Example([]string{"BTC/USD", "ETH/USD"})).
		Field(service.NewBoolField(kiFieldSnapshot).Description("Ask for the last 50 trades on subscribe.").Default(true)).
		Field(service.NewDurationField(kiFieldSilenceTimeout).Description("No frame for this long means a dead connection.").Default("5s")).
		Field(service.NewDurationField(kiFieldPingInterval).Description("Application-level ping period.").Default("10s")).
		Field(service.NewDurationField(kiFieldBackoffMin).Default("1s").Advanced()).
		Field(service.NewDurationField(kiFieldBackoffMax).Default("60s").Advanced()).
		Field(service.NewDurationField(kiFieldTickInterval).Description("How often to emit clock ticks.").Default(defaultTickInterval.String())).
		Field(service.NewFloatField(kiFieldClockSpeed).Description("Clock speed relative to the wall clock (see above).").Default(1.0)).
		Field(service.NewStringField(kiFieldStopAt).Description("RFC3339 event time at which the input ends (replays); empty = never.").Default("")).
		Field(service.NewBoolField(kiFieldRepair).Description("Fetch the trades of trade_id gaps from REST (see above).").Default(true)).
		Field(service.NewStringField(kiFieldRESTURL).Description("Kraken REST base URL for gap repair; empty disables repair.").Default(kraken.DefaultRESTURL)).
		Field(service.NewFloatField(kiFieldRESTRate).Description("REST requests per second at most (Kraken's public budget is about 1).").Default(kraken.DefaultRESTRate)).
		Field(service.NewIntField(kiFieldRepairAttempts).Description("Attempts per gap before giving up (each request is itself retried on rate limits and outages); backoff_min and backoff_max (at most 30s) bound the backoff.").Default(5).Advanced())
}

// splitPairs normalizes a pairs list whose elements may hold comma-separated pairs.
func splitPairs(raw []string) ([]string, error) {
	var pairs []string
	seen := map[string]bool{}
	for _, r := range raw {
		for _, s := range strings.Split(r, ",") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			p, err := market.NormalizePair(s)
			if err != nil {
				return nil, err
			}
			if !seen[p] {
				seen[p] = true
				pairs = append(pairs, p)
			}
		}
	}
	if len(pairs) == 0 {
		return nil, errors.New("no pairs configured")
	}
	return pairs, nil
}

func parseStopAt(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stop_at %q: %w", s, err)
	}
	return t, nil
}

func newKrakenTradesInput(logger *slog.Logger) service.BatchInputConstructor {
	return func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
		cfg, in, err := krakenInputConfig(conf)
		if err != nil {
			return nil, err
		}
		cfg.Logger = logger
		client, err := kraken.NewClient(cfg)
		if err != nil {
			return nil, err
		}
		in.client = client
		in.log = logger
		if in.log == nil {
			in.log = slog.New(slog.DiscardHandler)
		}
		m := mgr.Metrics()
		in.gaps = m.NewCounter("tickcast_trade_id_gaps")
		if in.repair, err = newRepairer(conf, cfg, in.log, m); err != nil {
			return nil, err
		}
		return in, nil
	}
}

// newRepairer returns the gap repairer the config asks for, nil when repair is off.
func newRepairer(conf *service.ParsedConfig, cfg kraken.ClientConfig, log *slog.Logger, m *service.Metrics) (*repairer, error) {
	on, err := conf.FieldBool(kiFieldRepair)
	if err != nil {
		return nil, err
	}
	url, err := conf.FieldString(kiFieldRESTURL)
	if err != nil || !on || url == "" {
		return nil, err
	}
	rate, err := conf.FieldFloat(kiFieldRESTRate)
	if err != nil {
		return nil, err
	}
	attempts, err := conf.FieldInt(kiFieldRepairAttempts)
	if err != nil {
		return nil, err
	}
	if attempts < 1 {
		return nil, fmt.Errorf("%s %d: want at least 1", kiFieldRepairAttempts, attempts)
	}
	lo, hi := cfg.BackoffMin, min(cfg.BackoffMax, restBackoffMax)
	rest, err := kraken.NewREST(kraken.RESTConfig{BaseURL: url, RatePerSecond: rate, Logger: log, BackoffMin: lo, BackoffMax: hi})
	if err != nil {
		return nil, fmt.Errorf("kraken_trades repair: %w", err)
	}
	return &repairer{
		rest: rest, attempts: attempts, backoffMin: lo, backoffMax: hi, log: log,
		mRequests: m.NewCounter("tickcast_repair_requests"),
		mTrades:   m.NewCounter("tickcast_repair_trades"),
		mFailed:   m.NewCounter("tickcast_repair_failed_gaps"),
	}, nil
}

func krakenInputConfig(conf *service.ParsedConfig) (kraken.ClientConfig, *krakenInput, error) {
	var cfg kraken.ClientConfig
	var err error
	in := &krakenInput{}
	if cfg.URL, err = conf.FieldString(kiFieldURL); err != nil {
		return cfg, nil, err
	}
	raw, err := conf.FieldStringList(kiFieldPairs)
	if err != nil {
		return cfg, nil, err
	}
	if cfg.Pairs, err = splitPairs(raw); err != nil {
		return cfg, nil, err
	}
	if cfg.Snapshot, err = conf.FieldBool(kiFieldSnapshot); err != nil {
		return cfg, nil, err
	}
	durations := []struct {
		field string
		dst   *time.Duration
	}{
		{kiFieldSilenceTimeout, &cfg.SilenceTimeout},
		{kiFieldPingInterval, &cfg.PingInterval},
		{kiFieldBackoffMin, &cfg.BackoffMin},
		{kiFieldBackoffMax, &cfg.BackoffMax},
		{kiFieldTickInterval, &in.tickEvery},
	}
	for _, d := range durations {
		if *d.dst, err = conf.FieldDuration(d.field); err != nil {
			return cfg, nil, err
		}
	}
	if in.clock.speed, err = conf.FieldFloat(kiFieldClockSpeed); err != nil {
		return cfg, nil, err
	}
	stop, err := conf.FieldString(kiFieldStopAt)
	if err != nil {
		return cfg, nil, err
	}
	if in.stopAt, err = parseStopAt(stop); err != nil {
		return cfg, nil, err
	}
	in.pending = map[string]bool{}
	for _, p := range cfg.Pairs {
		in.pending[p] = true
	}
	return cfg, in, nil
}

// krakenInput turns the client's events into Benthos batches.
type krakenInput struct {
	client    *kraken.Client
	repair    *repairer // nil: repair off
	log       *slog.Logger
	tickEvery time.Duration
	clock     eventClock
	stopAt    time.Time
	pending   map[string]bool // pairs that have not reached stopAt yet
	stopping  bool            // stopAt reached: waiting for repairs in flight
	drainBy   time.Time       // when stopping gives up waiting
	stopped   bool
	gaps      *service.MetricCounter

	// Owned by ReadBatch (Benthos calls Connect and ReadBatch in turn): the
	// repairs queued whose last result has not been read yet, and the
	// repairer's channels of the current Connect.
	repairs  int
	jobs     chan kraken.Gap
	repaired chan repairResult
	// Gaps reported but not queued yet: a gap is queued once the trades
	// after it went out, so that its repairs come after them and the
	// candles stage sees the gap before the trades filling it.
	deferred []kraken.Gap

	mu     sync.Mutex
	events chan kraken.Event
	cancel context.CancelFunc
	done   chan struct{} // closed when the client's Run and the repairer return
	runErr error         // Run's result, set before done closes
}

func (in *krakenInput) Connect(context.Context) error {
	in.stop() // a reconnect after the client gave up starts a fresh one
	// The client outlives Connect's context: it reconnects by itself until Close.
	ctx, cancel := context.WithCancel(context.Background())
	events, done := make(chan kraken.Event, 256), make(chan struct{})
	var wg sync.WaitGroup
	in.repairs, in.deferred = 0, nil
	in.jobs, in.repaired = make(chan kraken.Gap, maxQueuedGaps), make(chan repairResult)
	if in.repair != nil {
		jobs, results := in.jobs, in.repaired
		wg.Go(func() { in.repair.run(ctx, jobs, results) })
	}
	wg.Go(func() {
		err := in.client.Run(ctx, events)
		in.mu.Lock()
		in.runErr = err
		in.mu.Unlock()
		cancel() // a client that gave up takes the repairer with it
	})
	go func() { wg.Wait(); close(done) }()
	in.mu.Lock()
	in.events, in.cancel, in.done = events, cancel, done
	in.mu.Unlock()
	return nil
}

// stop cancels the running client and repairer, if any, and waits for them.
func (in *krakenInput) stop() {
	in.mu.Lock()
	cancel, done := in.cancel, in.done
	in.cancel = nil
	in.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func noAck(context.Context, error) error { return nil }

func (in *krakenInput) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	if in.stopped {
		return nil, nil, service.ErrEndOfInput
	}
	if in.stopping && in.repairs == 0 {
		return in.finish(), noAck, nil
	}
	in.mu.Lock()
	events, done := in.events, in.done
	in.mu.Unlock()
	ticker := time.NewTicker(in.tickEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-done:
			in.mu.Lock()
			err := in.runErr
			in.mu.Unlock()
			return nil, nil, fmt.Errorf("kraken client stopped: %w: %w", err, service.ErrNotConnected)
		case res := <-in.repaired:
			if batch := in.repairBatch(res); len(batch) > 0 {
				return batch, noAck, nil
			}
			if in.stopping && in.repairs == 0 {
				return in.finish(), noAck, nil
			}
		case ev := <-events:
			if in.stopping {
				continue // past stop_at: only repairs are still awaited
			}
			if batch := in.eventBatch(ev); len(batch) > 0 {
				return batch, noAck, nil
			}
		case wall := <-ticker.C:
			if in.stopping && wall.After(in.drainBy) {
				in.log.Warn("kraken_trades: stop_at reached; repairs still in flight abandoned", "gaps", in.repairs)
				return in.finish(), noAck, nil
			}
			if now, ok := in.clock.now(time.Now()); ok && !in.stopping {
				return service.MessageBatch{newTick(now, false)}, noAck, nil
			}
		}
	}
}

// finish ends a replay: the final flush tick at stopAt.
func (in *krakenInput) finish() service.MessageBatch {
	in.stopped = true
	return service.MessageBatch{newTick(in.stopAt, true)}
}

func (in *krakenInput) eventBatch(ev kraken.Event) service.MessageBatch {
	switch ev.Kind {
	case kraken.EventTrades:
		return in.tradesBatch(ev)
	case kraken.EventGap:
		in.gaps.Incr(1)
		if in.repair != nil {
			in.deferred = append(in.deferred, ev.Gap)
		}
		return service.MessageBatch{gapMessage(ev.Gap)}
	case kraken.EventHeartbeat:
		if now, ok := in.clock.now(time.Now()); ok {
			return service.MessageBatch{newTick(now, false)}
		}
	}
	return nil
}

// queueDeferred queues the gaps reported before the trades being emitted
// (the client reports a gap right before the trades that reveal it).
func (in *krakenInput) queueDeferred() {
	for _, g := range in.deferred {
		in.queueRepair(g)
	}
	in.deferred = in.deferred[:0]
}

// queueRepair hands g to the repairer without waiting: when its queue is
// full the gap is only reported.
func (in *krakenInput) queueRepair(g kraken.Gap) {
	select {
	case in.jobs <- g:
		in.repairs++
	default:
		in.repair.mFailed.Incr(1)
		in.log.Warn("kraken_trades: repair queue full; gap only reported", "pair", g.Pair, "from_id", g.FromID, "to_id", g.ToID)
	}
}

// repairBatch turns repaired trades into trade messages marked as repairs.
// They do not move the clock: they are older than trades already emitted.
func (in *krakenInput) repairBatch(res repairResult) service.MessageBatch {
	if res.last {
		in.repairs--
	}
	batch := make(service.MessageBatch, 0, len(res.trades))
	for _, t := range res.trades {
		m := newRecord(KindTrade, t.Pair, t.AppendJSON(nil), t)
		m.MetaSetMut(MetaRepair, "true")
		batch = append(batch, m)
	}
	return batch
}

func (in *krakenInput) tradesBatch(ev kraken.Event) service.MessageBatch {
	batch := make(service.MessageBatch, 0, len(ev.Trades)+1)
	wall := time.Now()
	for _, t := range ev.Trades {
		batch = append(batch, newRecord(KindTrade, t.Pair, t.AppendJSON(nil), t))
		in.clock.observe(t.TS, wall)
		if !in.stopAt.IsZero() && !t.TS.Before(in.stopAt) {
			delete(in.pending, t.Pair)
		}
	}
	in.queueDeferred()
	if !in.stopAt.IsZero() && len(in.pending) == 0 {
		if in.repairs > 0 { // the flush waits for the repairs (ReadBatch)
			in.stopping, in.drainBy = true, wall.Add(repairDrainTimeout)
			return batch
		}
		in.stopped = true
		return append(batch, newTick(in.stopAt, true))
	}
	if now, ok := in.clock.now(wall); ok {
		batch = append(batch, newTick(now, false))
	}
	return batch
}

type gapRecord struct {
	Pair   string    `json:"pair"`
	FromID int64     `json:"from_id"`
	ToID   int64     `json:"to_id"`
	FromTS time.Time `json:"from_ts"`
	ToTS   time.Time `json:"to_ts"`
}

func gapMessage(g kraken.Gap) *service.Message {
	b, _ := json.Marshal(gapRecord{g.Pair, g.FromID, g.ToID, g.FromTS.UTC(), g.ToTS.UTC()}) // plain types: cannot fail
	return newRecordMessage(KindGap, g.Pair, b)
}

func (in *krakenInput) Close(context.Context) error {
	in.stop()
	return nil
}

// repairer fetches the trades of trade_id gaps from Kraken REST, one gap at
// a time in its own goroutine, so that the WebSocket stream never waits.
type repairer struct {
	rest                   *kraken.REST
	attempts               int
	backoffMin, backoffMax time.Duration
	log                    *slog.Logger

	mRequests, mTrades, mFailed *service.MetricCounter
}

// repairResult carries the newly fetched trades of a gap; last is set on
// the gap's final result.
type repairResult struct {
	trades []market.Trade
	last   bool
}

func (r *repairer) run(ctx context.Context, jobs <-chan kraken.Gap, results chan<- repairResult) {
	for {
		select {
		case <-ctx.Done():
			return
		case g := <-jobs:
			r.repairGap(ctx, g, results)
		}
	}
}

// repairGap fetches the ids of g, sending each new trade once, in id order,
// as it arrives. An attempt resumes after the last id sent, so a retry
// never sends an id again.
func (r *repairer) repairGap(ctx context.Context, g kraken.Gap, results chan<- repairResult) {
	after, since := g.FromID-1, g.FromTS
	for attempt := 1; ; attempt++ {
		r.mRequests.Incr(1)
		got, err := r.rest.TradesAfter(ctx, g.Pair, after, since, g.ToID)
		fresh := gapTrades(g, got, after)
		if n := len(fresh); n > 0 {
			after, since = fresh[n-1].TradeID, fresh[n-1].TS
			r.mTrades.Incr(int64(n))
		}
		last := after >= g.ToID || attempt >= r.attempts || ctx.Err() != nil
		select {
		case results <- repairResult{trades: fresh, last: last}:
		case <-ctx.Done():
			return
		}
		if last {
			r.logOutcome(g, after, attempt, err)
			return
		}
		r.log.Debug("kraken_trades: gap repair incomplete, retrying", "pair", g.Pair, "attempt", attempt, "missing", g.ToID-after, "err", err)
		if !sleepCtx(ctx, backoff(r.backoffMin, r.backoffMax, attempt)) {
			return
		}
	}
}

func (r *repairer) logOutcome(g kraken.Gap, after int64, attempts int, err error) {
	if after >= g.ToID {
		r.log.Info("kraken_trades: gap repaired from REST", "pair", g.Pair, "from_id", g.FromID, "to_id", g.ToID, "attempts", attempts)
		return
	}
	r.mFailed.Incr(1)
	r.log.Warn("kraken_trades: gap repair gave up; the gap stays reported", "pair", g.Pair,
		"from_id", g.FromID, "to_id", g.ToID, "missing", g.ToID-after, "attempts", attempts, "err", err)
}

// gapTrades keeps the trades of got with ids in (after, g.ToID], in id
// order, each once, labelled with the WebSocket's pair name and REST source.
func gapTrades(g kraken.Gap, got []market.Trade, after int64) []market.Trade {
	var out []market.Trade
	for _, t := range got {
		if t.TradeID <= after || t.TradeID > g.ToID {
			continue
		}
		t.Pair, t.Source = g.Pair, market.SourceKrakenREST
		out, after = append(out, t), t.TradeID
	}
	return out
}

// backoff is min·2^(attempt−1), at most max.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// sleepCtx waits d, false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
