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
	dir, err := a.dataDir(in.DataDir)
	if err != nil {
		return ChunkStats{}, err
	}
	iv, err := time.ParseDuration(in.Interval)
	if err != nil || iv <= 0 {
		return ChunkStats{}, invalidf("interval %q: want a duration such as 1m", in.Interval)
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
