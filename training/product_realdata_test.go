package training

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
)

// TestProductsRealData trains what a Train run trains — 20 trials of
// successive halving (eta 3, 30,000 rows at the last rung, 2 at once), the
// final fit, the products and the report — on the real 90 Binance days of
// both pairs at the horizons of TICKCAST_PRODUCTS_HORIZONS (default 1,5,60),
// into the report folders of data directory TICKCAST_PRODUCTS_OUT, the
// input of scripts/model-report.sh. It logs each step's time (the datasets
// are built in memory from the archive's candles, as the store would give
// them). Run on purpose only:
//
//	TICKCAST_PRODUCTS_OUT=/tmp/trainbench/products go test ./training -run TestProductsRealData -v -timeout 60m
func TestProductsRealData(t *testing.T) {
	out := os.Getenv("TICKCAST_PRODUCTS_OUT")
	if out == "" {
		t.Skip("set TICKCAST_PRODUCTS_OUT to a data directory to train the products on the real 90 days")
	}
	horizons := []int{1, 5, 60}
	if s := os.Getenv("TICKCAST_PRODUCTS_HORIZONS"); s != "" {
		horizons = horizons[:0]
		for _, f := range strings.Split(s, ",") {
			h, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			horizons = append(horizons, h)
		}
	}
	var timings []string
	for _, pc := range realPairs(t) {
		for _, h := range horizons {
			secs := trainRealProducts(t, out, pc.candles, pc.rows, h)
			timings = append(timings, fmt.Sprintf("%s h%d: %s", pc.pair, h, secs))
		}
	}
	text := "seconds per pair × horizon: tune (20 trials) / final fit / products / report\n" + strings.Join(timings, "\n") + "\n"
	t.Log(text)
	if err := os.WriteFile(filepath.Join(out, "timings.txt"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// realPair is one pair's real 90 Binance days: its candles and their
// feature rows.
type realPair struct {
	pair    string
	candles []market.Candle
	rows    []market.FeatureRow
}

// realPairs are ETH/USDT's and BTC/USDT's real 90 days, their cross-pair
// features filled from each other's rows (as the backfill's cross step does).
func realPairs(t *testing.T) []realPair {
	pcs := []realPair{{pair: "ETH/USDT"}, {pair: "BTC/USDT"}}
	rows := make([][]market.FeatureRow, len(pcs))
	for i, file := range []string{realdata.BinanceETH90d, realdata.BinanceBTC90d} {
		cs, _, err := archive.ReadCandles(realdata.Path(t, file), archive.BinanceKlines, pcs[i].pair)
		if err != nil {
			t.Fatal(err)
		}
		pcs[i].candles, pcs[i].rows = cs, realfeatures.Rows(t, cs)
		rows[i] = pcs[i].rows
	}
	crossRows(rows) // in place
	return pcs
}

// crossRows sets the cross-pair features of every pair's rows from the
// other pairs' rows at the same TS (market.CrossFill over base rows).
func crossRows(rows [][]market.FeatureRow) {
	byTS := map[int64][]market.FeatureRow{}
	for _, rs := range rows {
		for _, r := range rs {
			byTS[r.TS.UnixNano()] = append(byTS[r.TS.UnixNano()], r)
		}
	}
	for _, rs := range rows {
		for j := range rs {
			rs[j] = market.CrossFill(rs[j], byTS[rs[j].TS.UnixNano()])
		}
	}
}

// trainRealProducts runs one pair × horizon and returns its step timings.
func trainRealProducts(t *testing.T, out string, candles []market.Candle, rows []market.FeatureRow, h int) string {
	ds, err := ml.Build(rows, candles, h)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := Split(ds, 3)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	trials := tuneReal(t, ds, sp, 20, 0)
	best := ml.TopK(trials, 1)[0]
	tTune := time.Since(start)
	fit, err := FitFinal(t.Context(), ds, FitRequest{DataDir: out, Pair: ds.Pair, Horizon: h, Final: sp.Final, Params: best.Params,
		Rounds: 400, Threads: 2, RunKey: "real90d"})
	if err != nil {
		t.Fatal(err)
	}
	tFit := time.Since(start) - tTune
	res, err := TrainProducts(t.Context(), ds, sp, candles, ProductsRequest{ReportDir: fit.ReportDir, ReturnModel: fit.ModelPath,
		Params: best.Params, Rounds: 400, Threads: 2, Seed: 0, Pinball: os.Getenv("TICKCAST_PRODUCTS_PINBALL") != ""})
	if err != nil {
		t.Fatal(err)
	}
	tProducts := time.Since(start) - tTune - tFit
	notes := []string{fmt.Sprintf("Real-data run (TestProductsRealData): %d trials, best trial %d CV MAE %.6g; final fit %d rounds.",
		len(trials), best.ID, best.Score, fit.BestIteration+1)}
	for _, p := range res.Products {
		notes = append(notes, fmt.Sprintf("Gate %s: %s.", p.Product, p.Gate.Reason))
	}
	if _, err := Evaluate(t.Context(), ds, sp, EvaluateRequest{ModelPath: fit.ModelPath, ReportDir: fit.ReportDir, Params: best.Params,
		Trials: trials, Notes: notes, Version: 1}); err != nil {
		t.Fatal(err)
	}
	tReport := time.Since(start) - tTune - tFit - tProducts
	var rep ProductsReport
	b, _ := os.ReadFile(filepath.Join(fit.ReportDir, ProductsFile))
	_ = json.Unmarshal(b, &rep)
	for _, p := range res.Products {
		t.Logf("%s h%d %s: pass %v, vs %s skill %.4f [%.4f, %.4f] dm p %.3g", ds.Pair, h, p.Product, p.Gate.Pass, p.Gate.Baseline,
			float64(p.Gate.Skill), float64(p.Gate.Lo), float64(p.Gate.Hi), float64(p.Gate.DMP))
	}
	t.Logf("%s h%d quantile coverage %.4f terciles %v; vol skills %v", ds.Pair, h, float64(rep.Quantiles.Model.Coverage),
		rep.Quantiles.Model.Terciles, rep.Vol.Skills)
	return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f", tTune.Seconds(), tFit.Seconds(), tProducts.Seconds(), tReport.Seconds())
}

// tuneReal is Tune's successive halving over n trials drawn from seed as
// workflows.SampleTrials draws them, two trials at once, one thread each.
func tuneReal(t *testing.T, ds ml.Dataset, sp Splits, n int, seed int64) []ml.TrialResult {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7475_6e65))
	cands := make([]ml.TrialResult, n)
	for i := range cands {
		cands[i] = ml.TrialResult{ID: i, Params: ml.SampleParams(rng)}
	}
	var all []ml.TrialResult
	for rung, r := range ml.SuccessiveHalving(n, 3) {
		rows := min(30_000, max(1_000, int(math.Round(r.Budget*30_000))))
		if rung > 0 {
			cands = ml.TopK(all[len(all)-len(cands):], r.Trials)
		}
		res := make([]ml.TrialResult, len(cands))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 2)
		for i, c := range cands {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				tr, err := RunTrial(t.Context(), ds, TrialRequest{Folds: sp.Folds, Trial: c.ID, Rung: rung, Params: c.Params,
					MaxRows: rows, Rounds: 400, Threads: 1})
				if err != nil {
					t.Error(err)
				}
				res[i] = tr
			}()
		}
		wg.Wait()
		all = append(all, res...)
	}
	return all
}
