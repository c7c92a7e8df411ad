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

// RebuildResult is what RebuildFeatures did: each pair's base rows, then
// the cross-pair features over all of them.
type RebuildResult struct {
	Pairs []RebuildStats
	Cross CrossStats
}

// RebuildFeatures recomputes every feature row of pairs from their stored
// candles, so a store written by an older feature schema serves the current
// one and equals a fresh backfill of those pairs: first each pair's base
// rows, chunk by chunk in time order (each chunk seeded with the candles
// before it, as the backfill does), then the cross-pair features over the
// pairs (CrossFeatures, chunk by chunk over the days of any of them). The
// pairs are the set the cross-pair features average over: pass every pair
// of the store (the live pipeline's pairs). Candles are rewritten unchanged
// apart from filled missing bars; the rows replace the old ones by ts.
// progress, when set, is called after each base chunk.
func RebuildFeatures(ctx context.Context, st *parquet.Store, dataDir string, pairs []string, iv, chunk time.Duration, progress func(RebuildStats)) (RebuildResult, error) {
	var res RebuildResult
	if chunk < 24*time.Hour {
		return res, fmt.Errorf("rebuild chunk %s: want at least a day: %w", chunk, market.ErrInvalid)
	}
	if len(pairs) == 0 {
		return res, fmt.Errorf("rebuild: no pairs: %w", market.ErrInvalid)
	}
	var from, to time.Time
	for _, p := range pairs {
		s, err := rebuildPair(ctx, st, dataDir, p, iv, chunk, progress)
		if err != nil {
			return res, err
		}
		res.Pairs = append(res.Pairs, s)
		if from.IsZero() || s.From.Before(from) {
			from = s.From
		}
		to = later(to, s.To)
	}
	for f := from; f.Before(to); f = f.Add(chunk) {
		cs, err := CrossFeatures(ctx, st, dataDir, pairs, f, earlier(f.Add(chunk), to), iv)
		if err != nil {
			return res, fmt.Errorf("rebuild: %w", err)
		}
		res.Cross.Pairs = max(res.Cross.Pairs, cs.Pairs)
		res.Cross.Features += cs.Features
		res.Cross.Crossed += cs.Crossed
	}
	return res, nil
}

// rebuildPair recomputes the base rows of one pair.
func rebuildPair(ctx context.Context, st *parquet.Store, dataDir, pair string, iv, chunk time.Duration, progress func(RebuildStats)) (RebuildStats, error) {
	p, err := market.NormalizePair(pair)
	if err != nil {
		return RebuildStats{}, err
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
