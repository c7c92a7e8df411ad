package ml

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/tickcast/tickcast/market"
)

func TestEWMAVolHandWorked(t *testing.T) {
	// Hand-made fixture: r² = .01, .04, 0, .01 with λ = 0.5 and h = 4:
	// σ² = .01, .025, .0125, .01125, forecast √(4σ²).
	c := SquaredReturnSums(expCloses(0.1, 0.2, 0, -0.1))
	want := []float64{math.NaN(), 0.2, math.Sqrt(0.1), math.Sqrt(0.05), math.Sqrt(0.045)}
	nearAll(t, "EWMA", EWMAVol(c, 4, 0.5), want, 1e-12)
	if got := EWMAVol(nil, 1, RiskMetricsLambda); len(got) != 0 {
		t.Errorf("EWMA of nothing = %v", got)
	}
}

func TestHARWindows(t *testing.T) {
	for _, tc := range []struct {
		h    int
		want []int
	}{
		{1, []int{1, 60, 240, 1440}}, {5, []int{5, 60, 240, 1440}},
		{60, []int{60, 240, 1440}}, {1440, []int{60, 240, 1440}},
	} {
		if got := HARWindows(tc.h); !slices.Equal(got, tc.want) {
			t.Errorf("HARWindows(%d) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestFitHARHandWorked(t *testing.T) {
	// Hand-made fixture: |r| = .01, .02, .03, .04, .05 (alternating signs), so
	// with h = 1 and one window of 1 the target |r_{t+1}| = .01 + |r_t| exactly
	// on rows 1…4: intercept .01, slope 1; at row 5 the fit says .06.
	c := SquaredReturnSums(expCloses(0.01, -0.02, 0.03, -0.04, 0.05))
	m, err := FitHAR(c, 1, []int{1}, 0, len(c))
	if err != nil {
		t.Fatal(err)
	}
	nearAll(t, "coef", m.Coef, []float64{0.01, 1}, 1e-9)
	nan := math.NaN()
	nearAll(t, "predict", m.Predict(c), []float64{nan, 0.02, 0.03, 0.04, 0.05, 0.06}, 1e-9)

	// Training rows [0, 3) see rows 1 and 2 only: too few for 2 coefficients.
	if _, err := FitHAR(c, 1, []int{1}, 0, 3); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("2 rows: err %v, want ErrInvalid", err)
	}
	for _, bad := range []struct{ h, w int }{{0, 1}, {1, 0}} {
		if _, err := FitHAR(c, bad.h, []int{bad.w}, 0, len(c)); !errors.Is(err, market.ErrInvalid) {
			t.Errorf("h=%d window %d: err %v, want ErrInvalid", bad.h, bad.w, err)
		}
	}
}

func TestFitHARScalesWindowsToHorizon(t *testing.T) {
	// Hand-made fixture: |r| constant in pairs (.01,.01,.02,.02,…) so the
	// 2-candle RV √2·|r| scaled by √(1/2) equals |r| again; h = 1.
	r := []float64{0.01, -0.01, 0.02, -0.02, 0.03, -0.03, 0.04, -0.04}
	c := SquaredReturnSums(expCloses(r...))
	m, err := FitHAR(c, 1, []int{2}, 0, len(c))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 2)
	m.regressors(c, 2, x) // returns .01, .01 → RV √2·.01 → scaled .01
	nearAll(t, "regressors at 2", x, []float64{1, 0.01}, 1e-12)
}

func TestFitHARRejectsCollinear(t *testing.T) {
	// Hand-made fixture: constant |r|: the past vol is the intercept column.
	c := SquaredReturnSums(expCloses(0.01, -0.01, 0.01, -0.01, 0.01, -0.01, 0.01))
	if _, err := FitHAR(c, 1, []int{1}, 0, len(c)); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("err %v, want ErrInvalid", err)
	}
}

func TestSolveSPD(t *testing.T) {
	// Hand-made fixture: [[4,2],[2,3]]·x = [6,5] has x = [1,1].
	x := make([]float64, 2)
	if err := solveSPD([]float64{4, 2, 2, 3}, []float64{6, 5}, x); err != nil {
		t.Fatal(err)
	}
	nearAll(t, "x", x, []float64{1, 1}, 1e-12)
	if err := solveSPD([]float64{1, 1, 1, 1}, []float64{1, 1}, x); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("singular: err %v", err)
	}
}
