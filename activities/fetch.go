package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// Fetched trades are written when this many are buffered or this long after
// the last write, whichever comes first: a write rewrites the day's file, so
// writing per page would cost O(pages²); a retry refetches at most this much.
const (
	fetchFlushTrades = 50_000
	fetchFlushEvery  = 10 * time.Second
)

// FetchTradesChunk pages Kraken REST trades of [From, To) into the trades
// dataset. It heartbeats {pages, trades, last_ts} per page; a retried attempt
// resumes after the newest trade its predecessors had saved.
func (a *Activities) FetchTradesChunk(ctx context.Context, c Chunk) (ChunkStats, error) {
	if a.REST == nil {
		return ChunkStats{}, invalidf("this worker has no Kraken REST client")
	}
	dir, err := a.dataDir(c.DataDir)
	if err != nil {
		return ChunkStats{}, err
	}
	st, err := a.openStore(dir)
	if err != nil {
		return ChunkStats{}, err
	}
	f := &fetcher{st: st, chunk: c, prog: resumed(ctx), saved: time.Now()}
	f.hb = startHeartbeat(ctx, f.prog)
	defer f.hb.close()
	err = f.run(ctx, a.REST)
	if err = closeStore(ctx, st, err); err != nil {
		return ChunkStats{}, err
	}
	a.logger().Info("fetched trades", "pair", c.Pair, "from", c.From, "to", c.To, "pages", f.prog.Pages, "trades", f.prog.Trades)
	return ChunkStats{Pages: f.prog.Pages, Trades: f.prog.Trades, First: f.prog.First, Last: f.prog.LastTS}, nil
}

// resumed is the progress saved by an earlier attempt, or zero.
func resumed(ctx context.Context) FetchProgress {
	var p FetchProgress
	if !activity.HasHeartbeatDetails(ctx) {
		return p
	}
	if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
		return FetchProgress{}
	}
	// What was fetched but not saved is lost with the attempt.
	p.Trades, p.LastTS = p.Saved, p.SavedTS
	return p
}

type fetcher struct {
	st    *parquet.Store
	chunk Chunk
	hb    *heartbeat
	prog  FetchProgress
	buf   []market.Trade
	saved time.Time
}

func (f *fetcher) run(ctx context.Context, rest *kraken.REST) error {
	from := f.chunk.From
	if !f.prog.SavedTS.IsZero() {
		from = f.prog.SavedTS // inclusive; trades up to SavedID are skipped
	}
	err := rest.TradesRange(ctx, f.chunk.Pair, from, f.chunk.To, func(p kraken.TradesPage) error { return f.page(ctx, p) })
	if err != nil {
		return fetchErr(f.chunk, err)
	}
	return f.flush(ctx)
}

func (f *fetcher) page(ctx context.Context, p kraken.TradesPage) error {
	f.prog.Pages++
	for _, t := range p.Trades {
		if t.TradeID <= f.prog.SavedID {
			continue // saved by an earlier attempt
		}
		f.buf = append(f.buf, t)
		f.prog.Trades++
		if f.prog.First.IsZero() {
			f.prog.First = t.TS
		}
		f.prog.LastTS = t.TS
	}
	if len(f.buf) >= fetchFlushTrades || time.Since(f.saved) >= fetchFlushEvery {
		if err := f.flush(ctx); err != nil {
			return err
		}
	}
	f.hb.set(ctx, f.prog)
	return nil
}

// flush makes the buffered trades durable, then moves the resume cursor.
func (f *fetcher) flush(ctx context.Context) error {
	f.saved = time.Now()
	if len(f.buf) == 0 {
		return nil
	}
	if err := f.st.AddTrades(f.buf); err != nil {
		return fmt.Errorf("store trades %s: %w", f.chunk.Pair, err)
	}
	if err := f.st.Flush(ctx); err != nil {
		return fmt.Errorf("flush trades %s: %w", f.chunk.Pair, err)
	}
	last := f.buf[len(f.buf)-1]
	f.prog.SavedID, f.prog.SavedTS, f.prog.Saved = last.TradeID, last.TS, f.prog.Trades
	f.buf = nil // the store may keep the slice
	f.hb.set(ctx, f.prog)
	return nil
}

// fetchErr makes errors that no retry fixes final.
func fetchErr(c Chunk, err error) error {
	if errors.Is(err, kraken.ErrUnknownPair) || errors.Is(err, kraken.ErrInvalidArguments) {
		return invalidf("kraken trades %s: %v", c.Pair, err)
	}
	return fmt.Errorf("kraken trades %s %s: %w", c.Pair, c.From.Format(time.RFC3339), err)
}
