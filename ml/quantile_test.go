package ml

import (
	"math"
	"testing"
)

func TestNormInvKnownValues(t *testing.T) {
	// Reference values of Φ⁻¹ from Python's statistics.NormalDist (Wichura's AS241).
	for _, tc := range []struct{ p, want float64 }{
		{0.5, 0}, {0.975, 1.959963984540054}, {0.025, -1.959963984540054},
		{0.1, -1.2815515655446004}, {0.9, 1.2815515655446004},
		{0.8413447460685429, 1}, {0.02425, -1.9729610513118845},
		{1e-10, -6.361340902404056}, {1 - 1e-10, 6.361340889697422},
	} {
		if got := NormInv(tc.p); !near(got, tc.want, 1e-14*max(1, math.Abs(tc.want))) {
			t.Errorf("NormInv(%v) = %.16g, want %.16g", tc.p, got, tc.want)
		}
	}
	for _, tc := range []struct{ p, want float64 }{{0, math.Inf(-1)}, {1, math.Inf(1)}, {-0.1, math.NaN()}, {1.5, math.NaN()}, {math.NaN(), math.NaN()}} {
		if got := NormInv(tc.p); !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("NormInv(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestNormInvRoundTrip(t *testing.T) {
	// Φ(Φ⁻¹(p)) = p across both tails and the centre, subnormals included.
	for _, p := range []float64{5e-324, 1e-300, 1e-20, 1e-5, 0.0242, 0.0243, 0.3, 0.5, 0.7, 0.9757, 1 - 1e-9} {
		x := NormInv(p)
		if got := NormCDF(x); math.Abs(got-p) > 1e-12*p+1e-300 && p > 1e-300 {
			t.Errorf("Φ(Φ⁻¹(%g)) = %g (x = %v)", p, got, x)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Errorf("Φ⁻¹(%g) = %v", p, x)
		}
	}
	if got := NormCDF(1.959963984540054); !near(got, 0.975, 1e-15) {
		t.Errorf("NormCDF(1.96) = %v", got)
	}
}

func TestGaussianQuantiles(t *testing.T) {
	// Hand-made fixture: mean .001, vols .01 and .02, levels .5 and .975.
	q := GaussianQuantiles(0.001, []float64{0.01, 0.02}, []float64{0.5, 0.975})
	z := 1.959963984540054
	nearAll(t, "p50", q[0], []float64{0.001, 0.001}, 1e-15)
	nearAll(t, "p97.5", q[1], []float64{0.001 + 0.01*z, 0.001 + 0.02*z}, 1e-14)
}

func TestEmpiricalQuantiles(t *testing.T) {
	// Hand-made fixture: finite values 1…4 (NaN, Inf dropped); linear
	// interpolation at positions .3, 1.5, 2.7.
	got := EmpiricalQuantiles([]float64{3, 1, math.NaN(), 2, math.Inf(1), 4}, QuantileLevels)
	nearAll(t, "quantiles", got, []float64{1.3, 2.5, 3.7}, 1e-12)
	nearAll(t, "empty", EmpiricalQuantiles(nil, []float64{0.5}), []float64{math.NaN()}, 0)
}

func TestPinball(t *testing.T) {
	// Hand-made fixtures.
	for _, tc := range []struct{ q, y, tau, want float64 }{
		{1, 3, 0.1, 0.2}, {1, -1, 0.1, 1.8}, {1, 3, 0.9, 1.8}, {1, -1, 0.9, 0.2}, {2, 2, 0.5, 0},
	} {
		if got := Pinball(tc.q, tc.y, tc.tau); !near(got, tc.want, 1e-12) {
			t.Errorf("Pinball(%v,%v,%v) = %v, want %v", tc.q, tc.y, tc.tau, got, tc.want)
		}
	}
	// Levels .1 (q = 0) and .9 (q = 1), y = 0 and 2:
	// row 0: 0 and .1 → .05; row 1: .2 and .9 → .55; per level .1 and .5.
	rows, per := PinballLosses([][]float64{{0, 0}, {1, 1}}, []float64{0, 2}, []float64{0.1, 0.9})
	nearAll(t, "rows", rows, []float64{0.05, 0.55}, 1e-12)
	nearAll(t, "per level", per, []float64{0.1, 0.5}, 1e-12)
}

func TestCoverage(t *testing.T) {
	// Hand-made fixture: band [−1, 1], bounds inclusive: 0 and 1 in, 2 and −1.5 out.
	lo, hi := []float64{-1, -1, -1, -1}, []float64{1, 1, 1, 1}
	if got := Coverage(lo, hi, []float64{0, 1, 2, -1.5}); got != 0.5 {
		t.Errorf("coverage %v, want 0.5", got)
	}
	if got := Coverage(nil, nil, nil); !math.IsNaN(got) {
		t.Errorf("coverage of no rows %v, want NaN", got)
	}
	// Terciles of by = 1…6 cut at 2.67 and 4.33: rows {0,1}, {2,3}, {4,5};
	// in/out: in out | in in | out out.
	lo, hi = []float64{0, 0, 0, 0, 0, 0}, []float64{1, 1, 1, 1, 1, 1}
	cov, n := TercileCoverage(lo, hi, []float64{0.5, 2, 0.1, 0.9, -1, 3}, []float64{1, 2, 3, 4, 5, 6})
	if cov != [3]float64{0.5, 1, 0} || n != [3]int{2, 2, 2} {
		t.Errorf("terciles %v n %v, want [.5 1 0] [2 2 2]", cov, n)
	}
}
