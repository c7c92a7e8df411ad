package connect

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

const (
	fpFieldWarmStart  = "warm_start"
	fpFieldPairs      = "pairs"
	fpFieldCrossGrace = "cross_grace"
	fpFieldOwnerGroup = "owner_group"
)

func featuresProcessorSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Utility").
		Summary("Computes the feature row of each candle (tickcast_kind=candle) incrementally per pair.").
		Description(`
Adds one message (tickcast_kind=feature) after every candle; other messages pass unchanged.
The same market code computes features in the backfill, so there is no train/serve skew.
Every feature at ts depends only on the last market.FeatureWindow candles ending at or before
ts (the long-memory volatilities on up to market.LongWindow+1, missing until the stream has
given them); rows carry warm=false until the FeatureWindow is full. Candles of a pair must arrive in order
and contiguous (the candles processor guarantees it); others are flagged with an error.
A candle whose start is not after the pair's last one is a correction (re-emitted after a
gap repair): it replaces the candle held and the rows at it and at every later candle of
the window are recomputed and emitted again (same ts: a store keeps the latest). A
correction older than the window cannot change the rows: it passes on, counted and logged.
With warm_start set to a data directory, a pair's first candle is preceded by the
store's candles ending exactly at its start (the last market.LongWindow of them, as a
backfill wrote them): they fill the windows without emitting rows, so the first row is
already warm and equals the backfill's row at the same ts, long features included. With
fewer stored candles the long features stay missing until the stream fills their window,
as in a backfill at the start of its data. When the store does not reach that candle
contiguously, the pair starts cold (logged).

Cross-pair features (xp_*: the other pairs' returns and volatility at the same candle time)
need every pair's row at a candle time: rows are held until each pair in ` + "`pairs`" + ` (and every
pair seen) has its row at that time, has passed it, or lags the newest row by more than
cross_grace; then they are emitted with the xp_* of the pairs present (missing for the others,
never waited for longer). A pair's row that comes after its time was emitted (late, or
corrected) re-emits the other pairs' rows at that time, with a higher revision: the rows a
store keeps equal a backfill's. A flush tick (the end of a replay) emits everything held.
A candle equal to one held (same pair and start, revision not higher) is a duplicate (two inputs,
or a rewind, delivered it): it passes on but changes nothing.

With owner_group set (a distributed features stage), rows are computed for every pair seen (the
cross-pair features need them all) but emitted only for the pairs whose candles partition the
stream's tickcast_kafka input of that consumer group holds, with kafka_generation set to the
group generation (the store fences writes by it). The rows of other pairs are held (the last
8 × market.FeatureWindow per pair) and emitted once the pair's partition is assigned here.
Run with pipeline.threads: 1.`).
		Field(service.NewStringField(fpFieldWarmStart).
			Description("Data directory whose Parquet candles warm each pair up on its first candle; empty: start cold.").
			Default("").Optional()).
		Field(service.NewStringListField(fpFieldPairs).
			Description("The pairs whose rows the cross-pair features wait for (comma lists accepted); pairs seen are added. Empty: the pairs seen.").
			Default([]string{}).Optional()).
		Field(service.NewStringField(fpFieldCrossGrace).
			Description("How far a pair may lag the newest row (candle time) before its rows are no longer waited for; empty: one candle interval.").
			Default("").Optional()).
		Field(service.NewStringField(fpFieldOwnerGroup).
			Description("The consumer group whose assignment says which pairs' rows this replica emits; empty: every pair.").
			Default("").Optional())
}

