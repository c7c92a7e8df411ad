package ml

import (
	"errors"
	"math"
	"testing"

	"github.com/tickcast/tickcast/market"
)

func TestDieboldMarianoHandWorked(t *testing.T) {
	// Hand-made fixture: d = 1, 2, 3, 4; mean 2.5, γ0 = 5/4, γ1 = 1.25/4.
	// Lag 0: var 1.25/4, stat √20. Lag 1: LRV = γ0 + 2·½·γ1 = 1.5625, var
	// .390625, stat 4, p = 2Φ(−4).
	model, base := []float64{1, 2, 3, 4}, []float64{0, 0, 0, 0}
	for _, tc := range []struct {
		lag     int
		stat, p float64
	}{
		{0, math.Sqrt(20), math.Erfc(math.Sqrt(10))},
		{1, 4, 6.334248366623996e-05},
	} {
		got, err := DieboldMariano(model, base, tc.lag)
		if err != nil {
			t.Fatal(err)
		}
		if got.MeanDiff != 2.5 || got.N != 4 || got.Lag != tc.lag || !near(got.Stat, tc.stat, 1e-12) || !near(got.P, tc.p, 1e-15) {
			t.Errorf("lag %d: %+v, want stat %v p %v", tc.lag, got, tc.stat, tc.p)
		}
	}
	// The sign follows the model: negative when it loses less.
	if got, _ := DieboldMariano(base, model, 1); got.Stat != -4 {
		t.Errorf("reversed stat %v, want −4", got.Stat)
	}
}

func TestDieboldMarianoDegenerate(t *testing.T) {
	// Hand-made fixtures: equal losses (p 1), a constant differential (p 0),
	// a lag beyond the rows (capped at n−1), and unpaired losses.
	if got, _ := DieboldMariano([]float64{1, 2}, []float64{1, 2}, 0); got.Stat != 0 || got.P != 1 {
		t.Errorf("equal losses %+v", got)
	}
	if got, _ := DieboldMariano([]float64{2, 3}, []float64{1, 2}, 0); !math.IsInf(got.Stat, 1) || got.P != 0 {
		t.Errorf("constant differential %+v", got)
	}
	if got, _ := DieboldMariano([]float64{1, 2}, []float64{0, 0}, 5); got.Lag != 1 {
		t.Errorf("lag %d, want 1", got.Lag)
	}
	if _, err := DieboldMariano([]float64{1}, []float64{1, 2}, 0); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("unpaired: err %v", err)
	}
}
