// Package trainingtest builds real training runs for tests: report folders
// and registry versions as a Train run leaves them, from the first real
// week of Binance ETH/USDT (../shared/data; tests skip without it).
package trainingtest

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/training"
)

// RunKeys are the keys of the runs Runs trains, oldest first.
var RunKeys = []string{"20260105T100000Z-aaaa1111", "20260106T100000Z-bbbb2222"}

// Runs trains two short ETH/USDT h1 runs into data directory dir the way a
// Train run does — two tuning trials, the final fit, the products,
// registration of the return model and the products, the report — and
// returns their IDs, oldest first. The second run's max_depth is one more.
func Runs(tb testing.TB, dir string) []string {
	tb.Helper()
	store(tb, dir)
	info, err := training.BuildDataset(tb.Context(), dir, training.DatasetRequest{Pair: "ETH/USDT", Horizon: 1, Folds: 3})
	if err != nil {
		tb.Fatal(err)
	}
	var cache training.DatasetCache
	ds, sp, err := cache.ReadDataset(info.Path)
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := registry.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for i, key := range RunKeys {
		params := ml.SampleParams(rand.New(rand.NewPCG(3, 0x7475_6e65)))
		params.MaxDepth += i
		run(tb, reg, dir, info, ds, sp, key, params, int64(i))
		ids = append(ids, training.RunRef{Pair: "ETH-USDT", Horizon: 1, Key: key}.ID())
	}
	return ids
}

func run(tb testing.TB, reg *registry.Registry, dir string, info training.DatasetInfo, ds ml.Dataset, sp training.Splits,
	key string, params ml.TrialParams, seed int64) {
	tb.Helper()
	ctx := tb.Context()
	var trials []ml.TrialResult
	for id := range 2 {
		tr, err := training.RunTrial(ctx, ds, training.TrialRequest{Folds: sp.Folds, Trial: id, Params: params, MaxRows: 2000, Rounds: 20, Threads: 1})
		if err != nil {
			tb.Fatal(err)
		}
		trials = append(trials, tr)
	}
	fit, err := training.FitFinal(ctx, ds, training.FitRequest{DataDir: dir, Pair: ds.Pair, Horizon: ds.Horizon, Final: sp.Final,
		Params: params, Rounds: 30, Threads: 1, RunKey: key})
	if err != nil {
		tb.Fatal(err)
	}
	candles, err := training.ReadCandles(dir, ds)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := training.TrainProducts(ctx, ds, sp, candles, training.ProductsRequest{ReportDir: fit.ReportDir,
		ReturnModel: fit.ModelPath, Params: params, Rounds: 30, Threads: 1, Seed: seed})
	if err != nil {
		tb.Fatal(err)
	}
	ev, err := training.Evaluate(ctx, ds, sp, training.EvaluateRequest{ModelPath: fit.ModelPath, Params: params})
	if err != nil {
		tb.Fatal(err)
	}
	v, err := training.Register(ctx, reg, training.RegisterRequest{Pair: ds.Pair, Horizon: ds.Horizon, ModelPath: fit.ModelPath,
		ReportDir: fit.ReportDir, Params: params.XGB(), Metrics: ev.Metrics, Dataset: info})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := training.RegisterProducts(ctx, reg, training.RegisterProductsRequest{Pair: ds.Pair, Horizon: ds.Horizon,
		ReportDir: fit.ReportDir, Dataset: info, Products: res.Products,
		Data: &training.ProductData{Dataset: ds, Splits: sp, Candles: candles}}); err != nil {
		tb.Fatal(err)
	}
	if _, err := training.Evaluate(ctx, ds, sp, training.EvaluateRequest{ModelPath: fit.ModelPath, ReportDir: fit.ReportDir,
		Params: params, Trials: trials, Version: v.Version}); err != nil {
		tb.Fatal(err)
	}
}

// store imports the real week's candles and builds its features into the
// Parquet store of dir.
func store(tb testing.TB, dir string) {
	tb.Helper()
	candles, _, err := archive.ReadCandles(realdata.Path(tb, realdata.BinanceETH90d), archive.BinanceKlines, "ETH/USDT")
	if err != nil {
		tb.Fatal(err)
	}
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	c := history.Chunk{Pair: "ETH/USDT", From: time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 5, 27, 0, 0, 0, 0, time.UTC)}
	if _, err := history.ImportCandles(tb.Context(), st, candles, c); err != nil {
		tb.Fatal(err)
	}
	if _, err := history.BuildChunk(tb.Context(), st, dir, c, history.KindCandles, time.Minute); err != nil {
		tb.Fatal(err)
	}
	if err := st.Close(tb.Context()); err != nil {
		tb.Fatal(err)
	}
}
