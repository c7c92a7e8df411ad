package ml

import (
	"math"
	"testing"
	"time"
)

// realCloses returns the closes of the 90 real ETH/USDT days, checking the
// grid is gap-free: the targets index candles, not times.
func realCloses(t *testing.T) []float64 {
	t.Helper()
	candles := loadCandles(t, binanceETH, "ETH/USDT", 0)
	closes := make([]float64, len(candles))
	for i, k := range candles {
		closes[i] = k.Close
		if i > 0 && k.End.Sub(candles[i-1].End) != time.Minute {
			t.Fatalf("gap before candle %d (%s)", i, k.End)
		}
	}
	return closes
}

// rowsOf returns v[lo:hi] for the test rows.
func rowsOf(v []float64, lo, hi int) []float64 { return v[lo:hi:hi] }

func TestForecastBaselinesRealData(t *testing.T) {
	// Real data: 70/30 time split; train rows end h candles before the first
	// test row, so no training target overlaps a test target; the first day
	// warms up the longest HAR window. Sanity only: measured figures logged.
	closes := realCloses(t)
	c := SquaredReturnSums(closes)
	n, warm := len(closes), 1440
	cut := n * 7 / 10
	for _, h := range []int{5, 60} {
		lo, hi := cut, n-h // test rows
		har, err := FitHAR(c, h, HARWindows(h), warm, cut-h+1)
		if err != nil {
			t.Fatal(err)
		}
		y := rowsOf(FutureVol(c, h), lo, hi)
		lw, ew := rowsOf(LastWindowVol(c, h), lo, hi), rowsOf(EWMAVol(c, h, RiskMetricsLambda), lo, hi)
		hv := rowsOf(har.Predict(c), lo, hi)
		mLW, mEW, mHAR := Mean(AbsErrors(lw, y)), Mean(AbsErrors(ew, y)), Mean(AbsErrors(hv, y))
		if !(mHAR <= mLW) || !isFinite(mEW) || !isFinite(Mean(QLIKELosses(ew, y))) {
			t.Errorf("h=%d: MAE HAR %.4g, last RV %.4g, EWMA %.4g", h, mHAR, mLW, mEW)
		}
		t.Logf("h=%d: %d train rows, %d test rows; HAR coef %.4g", h, cut-h+1-warm, hi-lo, har.Coef)
		t.Logf("h=%d vol MAE: last RV %.4g, EWMA %.4g, HAR %.4g; QLIKE: %.4f, %.4f, %.4f", h, mLW, mEW, mHAR,
			Mean(QLIKELosses(lw, y)), Mean(QLIKELosses(ew, y)), Mean(QLIKELosses(hv, y)))
		checkSkillRealData(t, h, AbsErrors(hv, y), AbsErrors(lw, y))
		checkQuantilesRealData(t, closes, hv, h, warm, cut, lo, hi)
		logDirectionRealData(t, closes, h, warm, cut, lo, hi)
	}
}

// checkSkillRealData bootstraps HAR's MAE skill over last-window RV with
// one-day blocks and runs the DM test beside it.
func checkSkillRealData(t *testing.T, h int, harLoss, lwLoss []float64) {
	t.Helper()
	ci, err := SkillBootstrap{Block: 1440, Horizon: h, Seed: 1}.Skill(harLoss, lwLoss)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := DieboldMariano(harLoss, lwLoss, h-1)
	if err != nil {
		t.Fatal(err)
	}
	if !(ci.Lo <= ci.Skill && ci.Skill <= ci.Hi) || !isFinite(dm.Stat) {
		t.Errorf("h=%d: skill %+v, DM %+v", h, ci, dm)
	}
	t.Logf("h=%d HAR vs last RV: MAE skill %+.2f%% [%+.2f%%, %+.2f%%] (n %d); DM stat %.2f p %.2g",
		h, 100*ci.Skill, 100*ci.Lo, 100*ci.Hi, ci.N, dm.Stat, dm.P)
}

// checkQuantilesRealData scores HAR-Gaussian and unconditional quantiles.
func checkQuantilesRealData(t *testing.T, closes, harVol []float64, h, warm, cut, lo, hi int) {
	t.Helper()
	ret := FutureReturn(closes, h)
	train, y := ret[warm:cut-h+1], rowsOf(ret, lo, hi)
	gauss := GaussianQuantiles(0, harVol, QuantileLevels)
	uq := EmpiricalQuantiles(train, QuantileLevels)
	uncond := make([][]float64, len(uq))
	for j, q := range uq {
		uncond[j] = make([]float64, len(y))
		for i := range y {
			uncond[j][i] = q
		}
	}
	gRows, gLevels := PinballLosses(gauss, y, QuantileLevels)
	uRows, _ := PinballLosses(uncond, y, QuantileLevels)
	cov := Coverage(gauss[0], gauss[2], y)
	byPred, _ := TercileCoverage(gauss[0], gauss[2], y, harVol)
	byReal, _ := TercileCoverage(gauss[0], gauss[2], y, rowsOf(FutureVol(SquaredReturnSums(closes), h), lo, hi))
	if !(cov >= 0.6 && cov <= 0.95) {
		t.Errorf("h=%d: HAR-Gaussian 10–90%% band covers %.3f", h, cov)
	}
	t.Logf("h=%d pinball: HAR-Gaussian %.4g %.4g, unconditional %.4g; band coverage %.3f (uncond %.3f); by HAR-vol tercile %.3f; by realized-vol tercile %.3f",
		h, Mean(gRows), gLevels, Mean(uRows), cov, Coverage(uncond[0], uncond[2], y), byPred, byReal)
}

// logDirectionRealData scores climatology and a momentum sign on the fee
// curve (validation = the last 15% of the training rows).
func logDirectionRealData(t *testing.T, closes []float64, h, warm, cut, lo, hi int) {
	t.Helper()
	labels := DirectionLabels(closes, h)
	clim := Climatology(labels[warm : cut-h+1])
	p := make([]float64, hi-lo)
	for i := range p {
		p[i] = clim
	}
	s := ScoreDirections(p, labels[lo:hi])
	if !(s.TieShare >= 0 && s.TieShare < 1) || !isFinite(s.Brier) {
		t.Errorf("h=%d direction %+v", h, s)
	}
	past := make([]float64, len(closes)) // momentum: the last h-candle return
	for i := h; i < len(closes); i++ {
		past[i] = math.Log(closes[i] / closes[i-h])
	}
	ret, v := FutureReturn(closes, h), cut-(cut-warm)*15/100
	pts := FeeCurve{Horizon: h}.Run(past[v:cut-h+1], ret[v:cut-h+1], past[lo:hi], ret[lo:hi])
	low, high, ok := Pays(pts)
	t.Logf("h=%d climatology p_up %.4f: Brier %.5f log loss %.5f on %d rows, ties %.2f%%; momentum fee curve 0 bps PnL %.4f (%d trades), pays %v [%v, %v] bps",
		h, clim, s.Brier, s.LogLoss, s.N, 100*s.TieShare, pts[0].Test.PnL, pts[0].Test.Trades, ok, low, high)
}
