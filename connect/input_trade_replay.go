package connect

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/fakekraken"
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
Kraken's time-and-sales rows — assigns consecutive trade ids from first_trade_id, and emits
batches of trades each followed by a tick at the batch's last trade time, then a flush tick
and the end of input. The clock is event time, so candles do not depend on speed.`).
		Field(service.NewStringListField(trFieldPaths).Description("Files to replay, in order.")).
		Field(service.NewStringField(trFieldPair).Description("Pair of the trades (any spelling).")).
		Field(service.NewFloatField(trFieldSpeed).Description("Replay speed (1 = real time); 0 = as fast as possible.").Default(0.0)).
		Field(service.NewIntField(trFieldBatchSize).Description("Trades per batch.").Default(1000)).
		Field(service.NewIntField(trFieldFirstID).Description("trade_id of the first trade.").Default(1).Advanced()).
		Field(service.NewIntField(trFieldRepeat).Description("Replay the files this many times, each copy shifted later by the files' span rounded up to the hour (a longer real stream for benchmarks).").Default(1).Advanced())
}

func newTradeReplayInput(conf *service.ParsedConfig, _ *service.Resources) (service.BatchInput, error) {
	in := &tradeReplayInput{}
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

// tradeReplayInput replays files loaded whole at Connect (real trade files are small).
type tradeReplayInput struct {
	paths     []string
	pair      string
	speed     float64
	batchSize int
	firstID   int64
	repeat    int

	trades []market.Trade
	next   int
	start  time.Time // wall time of the first batch, for pacing
	ended  bool
}

func (in *tradeReplayInput) Connect(context.Context) error {
	if in.trades != nil {
		return nil
	}
	id := in.firstID
	for _, p := range in.paths {
		ts, err := loadTradeFile(p, in.pair, id)
		if err != nil {
			return err
		}
		in.trades = append(in.trades, ts...)
		id += int64(len(ts))
	}
	in.trades = repeatShifted(in.trades, in.repeat)
	if in.trades == nil {
		in.trades = []market.Trade{}
	}
	return nil
}

// repeatShifted appends n−1 copies of trades, each shifted later by their
// span rounded up to the hour, with trade ids continuing the sequence.
func repeatShifted(trades []market.Trade, n int) []market.Trade {
	if n <= 1 || len(trades) == 0 {
		return trades
	}
	span := trades[len(trades)-1].TS.Sub(trades[0].TS).Truncate(time.Hour) + time.Hour
	idStep := trades[len(trades)-1].TradeID - trades[0].TradeID + 1
	out := make([]market.Trade, 0, len(trades)*n)
	for k := range n {
		for _, t := range trades {
			t.TS = t.TS.Add(time.Duration(k) * span)
			t.TradeID += int64(k) * idStep
			out = append(out, t)
		}
	}
	return out
}

func loadTradeFile(path, pair string, firstID int64) ([]market.Trade, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trade_replay: %w", err)
	}
	defer f.Close()
	ts, err := fakekraken.LoadTradesCSV(f, pair, firstID)
	if err != nil {
		return nil, fmt.Errorf("trade_replay %s: %w", path, err)
	}
	for i := range ts {
		ts[i].Source = market.SourceReplay
	}
	return ts, nil
}

func (in *tradeReplayInput) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	if in.ended {
		return nil, nil, service.ErrEndOfInput
	}
	if in.next >= len(in.trades) {
		in.ended = true
		var last time.Time
		if n := len(in.trades); n > 0 {
			last = in.trades[n-1].TS
		}
		return service.MessageBatch{newTick(last, true)}, noAck, nil
	}
	end := min(in.next+in.batchSize, len(in.trades))
	chunk := in.trades[in.next:end]
	if err := in.pace(ctx, chunk[0].TS); err != nil {
		return nil, nil, err
	}
	in.next = end
	batch := make(service.MessageBatch, 0, len(chunk)+1)
	for _, t := range chunk {
		batch = append(batch, newRecord(KindTrade, t.Pair, t.AppendJSON(nil), t))
	}
	batch = append(batch, newTick(chunk[len(chunk)-1].TS, false))
	return batch, noAck, nil
}

// pace waits until the event time ts is due at the configured speed.
func (in *tradeReplayInput) pace(ctx context.Context, ts time.Time) error {
	if in.speed <= 0 {
		return nil
	}
	if in.start.IsZero() {
		in.start = time.Now()
	}
	due := in.start.Add(time.Duration(float64(ts.Sub(in.trades[0].TS)) / in.speed))
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

func (in *tradeReplayInput) Close(context.Context) error { return nil }
