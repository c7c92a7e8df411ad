package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/tickcast/tickcast/history"
)

// BuildChunk computes the chunk's candles (from stored trades, or by filling
// the imported candles' missing bars) and features, seeded from the candles
// before the chunk in the store — which is why the workflow runs a pair's
// chunks strictly in order.
func (a *Activities) BuildChunk(ctx context.Context, in BuildInput) (ChunkStats, error) {
	dir, iv, err := a.dirInterval(in.DataDir, in.Interval)
	if err != nil {
		return ChunkStats{}, err
	}
	if in.Kind != KindTrades && in.Kind != KindCandles {
		return ChunkStats{}, invalidf("kind %q: want %s or %s", in.Kind, KindTrades, KindCandles)
	}
	hb := startHeartbeat(ctx, "building")
	defer hb.close()
	st, err := a.openStore(dir)
	if err != nil {
		return ChunkStats{}, err
	}
	bs, err := history.BuildChunk(ctx, st, dir, history.Chunk{Pair: in.Pair, From: in.From, To: in.To}, in.Kind, iv)
	if err != nil {
		err = fmt.Errorf("build %s %s: %w", in.Pair, in.From.Format(time.RFC3339), err)
	}
	if err = closeStore(ctx, st, err); err != nil {
		return ChunkStats{}, err
	}
	return ChunkStats{Trades: bs.Trades, Candles: bs.Candles, Features: bs.Features, Empty: bs.Empty, Last: bs.Last}, nil
}

// CrossFeatures sets the cross-pair features of the rows of in.Pairs over
// [in.From, in.To), recomputing the base rows from the stored candles: run
// it once every pair's chunks covering the range are built. Idempotent, so
// a retry or a rerun writes the same rows.
func (a *Activities) CrossFeatures(ctx context.Context, in CrossInput) (ChunkStats, error) {
	dir, iv, err := a.dirInterval(in.DataDir, in.Interval)
	if err != nil {
		return ChunkStats{}, err
	}
	hb := startHeartbeat(ctx, "crossing")
	defer hb.close()
	st, err := a.openStore(dir)
	if err != nil {
		return ChunkStats{}, err
	}
	cs, err := history.CrossFeatures(ctx, st, dir, in.Pairs, in.From, in.To, iv)
	if err != nil {
		err = fmt.Errorf("cross %v %s: %w", in.Pairs, in.From.Format(time.RFC3339), err)
	}
	if err = closeStore(ctx, st, err); err != nil {
		return ChunkStats{}, err
	}
	return ChunkStats{Features: cs.Features, Crossed: cs.Crossed}, nil
}

// dirInterval resolves the data directory dataDir and parses the candle
// interval of a build or cross step.
func (a *Activities) dirInterval(dataDir, interval string) (string, time.Duration, error) {
	dir, err := a.dataDir(dataDir)
	if err != nil {
		return "", 0, err
	}
	iv, err := time.ParseDuration(interval)
	if err != nil || iv <= 0 {
		return "", 0, invalidf("interval %q: want a duration such as 1m", interval)
	}
	return dir, iv, nil
}
