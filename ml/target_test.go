package ml

import (
	"math"
	"slices"
	"testing"
)

// expCloses returns closes e^{cum} so the 1-candle log returns are exactly r.
func expCloses(r ...float64) []float64 {
	c, cum := []float64{1}, 0.0
	for _, v := range r {
		cum += v
		c = append(c, math.Exp(cum))
	}
	return c
}

func nearAll(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range want {
		if !near(got[i], want[i], tol) {
			t.Errorf("%s[%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

func TestTargetsHandWorked(t *testing.T) {
	// Hand-made fixture: returns 0.1, 0.2, 0, −0.1, so r² = .01, .04, 0, .01.
	closes := expCloses(0.1, 0.2, 0, -0.1)
	c := SquaredReturnSums(closes)
	nan := math.NaN()
	nearAll(t, "sums", c, []float64{0, 0.01, 0.05, 0.05, 0.06}, 1e-12)
	nearAll(t, "FutureVol h=2", FutureVol(c, 2), []float64{math.Sqrt(0.05), 0.2, 0.1, nan, nan}, 1e-12)
	nearAll(t, "PastVol w=2", PastVol(c, 2), []float64{nan, nan, math.Sqrt(0.05), 0.2, 0.1}, 1e-12)
	nearAll(t, "LastWindowVol h=1", LastWindowVol(c, 1), []float64{nan, 0.1, 0.2, 0, 0.1}, 1e-12)
	nearAll(t, "FutureReturn h=2", FutureReturn(closes, 2), []float64{0.3, 0.2, -0.1, nan, nan}, 1e-12)
	for _, tc := range []struct {
		h    int
		want []Dir
	}{
		{1, []Dir{DirUp, DirUp, DirTie, DirDown, DirNone}},
		{2, []Dir{DirUp, DirUp, DirDown, DirNone, DirNone}},
		{5, []Dir{DirNone, DirNone, DirNone, DirNone, DirNone}},
	} {
		if got := DirectionLabels(closes, tc.h); !slices.Equal(got, tc.want) {
			t.Errorf("DirectionLabels h=%d = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestDirectionLabelsComparesCloses(t *testing.T) {
	// Hand-made fixture: two adjacent doubles differ, though their log ratio is tiny.
	a := 1.0
	b := math.Nextafter(a, 2)
	if got := DirectionLabels([]float64{a, b, b}, 1); !slices.Equal(got, []Dir{DirUp, DirTie, DirNone}) {
		t.Errorf("got %v", got)
	}
}
