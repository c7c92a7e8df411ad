package connect

import (
	"context"
	"errors"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"log/slog"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

const (
	soFieldDataDir       = "data_dir"
	soFieldDatasets      = "datasets"
	soFieldFlushRows     = "flush_rows"
	soFieldFlushInterval = "flush_interval"
	soFieldFlushIdle     = "flush_idle"
	soFieldFence         = "fence"
)

func storeOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Local").
		Summary("Writes trades, candles and feature rows to tickcast's Parquet store.").
		Description(`
Files live under <data_dir>/parquet/<dataset>/pair_slug=<PAIR>/date=<YYYY-MM-DD>/data.parquet,
written atomically (temporary file, fsync, rename). Writing merges with the file already
there by key — trades by trade_id, candles by start, features by ts — and the newest
version wins, so replaying the same input is idempotent and a corrected candle replaces the
first one. Rows are buffered and written every flush_interval, at flush_rows, and on
shutdown: a crash loses at most the last flush_interval. With flush_idle set, rows are also
written as soon as no batch came for flush_idle: live, a candle interval's rows come in one
burst and are in the store right after it, while a backlog (batches without pause) is written
by flush_rows and flush_interval only, not in many small rewrites. One process writes a
data_dir.
Messages of other kinds (ticks, gaps) are ignored.

With fence on (a distributed stage, several writers of one data_dir), every candle and feature
row must carry kafka_generation, the consumer-group generation under which its writer owned
the pair: a pair's rows are written under a per-pair lock that keeps the highest generation
that wrote (<data_dir>/parquet/_fence/<PAIR>.json) and refuses rows of a lower one (counted in
tickcast_store_fenced_rows, logged), so a replica that lost the pair cannot overwrite newer
rows. Trades are not stored then.`).
		Field(service.NewStringField(soFieldDataDir).Description("The data directory.")).
		Field(service.NewStringListField(soFieldDatasets).Description("Which datasets to keep: trades, candles, features.").Default([]string{"trades", "candles", "features"})).
		Field(service.NewIntField(soFieldFlushRows).Description("Buffered rows per partition that trigger a write.").Default(50000)).
		Field(service.NewDurationField(soFieldFlushInterval).Description("Longest time rows stay buffered.").Default("1s")).
		Field(service.NewDurationField(soFieldFlushIdle).Description("Write once no batch came for this long (0: off).").Default("0s")).
		Field(service.NewBoolField(soFieldFence).Description("Fence each pair's writes by kafka_generation (see above).").Default(false)).
		Field(service.NewOutputMaxInFlightField().Default(1))
}

func newStoreOutput(logger *slog.Logger) service.BatchOutputConstructor {
	return func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
		out, err := storeOutputFromConfig(conf, logger)
		if err != nil {
			return nil, service.BatchPolicy{}, 0, err
		}
		out.skipped = mgr.Metrics().NewCounter("tickcast_store_skipped")
		out.log = mgr.Logger()
		if out.fence {
			out.fenced = newFencedWriter(datadir.Parquet(out.dir), parquet.Options{FlushRows: out.flushRows, Logger: logger}, mgr)
		}
		return out, service.BatchPolicy{}, 1, nil
	}
}

func storeOutputFromConfig(conf *service.ParsedConfig, logger *slog.Logger) (*storeOutput, error) {
	dir, err := conf.FieldString(soFieldDataDir)
	if err != nil {
		return nil, err
	}
	datasets, err := conf.FieldStringList(soFieldDatasets)
	if err != nil {
		return nil, err
	}
	rows, err := conf.FieldInt(soFieldFlushRows)
	if err != nil {
		return nil, err
	}
	every, err := conf.FieldDuration(soFieldFlushInterval)
	if err != nil {
		return nil, err
	}
	idle, err := conf.FieldDuration(soFieldFlushIdle)
	if err != nil {
		return nil, err
	}
	fence, err := conf.FieldBool(soFieldFence)
	if err != nil {
		return nil, err
	}
	o := &storeOutput{dir: dir, flushRows: rows, every: every, idle: idle, wrote: make(chan struct{}, 1),
		logger: logger, keep: map[string]bool{}, fence: fence}
	for _, d := range datasets {
		switch d {
		case KindTrade + "s", KindCandle + "s", KindFeature + "s":
			o.keep[d[:len(d)-1]] = true
		default:
			return nil, fmt.Errorf("%s: unknown dataset %q (trades, candles, features)", soFieldDatasets, d)
		}
	}
	return o, nil
}

