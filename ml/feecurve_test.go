package ml

import (
	"math"
	"testing"
)

func TestThresholdBacktestHandWorked(t *testing.T) {
	// Hand-made fixture: threshold .008, fee .001 per side.
	// step 1: long (+.01), flat, short (+.02), long (+.005), closed at the end:
	// 6 sides of fees, 3 trades all winning (.008, .018, .003).
	// step 2: rows 0 and 2 only: long (+.01), short (+.02): 4 sides, 2 trades.
	sig := []float64{0.02, 0.005, -0.03, 0.01}
	real := []float64{0.01, 0.02, -0.02, 0.005}
	for _, tc := range []struct {
		step int
		want Backtest
	}{
		{1, Backtest{PnL: 0.029, Fees: 0.006, HitRate: 1, Turnover: 1.5, Trades: 3, Periods: 4}},
		{2, Backtest{PnL: 0.026, Fees: 0.004, HitRate: 1, Turnover: 2, Trades: 2, Periods: 2}},
	} {
		got := ThresholdBacktest(sig, real, 0.008, 0.001, tc.step)
		if !near(got.PnL, tc.want.PnL, 1e-15) || !near(got.Fees, tc.want.Fees, 1e-15) || got.HitRate != tc.want.HitRate ||
			got.Turnover != tc.want.Turnover || got.Trades != tc.want.Trades || got.Periods != tc.want.Periods {
			t.Errorf("step %d: %+v, want %+v", tc.step, got, tc.want)
		}
	}
	// With the threshold at the fee it is RunBacktest.
	for _, fee := range []float64{0, 0.001, 0.008, 0.05} {
		if a, b := ThresholdBacktest(sig, real, fee, fee, 1), RunBacktest(sig, real, fee, 1); a != b && !(math.IsNaN(a.HitRate) && math.IsNaN(b.HitRate)) {
			t.Errorf("fee %v: %+v vs RunBacktest %+v", fee, a, b)
		}
	}
}

func TestThresholdGrid(t *testing.T) {
	// Hand-made fixture: |signal| 1…4 (NaN dropped); quantiles by linear
	// interpolation: .5 → 2.5, .9 → 3.7, .999 → 3.997.
	g := ThresholdGrid([]float64{-4, 3, math.NaN(), 1, 2})
	if len(g) != 12 || g[0] != 0 || !near(g[1], 2.5, 1e-12) || !near(g[5], 3.7, 1e-12) ||
		!near(g[10], 3.997, 1e-12) || !math.IsInf(g[11], 1) {
		t.Errorf("grid %v", g)
	}
	if g := ThresholdGrid(nil); len(g) != 2 {
		t.Errorf("grid of nothing %v, want [0 +Inf]", g)
	}
}

func TestFeeCurveHandWorked(t *testing.T) {
	// Hand-made fixture: a signal right on every row, flipping every row.
	// Validation returns ±.001: at 0 bps threshold 0 earns .004; at 10 bps it
	// pays 8 sides (.008) for .004, so never trading (threshold 2) wins.
	// Test returns ±.002: 0 bps earns .008 over 4 winning trades; 10 bps stays flat.
	sig := []float64{1, -1, 1, -1}
	fc := FeeCurve{Horizon: 1, FeesBps: []float64{0, 10}, Thresholds: []float64{0, 2}}
	pts := fc.Run(sig, []float64{0.001, -0.001, 0.001, -0.001}, sig, []float64{0.002, -0.002, 0.002, -0.002})
	if len(pts) != 2 {
		t.Fatalf("%d points", len(pts))
	}
	free, paid := pts[0], pts[1]
	if free.Threshold != 0 || !near(free.ValidPnL, 0.004, 1e-15) || !near(free.Test.PnL, 0.008, 1e-15) ||
		free.Test.Trades != 4 || free.Test.HitRate != 1 {
		t.Errorf("0 bps: %+v", free)
	}
	if paid.Threshold != 2 || paid.ValidPnL != 0 || paid.Test.PnL != 0 || paid.Test.Trades != 0 || !math.IsNaN(paid.Test.HitRate) {
		t.Errorf("10 bps: %+v", paid)
	}
	if lo, hi, ok := Pays(pts); !ok || lo != 0 || hi != 0 {
		t.Errorf("Pays = %v %v %v, want 0 0 true", lo, hi, ok)
	}
	// The thresholds come from the validation rows alone: other test rows
	// leave them unchanged.
	other := fc.Run(sig, []float64{0.001, -0.001, 0.001, -0.001}, sig, []float64{-0.5, 0.5, -0.5, 0.5})
	if other[0].Threshold != 0 || other[1].Threshold != 2 {
		t.Errorf("thresholds moved with the test rows: %+v", other)
	}
	if _, _, ok := Pays(other); ok {
		t.Error("a losing curve pays")
	}
	if got := (FeeCurve{Horizon: 1}).Run(sig, sig, sig, sig); len(got) != len(FeeCurveBps) {
		t.Errorf("default fees: %d points", len(got))
	}
}
