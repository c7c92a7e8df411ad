package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/market"
)

const (
	trFieldPaths     = "paths"
	trFieldPair      = "pair"
	trFieldSpeed     = "speed"
	trFieldBatchSize = "batch_size"
	trFieldFirstID   = "first_trade_id"
	trFieldRepeat    = "repeat"
)

func tradeReplayInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Local").
		Summary("Replays trade files (CSV) as a trade stream with event-time ticks, then ends.").
		Description(`
Reads trade CSV files — the real-trade format time_ms,timestamp_utc,price,volume,side, or
Kraken's time-and-sales rows — or candle files (Kraken OHLCVT, Binance klines) rebuilt into
trades (labelled source "reconstructed": placeholders, not data), .gz transparently, row by
row: memory does not grow with the files. Assigns consecutive trade ids from first_trade_id,
and emits batches of trades each followed by a tick at the batch's last trade time, then a
flush tick and the end of input. The clock is event time, so candles do not depend on speed.
A bad row ends the replay there (logged).`).
		Field(service.NewStringListField(trFieldPaths).Description("Files to replay, in order; the format of each is told by its first line.")).
		Field(service.NewStringField(trFieldPair).Description("Pair of the trades (any spelling).")).
		Field(service.NewFloatField(trFieldSpeed).Description("Replay speed (1 = real time); 0 = as fast as possible.").Default(0.0)).
		Field(service.NewIntField(trFieldBatchSize).Description("Trades per batch.").Default(1000)).
		Field(service.NewIntField(trFieldFirstID).Description("trade_id of the first trade.").Default(1).Advanced()).
		Field(service.NewIntField(trFieldRepeat).Description("Replay the files this many times, each copy shifted later by the files' span rounded up to the hour (a longer real stream for benchmarks).").Default(1).Advanced())
}

func newTradeReplayInput(conf *service.ParsedConfig, _ *service.Resources) (service.BatchInput, error) {
	in := &tradeReplayInput{open: archive.OpenTrades}
	var err error
	if in.paths, err = conf.FieldStringList(trFieldPaths); err != nil {
		return nil, err
	}
	pair, err := conf.FieldString(trFieldPair)
	if err != nil {
		return nil, err
	}
	if in.pair, err = market.NormalizePair(pair); err != nil {
		return nil, err
	}
	if in.speed, err = conf.FieldFloat(trFieldSpeed); err != nil {
		return nil, err
	}
	if in.batchSize, err = conf.FieldInt(trFieldBatchSize); err != nil {
		return nil, err
	}
	if in.batchSize < 1 {
		return nil, fmt.Errorf("%s must be at least 1", trFieldBatchSize)
	}
	first, err := conf.FieldInt(trFieldFirstID)
	if err != nil {
		return nil, err
	}
	in.firstID = int64(first)
	if in.repeat, err = conf.FieldInt(trFieldRepeat); err != nil {
		return nil, err
	}
	if in.repeat < 1 {
		return nil, fmt.Errorf("%s must be at least 1", trFieldRepeat)
	}
	return in, nil
}

// tradeReplayInput streams its files: it holds one batch and one row of a
// file, whatever the files' size.
type tradeReplayInput struct {
	paths     []string
	pair      string
	speed     float64
	batchSize int
	firstID   int64
	repeat    int
	open      func(path, pair string, firstID int64) (archive.TradeStream, error)

	src    archive.TradeStream
	file   int   // index in paths of src, or of the next file to open
	copy   int   // which of the repeat copies is being read
	fileID int64 // trade_id (of copy 0) of the next file's first trade
	first  market.Trade
	last   market.Trade // of copy 0
	read   int64        // trades of copy 0
	lastTS time.Time    // of the last trade emitted
	start  time.Time    // wall time of the first batch, for pacing
	opened bool
	failed bool
	ended  bool
}

func (in *tradeReplayInput) Connect(context.Context) error {
	if in.opened {
		return nil
	}
	in.fileID = in.firstID
	if err := in.openFile(); err != nil {
		return err
	}
	in.opened = true
	return nil
}