// featuresProcessor adapts market.Features to Benthos batches and publishes
// the newest row per pair to the online store.
type featuresProcessor struct {
	mu        sync.Mutex
	f         *market.Features
	cross     *market.Cross // made on the first candle (its interval sets the defaults)
	pairs     []string      // configured pairs of the cross-pair features
	grace     time.Duration // 0: one candle interval
	crossed   []market.FeatureRow
	latest    *online.Latest
	candles   *online.Candles
	warmDir   string          // data directory of the warm start; "" for none
	seen      map[string]bool // pairs whose warm start was tried
	cold      map[string]int  // pairs still cold: candles since the last try
	log       *service.Logger
	rows      *service.MetricCounter
	corrected *service.MetricCounter // rows emitted again after a correction
	stale     *service.MetricCounter // corrections too old to apply
	dups      *service.MetricCounter // duplicate candles ignored
	owners    *pairOwnership         // nil: every pair is emitted
	unsent    map[string][]market.FeatureRow
}

func newFeaturesProcessor(latest *online.Latest, candles *online.Candles) service.BatchProcessorConstructor {
	return func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
		var (
			warm  string
			pairs []string
			grace time.Duration
			group string
		)
		if conf != nil { // nil: built directly by tests
			var err error
			if warm, err = conf.FieldString(fpFieldWarmStart); err != nil {
				return nil, err
			}
			raw, err := conf.FieldStringList(fpFieldPairs)
			if err != nil {
				return nil, err
			}
			if len(raw) > 0 {
				if pairs, err = market.SplitPairs(raw...); err != nil {
					return nil, fmt.Errorf("features: %s: %w", fpFieldPairs, err)
				}
			}
			g, err := conf.FieldString(fpFieldCrossGrace)
			if err != nil {
				return nil, err
			}
			if g != "" {
				if grace, err = time.ParseDuration(g); err != nil || grace <= 0 {
					return nil, fmt.Errorf("features: %s %q: want a positive duration", fpFieldCrossGrace, g)
				}
			}
			if group, err = conf.FieldString(fpFieldOwnerGroup); err != nil {
				return nil, err
			}
		}
		m := mgr.Metrics()
		var owners *pairOwnership
		if group != "" {
			owners = newPairOwnership(group, mgr)
		}
		return &featuresProcessor{
			owners:    owners,
			unsent:    map[string][]market.FeatureRow{},
			dups:      m.NewCounter("tickcast_candles_duplicate"),
			f:         market.NewFeatures(),
			pairs:     pairs,
			grace:     grace,
			latest:    latest,
			candles:   candles,
			warmDir:   warm,
			seen:      map[string]bool{},
			cold:      map[string]int{},
			log:       mgr.Logger(),
			rows:      m.NewCounter("tickcast_feature_rows"),
			corrected: m.NewCounter("tickcast_feature_rows_corrected"),
			stale:     m.NewCounter("tickcast_candle_corrections_too_old"),
		}, nil
	}
}

func (p *featuresProcessor) ProcessBatch(_ context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(service.MessageBatch, 0, len(batch)*2)
	if p.owners != nil {
		p.owners.refresh()
	}
	for _, msg := range batch {
		out = append(out, msg)
		if kindOf(msg) == KindTick {
			if _, flush, err := tickOf(msg); err == nil && flush && p.cross != nil {
				out = p.emit(p.cross.Flush(p.crossed[:0]), out)
			}
			continue
		}
		if kindOf(msg) != KindCandle {
			continue
		}
		c, err := decode(msg, wire.DecodeCandle)
		if err != nil {
			msg.SetError(fmt.Errorf("features: %w", err))
			continue
		}
		if p.owners != nil {
			p.owners.saw(c.Pair, msg)
		}
		if p.duplicate(c) {
			p.dups.Incr(1)
			continue
		}
		if p.candles != nil {
			p.candles.Put(c)
		}
		if err := p.crossFor(c); err != nil {
			msg.SetError(fmt.Errorf("features: %w", err))
			continue
		}
		if newest, ok := p.f.Newest(c.Pair); ok && !c.Start.After(newest.Start) {
			out = p.correct(msg, c, newest, out)
			continue
		}
		if !p.seen[c.Pair] {
			p.seen[c.Pair] = true
			p.warmUp(c)
		} else if p.cold[c.Pair]++; p.cold[c.Pair] >= warmRetryEvery {
			p.cold[c.Pair] = 0
			p.rewarm(c)
		}
		row, err := p.f.Update(c)
		if err != nil {
			msg.SetError(fmt.Errorf("features: %w", err))
			continue
		}
		if row.Warm {
			delete(p.cold, c.Pair)
		} else if _, ok := p.cold[c.Pair]; !ok {
			p.cold[c.Pair] = 0
		}
		p.rows.Incr(1)
		out = p.appendRow(row, out)
	}
	return []service.MessageBatch{p.release(out)}, nil
}

