package ml

import (
	"math"
	"testing"
)

func TestQLIKEHandWorked(t *testing.T) {
	// Hand-made fixtures: ratio σ²/σ̂² = 1 → 0; 4 → 3 − ln 4; 1/4 → ln 4 − 0.75;
	// a zero realized vol is floored: ratio 1e-12/1e-6.
	for _, tc := range []struct{ pred, real, want float64 }{
		{0.01, 0.01, 0}, {0.01, 0.02, 3 - math.Log(4)}, {0.02, 0.01, math.Log(4) - 0.75},
		{1e-3, 0, 1e-6 - math.Log(1e-6) - 1}, {0, 0, 0},
	} {
		if got := QLIKE(tc.pred, tc.real); !near(got, tc.want, 1e-12) {
			t.Errorf("QLIKE(%v, %v) = %v, want %v", tc.pred, tc.real, got, tc.want)
		}
	}
	// Under-prediction costs more than over-prediction by the same factor.
	if QLIKE(0.01, 0.02) <= QLIKE(0.02, 0.01) {
		t.Error("QLIKE is not asymmetric")
	}
	nearAll(t, "losses", QLIKELosses([]float64{0.01, 0.02}, []float64{0.02, 0.01}),
		[]float64{3 - math.Log(4), math.Log(4) - 0.75}, 1e-12)
}

func TestAbsErrorsAndMean(t *testing.T) {
	// Hand-made fixture.
	e := AbsErrors([]float64{1, 2, 3}, []float64{2, 2, 0})
	nearAll(t, "abs", e, []float64{1, 0, 3}, 0)
	if Mean(e) != 4.0/3 || !math.IsNaN(Mean(nil)) {
		t.Errorf("Mean %v, Mean(nil) %v", Mean(e), Mean(nil))
	}
}
