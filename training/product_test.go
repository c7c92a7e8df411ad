package training

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
)

// On the real week: the products are fitted, scored against their
// baselines on the same rows and saved; the report's test_predictions.csv
// then carries every product's column and metrics.json their figures.
func TestTrainProductsRealWeek(t *testing.T) {
	dir, info, ds, sp := weekDataset(t)
	candles, err := ReadCandles(dir, ds)
	if err != nil {
		t.Fatal(err)
	}
	report := ReportDir(dir, ds.Pair, ds.Horizon, "run")
	res, err := TrainProducts(t.Context(), ds, sp, candles, ProductsRequest{ReportDir: report, Params: sampleParams(), Rounds: 60, Threads: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Products) != 3 || res.TestRows < info.Final.Test.Len()-ds.Horizon-1 {
		t.Fatalf("result %+v (test span %d)", res, info.Final.Test.Len())
	}
	for _, p := range res.Products {
		if _, err := os.Stat(p.ModelPath); err != nil || p.Gate.Baseline == "" || p.Gate.Reason == "" || len(p.BaselineParams) == 0 {
			t.Errorf("%s: %+v (%v)", p.Product, p, err)
		}
	}
	var rep ProductsReport
	b, err := os.ReadFile(filepath.Join(report, ProductsFile))
	if err == nil {
		err = json.Unmarshal(b, &rep)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The quantile band is calibrated on the validation rows: near 80% on the test rows.
	if c := float64(rep.Quantiles.Model.Coverage); !(c > 0.7 && c < 0.9) || len(rep.Vol.Skills) != 6 || len(rep.PUp.Reliability) != 10 {
		t.Errorf("coverage %v, %d vol skills, %d reliability bins", c, len(rep.Vol.Skills), len(rep.PUp.Reliability))
	}
	if rep.Vol.Baselines[ml.BaselineHAR].MAE == 0 || rep.TestRows != res.TestRows || len(rep.PUp.FeeCurve.Points) != len(ml.FeeCurveBps) {
		t.Errorf("report %.400s", b)
	}
	ev, err := Evaluate(t.Context(), ds, sp, EvaluateRequest{ModelPath: writeReturnModel(t, ds, sp, report), ReportDir: report, Params: sampleParams()})
	if err != nil {
		t.Fatal(err)
	}
	checkContract(t, report, ds, ev.TestRows)
}

// writeReturnModel fits a small return model into the report folder.
func writeReturnModel(t *testing.T, ds ml.Dataset, sp Splits, dir string) string {
	t.Helper()
	path := filepath.Join(dir, modelFile)
	if err := os.WriteFile(path, trainModel(t, ds, sp.Final.Train.Lo, sp.Final.Train.Hi, 5, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkContract reads the report's test_predictions.csv: the contract's
// header, one row per test row, every product's column filled where the
// row's vol target is defined, and metrics.json holding the products.
func checkContract(t *testing.T, dir string, ds ml.Dataset, testRows int) {
	t.Helper()
	rows := readCSV(t, filepath.Join(dir, ml.FilePredictions))
	if strings.Join(rows[0], ",") != "ts,pair,horizon,last_price,realized_return,predicted_return,realized_vol,predicted_vol,q10,q50,q90,p_up" || len(rows)-1 != testRows {
		t.Fatalf("header %v, %d rows, want %d", rows[0], len(rows)-1, testRows)
	}
	filled := 0
	for _, r := range rows[1:] {
		if _, err := time.Parse(time.RFC3339, r[0]); err != nil || r[1] != ds.Pair || r[2] != strconv.Itoa(ds.Horizon) {
			t.Fatalf("row %v", r)
		}
		q10, e1 := strconv.ParseFloat(r[8], 64)
		q90, e2 := strconv.ParseFloat(r[10], 64)
		p, e3 := strconv.ParseFloat(r[11], 64)
		if e1 != nil || e2 != nil || e3 != nil || !(q10 < q90) || !(p > 0 && p < 1) {
			t.Fatalf("row %v", r)
		}
		if r[6] != "" {
			filled++
		}
	}
	if filled < testRows-ds.Horizon-1 {
		t.Errorf("%d of %d rows have a realized vol", filled, testRows)
	}
	var m struct {
		Products ProductsReport `json:"products"`
	}
	b, err := os.ReadFile(filepath.Join(dir, ml.FileMetrics))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil || m.Products.Vol.Rows == 0 || m.Products.Vol.Gate.Metric != "mae" {
		t.Errorf("metrics.json products %+v (%v)", m.Products.Vol.Gate, err)
	}
}

// The MAE-optimal scale: hand-worked, pred 1, 2, 4 and y 1, 1, 4 → ratios
// 1 (w 1), 0.5 (w 2), 1 (w 4): the weighted median is 1 (Σ|s·p−y| = 1 at
// s = 1, 1.5 at 0.5).
func TestMAEScale(t *testing.T) {
	if s := MAEScale([]float64{1, 2, 4}, []float64{1, 1, 4}); s != 1 {
		t.Errorf("scale %v, want 1", s)
	}
	if s := MAEScale([]float64{0, -1}, []float64{1, 1}); s != 1 {
		t.Errorf("no positive prediction: scale %v, want 1", s)
	}
}

// A missing candle takes the previous close and makes every window over it
// incomplete.
func TestCloseGridGap(t *testing.T) {
	t0 := time.Date(2025, 5, 20, 0, 1, 0, 0, time.UTC)
	var cs []market.Candle
	for k := range 6 {
		if k == 3 {
			continue
		}
		cs = append(cs, market.Candle{Pair: "ETH/USDT", End: t0.Add(time.Duration(k) * time.Minute), Close: float64(100 + k)})
	}
	g := newCloseGrid(cs, time.Minute)
	if len(g.closes) != 6 || g.closes[3] != 102 || !g.complete(0, 2) || g.complete(2, 3) || g.complete(1, 4) || !g.complete(3, 5) {
		t.Errorf("grid %+v", g)
	}
	if k, ok := g.index(t0.Add(5 * time.Minute)); !ok || k != 5 {
		t.Errorf("index %d %v", k, ok)
	}
	if _, ok := g.index(t0.Add(90 * time.Second)); ok {
		t.Error("an off-grid time has an index")
	}
}

// With Pinball, the quantiles' three methods are all scored (validation and
// test pinball loss), the one with the lowest validation loss serves, and
// the rows carry its quantiles, never crossing.
func TestTrainProductsPinball(t *testing.T) {
	dir, _, ds, sp := weekDataset(t)
	candles, err := ReadCandles(dir, ds)
	if err != nil {
		t.Fatal(err)
	}
	report := ReportDir(dir, ds.Pair, ds.Horizon, "pinball")
	if _, err := TrainProducts(t.Context(), ds, sp, candles, ProductsRequest{ReportDir: report, Params: sampleParams(), Rounds: 40, Threads: 1, Pinball: true}); err != nil {
		t.Fatal(err)
	}
	var rep ProductsReport
	b, err := os.ReadFile(filepath.Join(report, ProductsFile))
	if err == nil {
		err = json.Unmarshal(b, &rep)
	}
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Quantiles.Methods
	t.Logf("methods %+v; terciles %+v", m, rep.Quantiles.ZTerciles)
	if len(m) != 3 || m[0].Name != methodVolZ || m[1].Name != methodVolZTerciles || m[2].Name != methodPinball {
		t.Fatalf("methods %+v", m)
	}
	want := m[0]
	for _, c := range m {
		if !(c.ValidLoss > 0) || !(c.TestLoss > 0) {
			t.Fatalf("method %+v", c)
		}
		if c.ValidLoss < want.ValidLoss {
			want = c
		}
	}
	// In-sample, z per tercile is the pinball minimizer of each tercile's rows: never above one z for all.
	if m[1].ValidLoss > m[0].ValidLoss {
		t.Errorf("vol-z-terciles validation loss above vol-z's: %+v", m)
	}
	if rep.Quantiles.Method != want.Name {
		t.Errorf("method %s, want %s (%+v)", rep.Quantiles.Method, want.Name, m)
	}
	_, rows, err := readProducts(report, sp.Final.Test.Len())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !(r.Q10 <= r.Q50 && r.Q50 <= r.Q90) {
			t.Fatalf("crossing quantiles %+v", r)
		}
	}
}

// fitVolZTerciles on a synthetic fixture: σ̂ 1…3n (three terciles of n rows)
// and r/σ̂ widening with the tercile, spread 1, 2, 3: the cuts fall between
// the terciles, each tercile's z's are its own rows' quantiles, and a
// tercile under minTercileRows rows (σ̂ tied at the top cut) takes the
// global z's.
func TestFitVolZTerciles(t *testing.T) {
	n := minTercileRows
	sigma, std := make([]float64, 3*n), make([]float64, 3*n)
	for i := range sigma {
		g := i / n
		sigma[i], std[i] = float64(i+1), float64(g+1)*(float64(i%n)/float64(n-1)-0.5)
	}
	global := ml.EmpiricalQuantiles(std, ml.QuantileLevels)
	v, rows := fitVolZTerciles(sigma, std, global)
	if rows != [3]int{n, n, n} || !(v.Cut[0] >= float64(n) && v.Cut[0] < float64(n+1)) || !(v.Cut[1] >= float64(2*n) && v.Cut[1] < float64(2*n+1)) {
		t.Fatalf("cuts %v rows %v", v.Cut, rows)
	}
	for g := range 3 {
		want := ml.EmpiricalQuantiles(std[g*n:(g+1)*n], ml.QuantileLevels)
		if v.Z[g] != [3]float64(want) {
			t.Errorf("tercile %d: z %v, want %v", g, v.Z[g], want)
		}
	}
	// σ̂ tied: the top third equal to the middle's highest value falls in the middle tercile.
	for i := 2 * n; i < 3*n; i++ {
		sigma[i] = float64(2 * n)
	}
	v, rows = fitVolZTerciles(sigma, std, global)
	if rows != [3]int{n, 2 * n, 0} || v.Z[2] != [3]float64(global) || v.Z[0] == [3]float64(global) {
		t.Errorf("tied: rows %v, z %v (global %v)", rows, v.Z, global)
	}
}
