package connect

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/wire"
)

const (
	cpFieldInterval      = "interval"
	cpFieldGrace         = "grace"
	cpFieldEmitTrades    = "emit_trades"
	cpFieldRepairWindows = "repair_windows"
)

func candlesProcessorSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Utility").
		Summary("Aggregates trades into event-time OHLCV candles per pair (tumbling windows).").
		Description(`
Consumes trade messages (tickcast_kind=trade, or plain trade JSON) and tick messages
(tickcast_kind=tick, clock in tickcast_ts). A window [start, end) closes when event time
passes end+grace — from a later trade of the pair or from a tick — so a candle is emitted
even when no further trade arrives; windows without trades are emitted as empty candles.
Duplicate trades (pair, trade_id) are dropped. Candles overlapping a trade_id gap, or an
outage or stream start the input reports (gap messages, tickcast_kind=gap), carry
complete=false until the gap is filled or the outage resolved. Invalid trades are flagged with
an error (route them with errored()). Run with pipeline.threads: 1: the state is ordered.

Corrections: a trade whose window already closed is still merged as long as that window is
among the pair's last repair_windows (the correction horizon): a trade filling a trade_id gap
(fetched from REST by the kraken_trades input, tickcast_repair=true; the candle gets
repaired=true), or a late one. The corrected candle is emitted again (same start, revision one
higher, complete=true once no gap or outage overlaps it), and so are the candles it changed
otherwise (complete now, or empty at a changed previous close). Only trades older than the
horizon are never merged: they pass on with tickcast_kind=late_trade for a switch output to
route. Within one batch, later versions of a candle replace the earlier message in place. A
store keyed by start keeps the latest version; the features processor recomputes the rows that
depend on it.

From a tickcast_kafka group input, a pair's state belongs to the assignment of its partition
(kafka_partition, kafka_assigned): a message of the pair with another kafka_assigned than the
state was built from (the partition came back after a rebalance, re-read from the rewind)
resets the pair first, and a tick whose kafka_assignment no longer holds the partition as
before resets the pair, so it never closes windows another replica owns. Each reset is logged
and counted (tickcast_candles_state_reset). Messages without that metadata change nothing.`).
		Field(service.NewDurationField(cpFieldInterval).Description("Window length, 1s to 24h, dividing a day.").Default("1m")).
		Field(service.NewDurationField(cpFieldGrace).Description("How long a window waits for out-of-order trades after its end.").Default("2s")).
		Field(service.NewBoolField(cpFieldEmitTrades).Description("Pass accepted trades on (e.g. to store raw trades).").Default(true)).
		Field(service.NewIntField(cpFieldRepairWindows).Description("Closed windows kept per pair for corrections (the correction horizon); 0 = market.FeatureWindow, -1 = none (trades for closed windows are then late).").Default(0).Advanced())
}

func newCandlesProcessor(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
	interval, err := conf.FieldDuration(cpFieldInterval)
	if err != nil {
		return nil, err
	}
	grace, err := conf.FieldDuration(cpFieldGrace)
	if err != nil {
		return nil, err
	}
	emitTrades, err := conf.FieldBool(cpFieldEmitTrades)
	if err != nil {
		return nil, err
	}
	keep, err := conf.FieldInt(cpFieldRepairWindows)
	if err != nil {
		return nil, err
	}
	agg, err := market.NewAggregator(market.AggregatorConfig{Interval: interval, Grace: grace, RepairWindows: keep})
	if err != nil {
		return nil, fmt.Errorf("candles: %w", err)
	}
	m := mgr.Metrics()
	return &candlesProcessor{
		agg:         agg,
		emitTrades:  emitTrades,
		log:         mgr.Logger(),
		mAccepted:   m.NewCounter("tickcast_trades_accepted"),
		mDup:        m.NewCounter("tickcast_trades_duplicate"),
		mLate:       m.NewCounter("tickcast_trades_late"),
		mInvalid:    m.NewCounter("tickcast_trades_invalid"),
		mCandles:    m.NewCounter("tickcast_candles_emitted"),
		mIncomp:     m.NewCounter("tickcast_candles_incomplete"),
		mRepaired:   m.NewCounter("tickcast_trades_repaired"),
		mLateMerged: m.NewCounter("tickcast_trades_late_merged"),
		mCorrected:  m.NewCounter("tickcast_candles_corrected"),
		mLag:        m.NewTimer("tickcast_candle_emit_lag", "pair"),
		mReset:      m.NewCounter("tickcast_candles_state_reset"),
		grace:       grace,
		emitted:     map[candleKey]int{},
		sources:     map[string]pairSource{},
	}, nil
}

// candlesProcessor adapts market.Aggregator to Benthos batches.
type candlesProcessor struct {
	mu         sync.Mutex
	agg        *market.Aggregator
	emitTrades bool
	candles    []market.Candle // reused between calls
	// emitted indexes the candle messages of the batch being processed, so
	// that a later version of a candle replaces the earlier message.
	emitted map[candleKey]int
	gaps    *online.Gaps // receives the gap state per pair; may be nil
	// sources is where each pair's state comes from (group input only).
	sources map[string]pairSource

	log                              *service.Logger
	mAccepted, mDup, mLate, mInvalid *service.MetricCounter
	mCandles, mIncomp                *service.MetricCounter
	mRepaired, mCorrected            *service.MetricCounter
	mLateMerged, mReset              *service.MetricCounter
	// mLag times each candle's first emission from its end+grace on the
	// stream clock (market time: newest trade or tick), the emit lag.
	mLag  *service.MetricTimer
	grace time.Duration
	clock time.Time
}