// storeOutput buffers records into parquet.Store and flushes it on a timer.
type storeOutput struct {
	dir       string
	flushRows int
	every     time.Duration
	idle      time.Duration // 0: no idle flush
	wrote     chan struct{} // a batch was buffered (flush_idle's clock)
	keep      map[string]bool
	logger    *slog.Logger
	log       *service.Logger
	skipped   *service.MetricCounter
	fence     bool
	fenced    *fencedWriter // fence on: writes by pair and generation

	mu    sync.Mutex
	store *parquet.Store
	stop  chan struct{}
	wg    sync.WaitGroup
}

func (o *storeOutput) Connect(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.store != nil {
		return nil
	}
	st, err := parquet.Open(datadir.Parquet(o.dir), parquet.Options{FlushRows: o.flushRows, Logger: o.logger})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	o.store, o.stop = st, make(chan struct{})
	o.wg.Add(1)
	go o.flushLoop()
	return nil
}

func (o *storeOutput) flushLoop() {
	defer o.wg.Done()
	t := time.NewTicker(o.every)
	defer t.Stop()
	// idle fires flush_idle after the last batch; it is stopped (nil
	// channel) while nothing new waits.
	var idle *time.Timer
	var idleC <-chan time.Time
	for {
		select {
		case <-o.stop:
			if idle != nil {
				idle.Stop()
			}
			return
		case <-o.wrote:
			if o.idle <= 0 {
				continue
			}
			if idle == nil {
				idle = time.NewTimer(o.idle)
			} else {
				idle.Reset(o.idle)
			}
			idleC = idle.C
			continue
		case <-t.C:
		case <-idleC:
			idleC = nil
		}
		if err := o.flush(context.Background()); err != nil {
			o.log.Errorf("flush store: %v", err)
		}
	}
}

// noteWrite restarts flush_idle's clock.
func (o *storeOutput) noteWrite() {
	select {
	case o.wrote <- struct{}{}:
	default:
	}
}

func (o *storeOutput) flush(ctx context.Context) error {
	if o.fenced != nil {
		return o.fenced.flush(ctx)
	}
	return o.store.Flush(ctx)
}

func (o *storeOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	defer o.noteWrite()
	if o.fenced != nil {
		o.fenced.add(batch, o.keep, o.skip)
		if o.fenced.buffered() >= o.flushRows || o.fenced.full() {
			return o.fenced.flush(ctx)
		}
		return nil
	}
	var (
		trades   []market.Trade
		candles  []market.Candle
		features []market.FeatureRow
		err      error
	)
	for _, msg := range batch {
		kind := kindOf(msg)
		if !o.keep[kind] {
			continue
		}
		switch kind {
		case KindTrade:
			trades, err = appendDecoded(trades, msg, wire.DecodeTrade)
		case KindCandle:
			candles, err = appendDecoded(candles, msg, wire.DecodeCandle)
		case KindFeature:
			features, err = appendDecoded(features, msg, wire.DecodeFeatureRow)
		}
		if err != nil {
			o.skip(kind, err)
		}
	}
	return o.add(trades, candles, features)
}

func appendDecoded[T any](dst []T, msg *service.Message, dec func([]byte) (T, error)) ([]T, error) {
	rec, err := decode(msg, dec)
	if err != nil {
		return dst, err
	}
	return append(dst, rec), nil
}

// skip records a message that cannot be stored; errored messages are routed
// to the dead-letter output before this one, so this means a malformed record.
func (o *storeOutput) skip(kind string, err error) {
	o.skipped.Incr(1)
	o.log.Errorf("store: skipping malformed %s: %v", kind, err)
}

func (o *storeOutput) add(trades []market.Trade, candles []market.Candle, features []market.FeatureRow) error {
	if len(trades) > 0 {
		if err := o.store.AddTrades(trades); err != nil {
			return err
		}
	}
	if len(candles) > 0 {
		if err := o.store.AddCandles(candles); err != nil {
			return err
		}
	}
	if len(features) > 0 {
		return o.store.AddFeatures(features)
	}
	return nil
}

func (o *storeOutput) Close(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.store == nil {
		return nil
	}
	close(o.stop)
	o.wg.Wait()
	var ferr error
	if o.fenced != nil {
		ferr = o.fenced.flush(ctx)
	}
	err := errors.Join(ferr, o.store.Close(ctx))
	o.store = nil
	return err
}
