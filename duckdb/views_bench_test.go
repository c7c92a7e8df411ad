package duckdb

import (
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// benchDataDir is the real 90 days of Binance ETH/USDT and BTC/USDT minute
// candles and their feature rows: the store training and warm starts read.
var benchDataDir = sync.OnceValues(func() (string, error) {
	return buildRealStore("duckdb-bench-datadir-", true,
		realPair{realdata.BinanceETH90d, "ETH/USDT"}, realPair{realdata.BinanceBTC90d, "BTC/USDT"})
})

func benchDir(b *testing.B) string {
	realdata.Path(b, realdata.BinanceBTC90d)
	dir, err := benchDataDir()
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// trainingRead is what training's loadSupervised reads: every feature row
// of the pair, then the candles around them (h = 5).
func trainingRead(b *testing.B, features func() ([]market.FeatureRow, error), candles func(from, to time.Time) ([]market.Candle, error)) {
	rows, err := features()
	if err != nil || len(rows) != 130_708 {
		b.Fatalf("%d feature rows, %v", len(rows), err)
	}
	cs, err := candles(rows[0].TS.Add(-2*time.Minute), rows[len(rows)-1].TS.Add(6*time.Minute))
	if err != nil || len(cs) != 130_708 {
		b.Fatalf("%d candles, %v", len(cs), err)
	}
}

// BenchmarkTrainingRead: features and candles of ETH/USDT, 90 days, from a
// store of two pairs, by the parquet package (arrow-go, today's path) and
// through the views (opened per read, as a training activity would, and
// already open).
func BenchmarkTrainingRead(b *testing.B) {
	dir := benchDir(b)
	root := datadir.Parquet(dir)
	const pair = "ETH/USDT"
	b.Run("parquet", func(b *testing.B) {
		for b.Loop() {
			r := &parquet.Reader{Root: root, SkipCorrupt: true}
			trainingRead(b, func() ([]market.FeatureRow, error) { return r.Features(pair, time.Time{}, time.Time{}) },
				func(from, to time.Time) ([]market.Candle, error) { return r.Candles(pair, from, to) })
		}
	})
	viewRead := func(b *testing.B, db *DB) {
		trainingRead(b, func() ([]market.FeatureRow, error) { return db.Features(b.Context(), Query{Pair: pair}) },
			func(from, to time.Time) ([]market.Candle, error) {
				return db.Candles(b.Context(), Query{Pair: pair, From: from, To: to})
			})
	}
	b.Run("views-open", func(b *testing.B) {
		for b.Loop() {
			db, err := OpenDataDir(b.Context(), dir, Options{SkipCorrupt: true}, ViewFeatures, ViewCandles)
			if err != nil {
				b.Fatal(err)
			}
			viewRead(b, db)
			db.Close()
		}
	})
	b.Run("views", func(b *testing.B) {
		db, err := OpenDataDir(b.Context(), dir, Options{SkipCorrupt: true}, ViewFeatures, ViewCandles)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		for b.Loop() {
			viewRead(b, db)
		}
	})
}

// BenchmarkWarmStartRead: the 120 candles of ETH/USDT before the store's
// last (connect's WarmCandles), by the parquet package and through the
// views (opened for the read, and already open).
func BenchmarkWarmStartRead(b *testing.B) {
	dir := benchDir(b)
	const pair = "ETH/USDT"
	to := time.Date(2025, 8, 17, 23, 59, 0, 0, time.UTC)
	from := to.Add(-market.FeatureWindow * time.Minute)
	check := func(b *testing.B, cs []market.Candle, err error) {
		if err != nil || len(cs) != market.FeatureWindow {
			b.Fatalf("%d candles, %v", len(cs), err)
		}
	}
	b.Run("parquet", func(b *testing.B) {
		for b.Loop() {
			cs, err := (&parquet.Reader{Root: datadir.Parquet(dir), SkipCorrupt: true}).Candles(pair, from, to)
			check(b, cs, err)
		}
	})
	b.Run("views-open", func(b *testing.B) {
		for b.Loop() {
			db, err := OpenDataDir(b.Context(), dir, Options{SkipCorrupt: true}, ViewCandles)
			if err != nil {
				b.Fatal(err)
			}
			cs, err := db.Candles(b.Context(), Query{Pair: pair, From: from, To: to})
			check(b, cs, err)
			db.Close()
		}
	})
	b.Run("views", func(b *testing.B) {
		db, err := OpenDataDir(b.Context(), dir, Options{SkipCorrupt: true}, ViewCandles)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		for b.Loop() {
			cs, err := db.Candles(b.Context(), Query{Pair: pair, From: from, To: to})
			check(b, cs, err)
		}
	})
}