// crossHorizon is how many candle intervals of TS slots the cross-pair
// aligner keeps to re-emit rows when a late pair's row comes: more than the
// correction horizon (2 × FeatureWindow), and more than the skew between
// pairs read from different partitions in a backlog (a fetch holds up to
// fetch_max_partition_bytes, 256 KiB ≈ 650 candle records, of a partition
// before the next partition's): with 2 × FeatureWindow, a pair read 480
// candles behind another kept rows without their cross-pair features.
const crossHorizon = 12 * market.FeatureWindow

// crossFor makes the cross-pair aligner on the first candle: its grace
// defaults to one candle interval and it keeps the TS slots of crossHorizon
// intervals to re-emit rows.
func (p *featuresProcessor) crossFor(c market.Candle) error {
	if p.cross != nil {
		return nil
	}
	iv := c.End.Sub(c.Start)
	if iv <= 0 {
		return fmt.Errorf("candle of %s at %s has no duration: %w", c.Pair, c.Start, market.ErrInvalid)
	}
	x, err := market.NewCross(market.CrossConfig{Pairs: p.pairs, Grace: cmp.Or(p.grace, iv), Horizon: max(crossHorizon*iv, cmp.Or(p.grace, iv))})
	if err != nil {
		return err
	}
	p.cross = x
	return nil
}

// correct applies a corrected candle and appends the recomputed rows. A
// correction older than the feature window is still a good candle (only the
// rows cannot follow it): it is logged, not flagged; any other refusal is.
func (p *featuresProcessor) correct(msg *service.Message, c, newest market.Candle, out service.MessageBatch) service.MessageBatch {
	rows, err := p.f.Correct(c)
	if err != nil && newest.Start.Sub(c.Start) >= market.FeatureWindow*newest.End.Sub(newest.Start) {
		p.stale.Incr(1)
		p.log.Warnf("features: correction older than the feature window not applied: %v", err)
		return out
	}
	if err != nil {
		msg.SetError(fmt.Errorf("features: %w", err))
		return out
	}
	p.corrected.Incr(int64(len(rows)))
	for _, row := range rows {
		out = p.appendRow(row, out)
	}
	return out
}

// appendRow passes a base row to the cross-pair aligner and appends the
// rows it releases.
func (p *featuresProcessor) appendRow(row market.FeatureRow, out service.MessageBatch) service.MessageBatch {
	p.crossed = p.cross.Add(row, p.crossed[:0])
	return p.emit(p.crossed, out)
}

func (p *featuresProcessor) emit(rows []market.FeatureRow, out service.MessageBatch) service.MessageBatch {
	for _, row := range rows {
		out = p.emitRow(row, out)
	}
	return out
}

func (p *featuresProcessor) emitRow(row market.FeatureRow, out service.MessageBatch) service.MessageBatch {
	if p.latest != nil {
		p.latest.Put(row)
	}
	if p.owners == nil {
		return append(out, newRecord(KindFeature, row.Pair, wire.AppendJSON(nil, row), row))
	}
	gen, ok := p.owners.owns(row.Pair)
	if !ok {
		p.hold(row)
		return out
	}
	return append(out, ownedRow(row, gen))
}

func (p *featuresProcessor) Close(context.Context) error { return nil }

