package history

import (
	"context"
	"fmt"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// RebuildStats counts what RebuildFeatures rewrote for one pair.
type RebuildStats struct {
	Pair             string
	From, To         time.Time // the stored candles' days, [From, To)
	Chunks, Features int
}

// RebuildFeatures recomputes every feature row of pair from its stored
// candles, chunk by chunk in time order (each chunk seeded with the
// candles before it, as the backfill does), so a store written by an older
// feature schema serves the current one. Candles are rewritten unchanged
// apart from filled missing bars; the rows replace the old ones by ts.
// progress, when set, is called after each chunk.
func RebuildFeatures(ctx context.Context, st *parquet.Store, dataDir, pair string, iv time.Duration, chunk time.Duration, progress func(RebuildStats)) (RebuildStats, error) {
	p, err := market.NormalizePair(pair)
	if err != nil {
		return RebuildStats{}, err
	}
	if chunk < 24*time.Hour {
		return RebuildStats{}, fmt.Errorf("rebuild chunk %s: want at least a day: %w", chunk, market.ErrInvalid)
	}
	parts, err := parquet.Partitions(st.Root(), parquet.DatasetCandles, p, time.Time{}, time.Time{})
	if err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild %s: %w", p, err)
	}
	s := RebuildStats{Pair: p}
	if len(parts) == 0 {
		return s, fmt.Errorf("rebuild %s: the store holds no candles of it: %w", p, market.ErrInvalid)
	}
	s.From, s.To = parts[0].Day, parts[len(parts)-1].Day.Add(24*time.Hour)
	for from := s.From; from.Before(s.To); from = from.Add(chunk) {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		c := Chunk{Pair: p, From: from, To: earlier(from.Add(chunk), s.To)}
		bs, err := BuildChunk(ctx, st, dataDir, c, KindCandles, iv)
		if err != nil {
			return s, fmt.Errorf("rebuild: %w", err)
		}
		s.Chunks++
		s.Features += bs.Features
		if progress != nil {
			progress(s)
		}
	}
	return s, nil
}
