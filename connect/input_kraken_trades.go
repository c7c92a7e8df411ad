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
		Field(service.NewStringField(kiFieldStopAt).Description("RFC3339 event time at which the input ends (replays); empty = never.").Default(""))
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
		in.gaps = mgr.Metrics().NewCounter("tickcast_trade_id_gaps")
		return in, nil
	}
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
	tickEvery time.Duration
	clock     eventClock
	stopAt    time.Time
	pending   map[string]bool // pairs that have not reached stopAt yet
	stopped   bool
	gaps      *service.MetricCounter

	mu     sync.Mutex
	events chan kraken.Event
	cancel context.CancelFunc
	done   chan struct{} // closed when the client's Run returns
	runErr error         // Run's result, set before done closes
}

func (in *krakenInput) Connect(context.Context) error {
	in.stop() // a reconnect after the client gave up starts a fresh one
	// The client outlives Connect's context: it reconnects by itself until Close.
	ctx, cancel := context.WithCancel(context.Background())
	events, done := make(chan kraken.Event, 256), make(chan struct{})
	go func() {
		err := in.client.Run(ctx, events)
		in.mu.Lock()
		in.runErr = err
		in.mu.Unlock()
		close(done)
	}()
	in.mu.Lock()
	in.events, in.cancel, in.done = events, cancel, done
	in.mu.Unlock()
	return nil
}

// stop cancels the running client, if any, and waits for it.
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
		case ev := <-events:
			if batch := in.eventBatch(ev); len(batch) > 0 {
				return batch, noAck, nil
			}
		case <-ticker.C:
			if now, ok := in.clock.now(time.Now()); ok {
				return service.MessageBatch{newTick(now, false)}, noAck, nil
			}
		}
	}
}

func (in *krakenInput) eventBatch(ev kraken.Event) service.MessageBatch {
	switch ev.Kind {
	case kraken.EventTrades:
		return in.tradesBatch(ev)
	case kraken.EventGap:
		in.gaps.Incr(1)
		return service.MessageBatch{gapMessage(ev.Gap)}
	case kraken.EventHeartbeat:
		if now, ok := in.clock.now(time.Now()); ok {
			return service.MessageBatch{newTick(now, false)}
		}
	}
	return nil
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
	if !in.stopAt.IsZero() && len(in.pending) == 0 {
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