// warmUp feeds the store's candles that end at first.Start (up to
// LongWindow) to the feature calculator, so that the first live row needs
// no FeatureWindow live candles and has the long features when the store
// holds a LongWindow. Anything short of a contiguous run up to first leaves the pair
// cold: a row computed over a hole would differ from the backfill's.
func (p *featuresProcessor) warmUp(first market.Candle) {
	if p.warmDir == "" {
		return
	}
	held, err := WarmCandles(p.warmDir, first)
	if err != nil {
		p.log.Warnf("features: %s starts cold: %v", first.Pair, err)
		return
	}
	for _, c := range held {
		if _, err := p.f.Update(c); err != nil {
			p.f.Reset(first.Pair)
			p.log.Warnf("features: %s starts cold: stored candle refused: %v", first.Pair, err)
			return
		}
	}
	p.log.Infof("features: %s warm-started from %d stored candles ending %s", first.Pair, len(held), first.Start.UTC().Format("2006-01-02T15:04:05Z"))
}

// warmRetryEvery is how many candles a cold pair waits between warm-start
// tries: a store filled meanwhile (the bootstrap's backfill, which runs
// beside the stream) warms it up without FeatureWindow live candles.
const warmRetryEvery = 5

// rewarm retries the warm start of a pair that is still cold, before its
// candle next: the store's candles ending at the first candle the
// calculator holds (a backfill that caught up meanwhile), then the held
// ones again. The stream's own newest candles need not be in the store
// yet (it flushes once a minute).
func (p *featuresProcessor) rewarm(next market.Candle) {
	held := p.f.Held(next.Pair)
	if p.warmDir == "" || len(held) == 0 {
		return
	}
	stored, err := WarmCandles(p.warmDir, held[0])
	if err != nil || len(stored)+len(held) < market.FeatureWindow {
		return // not yet: the store does not reach the stream's first candle
	}
	p.f.Reset(next.Pair)
	for _, c := range append(stored, held...) {
		if _, err := p.f.Update(c); err != nil {
			p.f.Reset(next.Pair)
			for _, h := range held { // back to what it had
				_, _ = p.f.Update(h)
			}
			p.log.Warnf("features: %s stays cold: stored candle refused: %v", next.Pair, err)
			return
		}
	}
	p.log.Infof("features: %s warmed up from %d stored candles ending %s", next.Pair, len(stored), held[0].Start.UTC().Format("2006-01-02T15:04:05Z"))
}

// WarmCandles returns the last market.LongWindow candles of first.Pair in
// the store under dataDir that end exactly at first.Start, contiguous and of
// first's duration, oldest first (fewer when the store's contiguous run is
// shorter); an error says why there are none.
func WarmCandles(dataDir string, first market.Candle) ([]market.Candle, error) {
	iv := first.End.Sub(first.Start)
	if iv <= 0 {
		return nil, fmt.Errorf("candle at %s has no duration", first.Start)
	}
	from := first.Start.Add(-market.LongWindow * iv)
	cs, err := (&parquet.Reader{Root: datadir.Parquet(dataDir), SkipCorrupt: true}).Candles(first.Pair, from, first.Start)
	if err != nil {
		return nil, fmt.Errorf("read the store: %w", err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("the store holds no candle in the %d before %s", market.LongWindow, first.Start.UTC())
	}
	if last := cs[len(cs)-1]; !last.End.Equal(first.Start) {
		return nil, fmt.Errorf("the store ends at %s, not at the first live candle %s", last.End.UTC(), first.Start.UTC())
	}
	// Keep the contiguous run that ends at first.Start.
	i := len(cs) - 1
	for i > 0 && cs[i-1].End.Equal(cs[i].Start) && cs[i-1].End.Sub(cs[i-1].Start) == iv {
		i--
	}
	if cs[len(cs)-1].End.Sub(cs[len(cs)-1].Start) != iv {
		return nil, fmt.Errorf("stored candles of another interval than %s", iv)
	}
	out := cs[i:]
	for k := range out {
		out[k].Pair = first.Pair // the store's spelling may differ; the calculator keys by name
	}
	return out, nil
}