// openFile opens paths[in.file] with the ids its copy-0 trades take.
func (in *tradeReplayInput) openFile() error {
	src, err := in.open(in.paths[in.file], in.pair, in.fileID)
	if err != nil {
		return fmt.Errorf("trade_replay: %w", err)
	}
	in.src = src
	return nil
}

// next returns the next trade of the replay; ok is false at its end.
func (in *tradeReplayInput) next() (t market.Trade, ok bool, err error) {
	for {
		if in.src == nil {
			if ok, err := in.advance(); !ok || err != nil {
				return t, false, err
			}
		}
		t, err = in.src.Next()
		if errors.Is(err, io.EOF) {
			err = in.src.Close()
			in.src, in.file = nil, in.file+1
			if err != nil {
				return t, false, fmt.Errorf("trade_replay: %w", err)
			}
			continue
		}
		if err != nil {
			return t, false, fmt.Errorf("trade_replay %s: %w", in.paths[in.file], err)
		}
		return in.place(t), true, nil
	}
}

// advance opens the next file, of this copy or the next one; false when
// every copy has been read.
func (in *tradeReplayInput) advance() (bool, error) {
	if in.file >= len(in.paths) {
		if in.copy++; in.copy >= in.repeat || in.read == 0 {
			return false, nil
		}
		in.file, in.fileID = 0, in.firstID
	}
	return true, in.openFile()
}

// place numbers t within its copy: copy k is shifted later by k times the
// span of copy 0 rounded up to the hour, its ids continuing the sequence.
func (in *tradeReplayInput) place(t market.Trade) market.Trade {
	in.fileID = t.TradeID + 1
	if in.copy == 0 {
		if in.read == 0 {
			in.first = t
		}
		in.last, in.read = t, in.read+1
		return t
	}
	span := in.last.TS.Sub(in.first.TS).Truncate(time.Hour) + time.Hour
	t.TS = t.TS.Add(time.Duration(in.copy) * span)
	t.TradeID += int64(in.copy) * (in.last.TradeID - in.first.TradeID + 1)
	return t
}

// tradeJSONSize is about the size of a trade's JSON, to size a batch's buffer.
const tradeJSONSize = 192

// ReadBatch emits up to batch_size trades and a tick at the last one's
// time; after the last trade a flush tick, then the end of input. A bad
// row ends the replay there: its error is returned once (Benthos logs it),
// then the flush tick closes the windows of the trades before it.
func (in *tradeReplayInput) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	if in.ended {
		return nil, nil, service.ErrEndOfInput
	}
	batch := make(service.MessageBatch, 0, in.batchSize+1)
	slab := newRecordSlab[market.Trade](in.batchSize, tradeJSONSize)
	for len(batch) < in.batchSize && !in.failed {
		t, ok, err := in.next()
		if err != nil {
			in.failed = true
			if len(batch) == 0 {
				return nil, nil, err
			}
		}
		if !ok {
			break
		}
		if len(batch) == 0 {
			if err := in.pace(ctx, t.TS); err != nil {
				return nil, nil, err
			}
		}
		batch = append(batch, slab.message(KindTrade, t.Pair, t))
		in.lastTS = t.TS
	}
	if len(batch) == 0 {
		in.ended = true
		in.closeSource()
		return service.MessageBatch{newTick(in.lastTS, true)}, noAck, nil
	}
	return append(batch, newTick(in.lastTS, false)), noAck, nil
}

// pace waits until the event time ts is due at the configured speed.
func (in *tradeReplayInput) pace(ctx context.Context, ts time.Time) error {
	if in.speed <= 0 {
		return nil
	}
	if in.start.IsZero() {
		in.start = time.Now()
	}
	due := in.start.Add(time.Duration(float64(ts.Sub(in.first.TS)) / in.speed))
	wait := time.Until(due)
	if wait <= 0 {
		return nil
	}
	select {
	case <-time.After(wait):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (in *tradeReplayInput) closeSource() {
	if in.src != nil {
		in.src.Close()
		in.src = nil
	}
}

func (in *tradeReplayInput) Close(context.Context) error {
	in.closeSource()
	return nil
}
