package history

import (
	"context"
	"fmt"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// ImportCandles writes the candles of c.Pair that start in [c.From, c.To)
// to the store's candles dataset as they are (bars a file lacks stay absent
// until BuildChunk), flushes, and returns how many it wrote. A candle of
// another pair is an error. Importing again is harmless: rows merge by key.
func ImportCandles(ctx context.Context, st *parquet.Store, candles []market.Candle, c Chunk) (int, error) {
	in, err := inChunk(candles, c, func(x *market.Candle) (string, time.Time) { return x.Pair, x.Start })
	if err != nil {
		return 0, fmt.Errorf("import candles %s: %w", c, err)
	}
	return len(in), write(ctx, st, c, func() error { return st.AddCandles(in) })
}

// ImportTrades is ImportCandles for trades, by ts: the chunk's raw trades
// go to the trades dataset, where they merge by (pair, trade_id).
func ImportTrades(ctx context.Context, st *parquet.Store, trades []market.Trade, c Chunk) (int, error) {
	in, err := inChunk(trades, c, func(x *market.Trade) (string, time.Time) { return x.Pair, x.TS })
	if err != nil {
		return 0, fmt.Errorf("import trades %s: %w", c, err)
	}
	return len(in), write(ctx, st, c, func() error { return st.AddTrades(in) })
}

// inChunk returns the rows of c's pair whose time is in c.
func inChunk[T any](rows []T, c Chunk, key func(*T) (string, time.Time)) ([]T, error) {
	pair, err := market.NormalizePair(c.Pair)
	if err != nil {
		return nil, err
	}
	var in []T
	for i := range rows {
		p, t := key(&rows[i])
		if !c.holds(t) {
			continue
		}
		if p != pair {
			if n, err := market.NormalizePair(p); err != nil || n != pair {
				return nil, fmt.Errorf("a row of pair %q in a chunk of %s: %w", p, pair, market.ErrInvalid)
			}
		}
		in = append(in, rows[i])
	}
	return in, nil
}

// write runs add and flushes the store, so that the chunk is on disk (each
// file atomically) when the step returns.
func write(ctx context.Context, st *parquet.Store, c Chunk, add func() error) error {
	if err := add(); err != nil {
		return fmt.Errorf("write %s: %w", c, err)
	}
	if err := st.Flush(ctx); err != nil {
		return fmt.Errorf("write %s: %w", c, err)
	}
	return nil
}
