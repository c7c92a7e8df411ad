package history_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/parquet"
)

// BenchmarkImportBinance90d is the archive backfill of the real Binance
// set without Temporal: for both pairs (BTC/USDT, ETH/USDT; 130,708
// 1-minute candles each), every 7-day chunk imported (the file read again
// per chunk, as an activity that is given only the path does), the source
// recorded, then every chunk built in order (gap filling and feature rows),
// into a fresh store. One op is the whole import of both pairs; candles/s
// counts source candles.
//
//	go test -run '^$' -bench ImportBinance90d -benchtime 3x ./history/
//
// Variants: "read-per-chunk" as above, the pairs one after the other;
// "read-once", each file read once for all its chunks; "pairs-parallel",
// read per chunk with each pair on its own goroutine, as the workflow's
// bounded concurrency may run them.
func BenchmarkImportBinance90d(b *testing.B) {
	paths := []string{realdata.Path(b, binanceBTC), realdata.Path(b, binanceETH)}
	for _, v := range []struct {
		name               string
		perChunk, parallel bool
	}{{"read-per-chunk", true, false}, {"read-once", false, false}, {"pairs-parallel", true, true}} {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				backfillBinance(b, paths, v.perChunk, v.parallel)
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/import")
			b.ReportMetric(float64(len(paths)*130_708*b.N)/b.Elapsed().Seconds(), "candles/s")
		})
	}
}

func backfillBinance(b *testing.B, paths []string, perChunk, parallel bool) {
	dataDir := b.TempDir()
	st, err := parquet.Open(filepath.Join(dataDir, "parquet"), parquet.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, p := range paths {
		if !parallel {
			backfillFile(b, st, dataDir, p, perChunk)
			continue
		}
		wg.Go(func() { backfillFile(b, st, dataDir, p, perChunk) })
	}
	wg.Wait()
	if err := st.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// backfillFile imports and builds one archive file as the activities would:
// one import per chunk (each reading the file when perChunk), then one build
// per chunk.
func backfillFile(b *testing.B, st *parquet.Store, dataDir, path string, perChunk bool) {
	ctx := context.Background()
	pair, err := archive.DefaultPair(path)
	if err != nil {
		b.Error(err)
		return
	}
	chunks := history.Chunks(pair, time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC), time.Date(2025, 8, 18, 18, 28, 0, 0, time.UTC), 7*day)
	cs, src, err := archive.ReadCandles(path, archive.BinanceKlines, pair)
	for _, c := range chunks {
		if err == nil && perChunk {
			cs, src, err = archive.ReadCandles(path, archive.BinanceKlines, pair)
		}
		if err == nil {
			_, err = history.ImportCandles(ctx, st, cs, c)
		}
		if err == nil {
			err = history.RecordSources(dataDir, parquet.DatasetCandles, pair, src)
		}
		if err != nil {
			b.Error(err)
			return
		}
	}
	total := 0
	for _, c := range chunks {
		s, err := history.BuildChunk(ctx, st, dataDir, c, history.KindCandles, time.Minute)
		if err != nil {
			b.Error(err)
			return
		}
		total += s.Candles
	}
	if total != 130_708 {
		b.Errorf("%s: built %d candles, want 130,708", pair, total)
	}
}
