package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/internal/backoff"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/wire"
)

const (
	kiFieldURL             = "url"
	kiFieldPairs           = "pairs"
	kiFieldSnapshot        = "snapshot"
	kiFieldSilenceTimeout  = "silence_timeout"
	kiFieldPingInterval    = "ping_interval"
	kiFieldBackoffMin      = "backoff_min"
	kiFieldBackoffMax      = "backoff_max"
	kiFieldTickInterval    = "tick_interval"
	kiFieldClockSpeed      = "clock_speed"
	kiFieldStopAt          = "stop_at"
	kiFieldRepair          = "repair"
	kiFieldRESTURL         = "rest_url"
	kiFieldRESTRate        = "rest_rate"
	kiFieldRepairAttempts  = "repair_attempts"
	kiFieldResumeFrom      = "resume_from"
	kiFieldHeadWindow      = "head_window"
	kiFieldHorizon         = "correction_horizon"
	kiFieldFutureTolerance = "future_tolerance"
	kiFieldMaxBehind       = "max_behind"
	kiFieldPriceBand       = "price_band"
)

// MetaRepair marks trades fetched from REST to fill a gap ("true").
const MetaRepair = "tickcast_repair"

// MetaReject names why the input refused a trade (a market.RejectReason).
const MetaReject = "tickcast_reject"

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
jitter, resubscribes, and drops snapshot replays already seen (by trade_id).

Nothing missed goes unsaid: every gap is a message with tickcast_kind=gap (the gaps dataset,
see GapRecord) through its life — open, closed, repaired or unrepairable:
- outage: the connection was lost. Open from the pair's last trade until its first frame on
  the new connection (the snapshot); candles of windows that close meanwhile are incomplete.
  A trade_id jump after it is an ids gap.
- ids: trade ids never received (more trades were missed than the snapshot holds).
- start: the stream's first trade of a pair. The trades before it, back to the start of its
  head_window (or to the store's last trade when resume_from is set and that trade is within
  correction_horizon: a restart, even after a crash, refetches what was not stored), are
  fetched from REST; until then the first candle is incomplete.

With repair on and rest_url set, ids and start gaps are repaired in the background from
Kraken's REST Trades endpoint (rate-limited to rest_rate requests per second; retried with
backoff, repair_attempts times at most) and emitted as trade messages with tickcast_repair=true
and source kraken-rest, each id once. The candles processor merges them, re-emitting corrected
candles. The stream never waits for REST.

Sanity at the door: a trade stamped beyond the stream clock + future_tolerance, more than
max_behind behind it, outside 2009..2100, with a non-finite, zero or negative price or
quantity, an absurd size, or a price outside price_band× the pair's recent median is not
passed on as a trade: it is flagged with an error (route errored() to a dead-letter output)
with its reason in tickcast_reject and counted; it never moves the clock. The stream clock is
the host clock corrected by its measured offset to Kraken's REST Time (clock_speed 1), or the
exchange clock sampled from REST Time at clock_speed (replays), else the newest trade's time.

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
		Field(service.NewBoolField(kiFieldRepair).Description("Fetch missed trades from REST (see above).").Default(true)).
		Field(service.NewStringField(kiFieldRESTURL).Description("Kraken REST base URL of the same exchange as url; empty disables repair.").Default(kraken.DefaultRESTURL)).
		Field(service.NewFloatField(kiFieldRESTRate).Description("REST requests per second at most (Kraken's public budget is about 1).").Default(kraken.DefaultRESTRate)).
		Field(service.NewIntField(kiFieldRepairAttempts).Description("Attempts per gap before giving up (each request is itself retried on rate limits and outages); backoff_min and backoff_max (at most 30s) bound the backoff.").Default(5).Advanced()).
		Field(service.NewStringField(kiFieldResumeFrom).Description("Data directory whose stored trades say where a restart resumes (see above); empty: every start is fresh.").Default("")).
		Field(service.NewDurationField(kiFieldHeadWindow).Description("A stream's first trades are repaired back to the start of the window of this length that holds them: the candles interval.").Default("1m").Advanced()).
		Field(service.NewDurationField(kiFieldHorizon).Description("How far back a restart refetches (the candles processor's repair_windows × interval: older trades could not correct a candle).").Default("2h").Advanced()).
		Field(service.NewDurationField(kiFieldFutureTolerance).Description("Trades stamped later than the stream clock plus this are refused.").Default(market.DefaultFutureTolerance.String()).Advanced()).
		Field(service.NewDurationField(kiFieldMaxBehind).Description("Trades stamped earlier than the stream clock minus this are refused (trades merely older than the correction horizon are routed late by the candles processor).").Default("6h").Advanced()).
		Field(service.NewFloatField(kiFieldPriceBand).Description("Prices above this many times, or below its inverse, the pair's recent median are refused.").Default(market.DefaultPriceBand).Advanced())
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
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		cfg.Logger, in.log, in.cfg = logger, logger, cfg
		m := mgr.Metrics()
		in.mGaps = m.NewCounter("tickcast_gaps", "kind", "state")
		in.mRejected = m.NewCounter("tickcast_trades_rejected", "reason")
		in.mOffset = m.NewGauge("tickcast_kraken_clock_offset_ms")
		if in.repair, in.rest, err = newRepairer(conf, cfg, in.log, m); err != nil {
			return nil, err
		}
		return in, nil
	}
}

