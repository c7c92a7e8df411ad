package activities

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// InspectArchive reads each file once (which also warms this worker's cache
// for the imports) and says what it holds, so that the workflow, which may
// not read files, can plan pairs, ranges and chunks.
func (a *Activities) InspectArchive(ctx context.Context, in InspectInput) ([]ArchiveFile, error) {
	hb := startHeartbeat(ctx, "inspecting")
	defer hb.close()
	out := make([]ArchiveFile, 0, len(in.Files))
	for _, path := range in.Files {
		af, err := a.inspect(path, in.Pair)
		if err != nil {
			return nil, err
		}
		out = append(out, af)
		hb.set(ctx, fmt.Sprintf("inspected %d/%d files", len(out), len(in.Files)))
	}
	return out, nil
}

// inspect reads a file as pair (or as the pair its name says when pair is
// ""); the result's Pair is the name's pair, "" when the name does not say.
func (a *Activities) inspect(path, pair string) (ArchiveFile, error) {
	real, err := a.archivePath(path)
	if err != nil {
		return ArchiveFile{}, err
	}
	f, err := archive.Detect(real)
	if err != nil {
		return ArchiveFile{}, invalidf("archive file %s: %v", path, err)
	}
	named, _ := archive.DefaultPair(path)
	if pair == "" {
		pair = named
	}
	if pair == "" {
		return ArchiveFile{}, invalidf("archive file %s: its name does not tell the pair: give exactly one pair", path)
	}
	e, err := a.files.read(real, f, pair, 1)
	if err != nil {
		return ArchiveFile{}, err
	}
	af, err := describe(path, e)
	af.Pair = named
	return af, err
}

// ImportArchiveChunk writes the rows of [From, To) of the pair's files as
// they are: candles to the candles dataset, trades to the trades dataset.
func (a *Activities) ImportArchiveChunk(ctx context.Context, in ImportInput) (ChunkStats, error) {
	dir, err := a.dataDir(in.DataDir)
	if err != nil {
		return ChunkStats{}, err
	}
	hb := startHeartbeat(ctx, "importing")
	defer hb.close()
	st, err := a.openStore(dir)
	if err != nil {
		return ChunkStats{}, err
	}
	var stats ChunkStats
	for _, f := range in.Files {
		if err = a.importFile(ctx, st, dir, f, in.Chunk, &stats); err != nil {
			break
		}
	}
	if err = closeStore(ctx, st, err); err != nil {
		return ChunkStats{}, err
	}
	return stats, nil
}

func (a *Activities) importFile(ctx context.Context, st *parquet.Store, dir string, f ArchiveFile, c Chunk, stats *ChunkStats) error {
	if f.Last.Before(c.From) || !f.First.Before(c.To) {
		return nil // nothing of this file in the chunk
	}
	format, err := archive.ParseFormat(f.Format)
	if err != nil {
		return invalid(err)
	}
	real, err := a.archivePath(f.Path)
	if err != nil {
		return err
	}
	e, err := a.files.read(real, format, c.Pair, max(f.FirstID, 1))
	if err != nil {
		return err
	}
	hc := history.Chunk{Pair: c.Pair, From: c.From, To: c.To}
	dataset := parquet.DatasetTrades
	if format.HasCandles() {
		dataset = parquet.DatasetCandles
	}
	// Say where the rows came from (the source exchange, the file's hash).
	if err := history.RecordSources(dir, dataset, c.Pair, e.src); err != nil {
		return fmt.Errorf("record source %s: %w", f.Path, err)
	}
	if format.HasCandles() {
		cs := inChunk(e.candles, c, func(x market.Candle) time.Time { return x.Start })
		n, err := history.ImportCandles(ctx, st, cs, hc)
		stats.Candles += n
		if len(cs) > 0 {
			stats.cover(cs[0].Start, cs[len(cs)-1].Start)
		}
		return wrap("import candles", f.Path, err)
	}
	ts := inChunk(e.trades, c, func(x market.Trade) time.Time { return x.TS })
	n, err := history.ImportTrades(ctx, st, ts, hc)
	stats.Trades += n
	if len(ts) > 0 {
		stats.cover(ts[0].TS, ts[len(ts)-1].TS)
	}
	return wrap("import trades", f.Path, err)
}

// inChunk is the sorted rows' sub-slice in [From, To) (no copy: the cache owns it).
func inChunk[T any](rows []T, c Chunk, at func(T) time.Time) []T {
	lo, _ := slices.BinarySearchFunc(rows, c.From, func(x T, t time.Time) int { return at(x).Compare(t) })
	hi, _ := slices.BinarySearchFunc(rows, c.To, func(x T, t time.Time) int { return at(x).Compare(t) })
	return rows[lo:hi:hi]
}

func wrap(op, path string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}

func (s *ChunkStats) cover(first, last time.Time) {
	if s.First.IsZero() || first.Before(s.First) {
		s.First = first.UTC()
	}
	if last.After(s.Last) {
		s.Last = last.UTC()
	}
}