type candleKey struct {
	pair  string
	start int64
}

func (p *candlesProcessor) ProcessBatch(_ context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(service.MessageBatch, 0, len(batch)+4)
	clear(p.emitted)
	for _, msg := range batch {
		switch kindOf(msg) {
		case KindTrade:
			out = p.trade(msg, out)
		case KindTick:
			out = p.tick(msg, out)
		case KindGap:
			out = p.gap(msg, out)
		default:
			out = append(out, msg) // candles, features, gaps: not ours
		}
	}
	p.publishGaps()
	if len(out) == 0 {
		return nil, nil
	}
	return []service.MessageBatch{out}, nil
}

func (p *candlesProcessor) trade(msg *service.Message, out service.MessageBatch) service.MessageBatch {
	dec := decodeTransient[market.Trade]
	if p.emitTrades {
		dec = decode[market.Trade]
	}
	t, err := dec(msg, wire.DecodeTrade)
	if err != nil {
		return p.invalid(msg, err, out)
	}
	var outcome market.Outcome
	if t.TS.After(p.clock) {
		p.clock = t.TS
	}
	p.claim(t.Pair, msg)
	corrected := p.agg.Stats().Corrected
	p.candles, outcome, err = p.agg.Add(t, p.candles[:0])
	if err != nil {
		return p.invalid(msg, err, out)
	}
	if n := p.agg.Stats().Corrected - corrected; n > 0 {
		p.mCorrected.Incr(n)
	}
	out = p.appendCandles(out)
	switch outcome {
	case market.OutcomeDuplicate:
		p.mDup.Incr(1)
	case market.OutcomeLate:
		p.mLate.Incr(1)
		msg.MetaSetMut(MetaKind, KindLateTrade)
		msg.MetaSetMut(MetaPair, t.Pair)
		out = append(out, msg)
	default: // accepted, or merged into a closed window: a trade to keep
		switch outcome {
		case market.OutcomeRepaired:
			p.mRepaired.Incr(1)
		case market.OutcomeCorrected:
			p.mLateMerged.Incr(1)
		default:
			p.mAccepted.Incr(1)
		}
		if p.emitTrades {
			msg.MetaSetMut(MetaKind, KindTrade)
			msg.MetaSetMut(MetaPair, t.Pair)
			out = append(out, msg)
		}
	}
	return out
}

// gap applies an outage or start record to the windows it overlaps (the
// candles it completes are emitted, corrected) and passes it on.
func (p *candlesProcessor) gap(msg *service.Message, out service.MessageBatch) service.MessageBatch {
	g, err := decodeGap(msg)
	if err != nil {
		msg.SetError(fmt.Errorf("candles: %w", err))
		return append(out, msg)
	}
	p.claim(g.Pair, msg)
	corrected := p.agg.Stats().Corrected
	p.candles = applyGap(p.agg, g, p.candles[:0])
	if n := p.agg.Stats().Corrected - corrected; n > 0 {
		p.mCorrected.Incr(n)
	}
	return append(p.appendCandles(out), msg)
}

// invalid keeps the message, flagged, so that nothing is lost: the pipeline
// routes errored() messages to a dead-letter output.
func (p *candlesProcessor) invalid(msg *service.Message, err error, out service.MessageBatch) service.MessageBatch {
	p.mInvalid.Incr(1)
	p.log.Debugf("invalid trade: %v", err)
	msg.SetError(fmt.Errorf("candles: %w", err))
	return append(out, msg)
}

func (p *candlesProcessor) tick(msg *service.Message, out service.MessageBatch) service.MessageBatch {
	now, flush, err := tickOf(msg)
	if err != nil {
		msg.SetError(fmt.Errorf("candles: %w", err))
		return append(out, msg)
	}
	p.release(msg)
	p.claim(metaString(msg, MetaPair), msg)
	if flush {
		p.candles = p.agg.Flush(p.candles[:0])
		// The features stage after it releases the rows it holds on a flush.
		return append(p.appendCandles(out), msg)
	}
	if now.After(p.clock) {
		p.clock = now
	}
	p.candles = p.agg.Advance(now, p.candles[:0])
	return p.appendCandles(out)
}

// appendCandles appends the candles the aggregator just emitted. A candle
// already emitted in this batch (corrected by a repair) replaces the earlier
// message in place: its features are then computed once, from the latest
// version, and anything after that message saw it already.
func (p *candlesProcessor) appendCandles(out service.MessageBatch) service.MessageBatch {
	for _, c := range p.candles {
		p.mCandles.Incr(1)
		if !c.Complete {
			p.mIncomp.Incr(1)
		}
		if lag := p.clock.Sub(c.End.Add(p.grace)); c.Revision == 0 && lag >= 0 {
			p.mLag.Timing(lag.Nanoseconds(), market.PairSlug(c.Pair)) // BTC-USD, as the API labels pairs
		}
		msg := newRecord(KindCandle, c.Pair, wire.AppendJSON(nil, c), c)
		key := candleKey{c.Pair, c.Start.UnixNano()}
		if i, ok := p.emitted[key]; ok {
			out[i] = msg
			continue
		}
		p.emitted[key] = len(out)
		out = append(out, msg)
	}
	return out
}

// Stats exposes the aggregator's counters (used by tests and the run command).
func (p *candlesProcessor) Stats() market.AggregatorStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.agg.Stats()
}

func (p *candlesProcessor) Close(context.Context) error { return nil }

// tickInterval bounds how often inputs emit clock ticks: it is the floor of
// the candle emit latency after end+grace.
const defaultTickInterval = 50 * time.Millisecond