// newRepairer returns the REST client and gap repairer the config asks
// for; the repairer is nil when repair is off, the client when rest_url is
// empty.
func newRepairer(conf *service.ParsedConfig, cfg kraken.ClientConfig, log *slog.Logger, m *service.Metrics) (*repairer, *kraken.REST, error) {
	on, err := conf.FieldBool(kiFieldRepair)
	if err != nil {
		return nil, nil, err
	}
	url, err := conf.FieldString(kiFieldRESTURL)
	if err != nil || url == "" {
		return nil, nil, err
	}
	rate, err := conf.FieldFloat(kiFieldRESTRate)
	if err != nil {
		return nil, nil, err
	}
	attempts, err := conf.FieldInt(kiFieldRepairAttempts)
	if err != nil {
		return nil, nil, err
	}
	if attempts < 1 {
		return nil, nil, fmt.Errorf("%s %d: want at least 1", kiFieldRepairAttempts, attempts)
	}
	lo, hi := cfg.BackoffMin, min(cfg.BackoffMax, restBackoffMax)
	rest, err := kraken.NewREST(kraken.RESTConfig{BaseURL: url, RatePerSecond: rate, Logger: log, BackoffMin: lo, BackoffMax: hi})
	if err != nil {
		return nil, nil, fmt.Errorf("kraken_trades repair: %w", err)
	}
	if !on {
		return nil, rest, nil
	}
	return &repairer{
		rest: rest, attempts: attempts, backoff: backoff.Backoff{Min: lo, Max: hi}, log: log,
		mRequests: m.NewCounter("tickcast_repair_requests"),
		mTrades:   m.NewCounter("tickcast_repair_trades"),
		mFailed:   m.NewCounter("tickcast_repair_failed_gaps"),
	}, rest, nil
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
	if cfg.Pairs, err = market.SplitPairs(raw...); err != nil {
		return cfg, nil, err
	}
	if cfg.Snapshot, err = conf.FieldBool(kiFieldSnapshot); err != nil {
		return cfg, nil, err
	}
	var sanity market.SanityConfig
	durations := []struct {
		field string
		dst   *time.Duration
	}{
		{kiFieldSilenceTimeout, &cfg.SilenceTimeout},
		{kiFieldPingInterval, &cfg.PingInterval},
		{kiFieldBackoffMin, &cfg.BackoffMin},
		{kiFieldBackoffMax, &cfg.BackoffMax},
		{kiFieldTickInterval, &in.tickEvery},
		{kiFieldHeadWindow, &in.headWindow},
		{kiFieldHorizon, &in.horizon},
		{kiFieldFutureTolerance, &sanity.FutureTolerance},
		{kiFieldMaxBehind, &sanity.MaxBehind},
	}
	for _, d := range durations {
		if *d.dst, err = conf.FieldDuration(d.field); err != nil {
			return cfg, nil, err
		}
	}
	if in.headWindow < time.Second || in.horizon < 0 {
		return cfg, nil, fmt.Errorf("%s %s: want at least 1s; %s %s: want >= 0", kiFieldHeadWindow, in.headWindow, kiFieldHorizon, in.horizon)
	}
	if sanity.PriceBand, err = conf.FieldFloat(kiFieldPriceBand); err != nil {
		return cfg, nil, err
	}
	if in.sanity, err = market.NewSanity(sanity); err != nil {
		return cfg, nil, err
	}
	if in.clock.Speed, err = conf.FieldFloat(kiFieldClockSpeed); err != nil {
		return cfg, nil, err
	}
	if in.resumeFrom, err = conf.FieldString(kiFieldResumeFrom); err != nil {
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
	cfg        kraken.ClientConfig
	client     *kraken.Client
	repair     *repairer    // nil: repair off
	rest       *kraken.REST // nil: no REST (no repair, no exchange clock)
	sanity     *market.Sanity
	log        *slog.Logger
	tickEvery  time.Duration
	headWindow time.Duration
	horizon    time.Duration
	resumeFrom string // data dir of the store a restart resumes from; "" for none
	clock      market.EventClock
	exchange   exchangeClock
	stopAt     time.Time
	pending    map[string]bool // pairs that have not reached stopAt yet
	stopping   bool            // stopAt reached: waiting for repairs in flight
	drainBy    time.Time       // when stopping gives up waiting
	stopped    bool

	mGaps, mRejected *service.MetricCounter
	mOffset          *service.MetricGauge

	// Owned by ReadBatch (Benthos calls Connect and ReadBatch in turn): the
	// repairs queued whose last result has not been read yet, and the
	// repairer's channels of the current Connect.
	repairs  int
	jobs     chan *repairJob
	repaired chan repairResult
	// Jobs not queued yet: a gap is queued once the trades after it went
	// out, so that its repairs come after them and the candles stage sees
	// the gap before the trades filling it.
	deferred []*repairJob

	mu     sync.Mutex
	events chan kraken.Event
	cancel context.CancelFunc
	done   chan struct{} // closed when the client's Run and the repairer return
	runErr error         // Run's result, set before done closes
}

func (in *krakenInput) Connect(context.Context) error {
	in.stop() // a reconnect after the client gave up starts a fresh one
	cfg := in.cfg
	var err error
	if cfg.Resume, err = resumeMarks(in.resumeFrom, cfg.Pairs); err != nil {
		in.log.Warn("kraken_trades: cannot read where to resume; starting fresh", "data_dir", in.resumeFrom, "err", err)
	}
	client, err := kraken.NewClient(cfg)
	if err != nil {
		return err
	}
	in.client = client
	// The client outlives Connect's context: it reconnects by itself until Close.
	ctx, cancel := context.WithCancel(context.Background())
	events, done := make(chan kraken.Event, 256), make(chan struct{})
	var wg sync.WaitGroup
	in.repairs, in.deferred = 0, nil
	in.jobs, in.repaired = make(chan *repairJob, maxQueuedGaps), make(chan repairResult)
	if in.repair != nil {
		jobs, results := in.jobs, in.repaired
		wg.Go(func() { in.repair.run(ctx, jobs, results) })
	}
	if in.rest != nil {
		in.exchange.prime(ctx, in.rest, in.clock.Speed, in.log)
		wg.Go(func() { in.exchange.run(ctx, in.rest, in.clock.Speed, in.log, in.mOffset) })
	}
	wg.Go(func() {
		err := client.Run(ctx, events)
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
			if now, ok := in.clock.Now(time.Now()); ok && !in.stopping {
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
		g := ev.Gap
		rec := GapRecord{Kind: GapIDs, State: GapOpen, Pair: g.Pair, FromID: g.FromID, ToID: g.ToID, FromTS: g.FromTS, ToTS: g.ToTS, At: ev.Time}
		in.hold(&repairJob{gap: rec})
		return in.gapBatch(rec)
	case kraken.EventOutage:
		return in.outageBatch(ev.Outage, ev.Time)
	case kraken.EventRejected:
		return service.MessageBatch{in.rejected(ev.Reject, "malformed")}
	case kraken.EventHeartbeat:
		if now, ok := in.clock.Now(time.Now()); ok {
			return service.MessageBatch{newTick(now, false)}
		}
	}
	return nil
}

// outageBatch reports an outage. A start outage also decides how far back
// the stream's first trades are repaired: to the stored trade when it is
// within the correction horizon, else to the start of the first trade's
// window.
func (in *krakenInput) outageBatch(o kraken.Outage, recv time.Time) service.MessageBatch {
	rec := GapRecord{Kind: GapOutage, State: GapClosed, ID: o.ID, Pair: o.Pair, FromID: o.From.ID + 1, FromTS: o.From.TS, ToTS: o.To, NextID: o.NextID, At: recv}
	switch {
	case o.Open:
		rec.State, rec.ToTS = GapOpen, time.Time{}
		return in.gapBatch(rec)
	case o.Kind != kraken.OutageStart:
		return in.gapBatch(rec)
	}
	rec.Kind, rec.State = GapStart, GapOpen
	head := o.To.Truncate(in.headWindow)
	var batch service.MessageBatch
	switch {
	case o.From.ID > 0 && o.To.Sub(o.From.TS) <= in.horizon: // a restart within the horizon
		if from := o.From.TS.Truncate(in.headWindow); from.Before(head) {
			head = from
		}
		rec.Price = o.From.Price
	case o.From.ID > 0: // stored trades too old to correct anything
		old := GapRecord{Kind: GapStart, State: GapUnrepairable, Pair: o.Pair, FromID: o.From.ID + 1, FromTS: o.From.TS, ToTS: head, At: recv,
			Reason: fmt.Sprintf("the stored trades end %s before the stream's first: beyond the correction horizon (%s); a backfill covers it", o.To.Sub(o.From.TS).Round(time.Second), in.horizon)}
		batch = in.gapBatch(old)
		fallthrough
	default:
		rec.FromID = 0
	}
	rec.FromTS = head
	batch = append(batch, in.gapBatch(rec)...)
	switch {
	case o.NextID == 1: // ids count from 1: nothing came before it
		rec.State = GapRepaired
		return append(batch, in.gapBatch(rec)...)
	case in.repair == nil:
		rec.State, rec.Reason = GapUnrepairable, "repair is off"
		return append(batch, in.gapBatch(rec)...)
	}
	in.hold(&repairJob{gap: rec, since: head, until: o.NextID - 1})
	return batch
}

// gapBatch is the message of rec, counted.
func (in *krakenInput) gapBatch(rec GapRecord) service.MessageBatch {
	in.mGaps.Incr(1, rec.Kind, rec.State)
	if rec.State == GapOpen || rec.State == GapUnrepairable {
		in.log.Warn("kraken_trades: gap", "pair", rec.Pair, "kind", rec.Kind, "state", rec.State,
			"from_id", rec.FromID, "to_id", rec.ToID, "from_ts", rec.FromTS, "reason", rec.Reason)
	}
	return service.MessageBatch{gapMessage(rec)}
}

// hold keeps j for the repairer until the trades after its gap went out;
// without repair the gap is only reported.
func (in *krakenInput) hold(j *repairJob) {
	if in.repair != nil {
		in.deferred = append(in.deferred, j)
	}
}

// queueDeferred queues the jobs of the gaps reported before the trades
// being emitted (the client reports a gap right before the trades that
// reveal it).
func (in *krakenInput) queueDeferred() {
	for _, j := range in.deferred {
		in.queueRepair(j)
	}
	in.deferred = in.deferred[:0]
}

// queueRepair hands j to the repairer without waiting: when its queue is
// full the gap is only reported.
func (in *krakenInput) queueRepair(j *repairJob) {
	select {
	case in.jobs <- j:
		in.repairs++
	default:
		in.repair.mFailed.Incr(1)
		in.log.Warn("kraken_trades: repair queue full; gap only reported", "pair", j.gap.Pair, "kind", j.gap.Kind, "from_id", j.gap.FromID, "to_id", j.gap.ToID)
	}
}

// rejected is the dead letter of what the client could not use: a frame,
// a trade of a frame, a row of a REST page.
func (in *krakenInput) rejected(r kraken.Rejected, reason string) *service.Message {
	m := service.NewMessage(r.Raw)
	m.MetaSetMut(MetaKind, KindRejectedTrade)
	m.MetaSetMut(MetaReject, reason)
	m.SetError(fmt.Errorf("kraken_trades: %w", r.Err))
	in.mRejected.Incr(1, reason)
	return m
}

// repairBatch turns repaired trades into trade messages marked as repairs,
// the rows REST served in the gap that are not valid trades into dead
// letters (reason malformed, as on the WebSocket; marked as repairs), and
// the job's outcome into a gap record on its last result. Repairs do not move the clock: they are older than trades
// already emitted.
func (in *krakenInput) repairBatch(res repairResult) service.MessageBatch {
	batch := make(service.MessageBatch, 0, len(res.trades)+len(res.rejected)+1)
	for _, r := range res.rejected {
		m := in.rejected(r, "malformed")
		m.MetaSetMut(MetaRepair, "true")
		batch = append(batch, m)
	}
	now := in.streamNow(time.Now())
	for _, t := range res.trades {
		m := in.admit(t, now)
		m.MetaSetMut(MetaRepair, "true")
		batch = append(batch, m)
	}
	if res.last {
		in.repairs--
		rec := res.job.gap
		rec.State, rec.At, rec.Reason = GapRepaired, time.Now(), ""
		if !res.ok {
			rec.State, rec.Reason = GapUnrepairable, fmt.Sprintf("not all trades could be fetched from REST in %d attempts", in.repair.attempts)
		}
		batch = append(batch, in.gapBatch(rec)...)
	}
	return batch
}

func (in *krakenInput) tradesBatch(ev kraken.Event) service.MessageBatch {
	batch := make(service.MessageBatch, 0, len(ev.Trades)+1)
	wall := time.Now()
	now := in.streamNow(wall)
	for _, t := range ev.Trades {
		m := in.admit(t, now)
		batch = append(batch, m)
		if kindOf(m) == KindRejectedTrade {
			continue // refused at the door: it never moves the clock
		}
		in.clock.Observe(t.TS, wall)
		if !in.stopAt.IsZero() && !t.TS.Before(in.stopAt) {
			delete(in.pending, t.Pair)
		}
	}
	for _, o := range ev.Closes { // outages these trades end
		batch = append(batch, in.outageBatch(o, ev.Time)...)
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
	if now, ok := in.clock.Now(wall); ok {
		batch = append(batch, newTick(now, false))
	}
	return batch
}

// admit is the door: the message of a sane trade, or the trade flagged with
// why it was refused (a dead letter, counted).
func (in *krakenInput) admit(t market.Trade, streamNow time.Time) *service.Message {
	m := newRecord(KindTrade, t.Pair, wire.AppendJSON(nil, t), t)
	if err := in.sanity.Check(t, streamNow); err != nil {
		m.MetaSetMut(MetaKind, KindRejectedTrade)
		reason := "invalid"
		var rej *market.RejectError
		if errors.As(err, &rej) {
			reason = rej.Reason.String()
		}
		in.mRejected.Incr(1, reason)
		m.MetaSetMut(MetaReject, reason)
		m.SetError(fmt.Errorf("kraken_trades: %w", err))
	}
	return m
}

// streamNow is the clock trades are checked against: the exchange's, from
// REST Time (live: the host clock until the offset is known); zero — only
// the absolute checks — when it is unknown or in a replay as fast as
// possible (clock_speed 0). Never the trades' own clock: a frame of trades
// sent late would look ahead of it.
func (in *krakenInput) streamNow(wall time.Time) time.Time {
	if t, ok := in.exchange.now(wall); ok {
		return t
	}
	if in.clock.Speed == 1 {
		return wall
	}
	return time.Time{}
}

func (in *krakenInput) Close(context.Context) error {
	in.stop()
	return nil
}
