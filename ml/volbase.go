package ml

import (
	"fmt"
	"math"
	"slices"

	"github.com/tickcast/tickcast/market"
)

// Vol baseline names, as reports and the registry show them.
const (
	BaselineLastRV = "last-rv"
	BaselineEWMA   = "ewma"
	BaselineHAR    = "har-rv"
)

// RiskMetricsLambda is the RiskMetrics decay for daily data, used here on
// 1-candle returns as the issue asks.
const RiskMetricsLambda = 0.94

// LastWindowVol predicts the next h candles' volatility by the last h's:
// same window length, so already on the target's scale.
func LastWindowVol(c []float64, h int) []float64 { return PastVol(c, h) }

// EWMAVol is the RiskMetrics forecast √(h·σ²_t), σ²_t = λσ²_{t−1} + (1−λ)r_t²
// started at σ²_1 = r_1²: it fits nothing, so it needs no training rows, and
// it reads only returns up to t. The start is crude; callers should skip the
// first few dozen rows (any HAR warm-up does).
func EWMAVol(c []float64, h int, lambda float64) []float64 {
	out := make([]float64, len(c))
	if len(c) > 0 {
		out[0] = math.NaN()
	}
	var s float64
	for t := 1; t < len(c); t++ {
		r2 := c[t] - c[t-1]
		s = lambda*s + (1-lambda)*r2
		if t == 1 {
			s = r2
		}
		out[t] = math.Sqrt(float64(h) * s)
	}
	return out
}

// HARWindows returns the HAR regressor windows for 1-minute candles: the
// last h candles, 1 hour, 4 hours and 1 day, each once.
func HARWindows(h int) []int {
	w := []int{h, 60, 240, 1440}
	slices.Sort(w)
	return slices.Compact(w)
}

// HAR is an OLS fit of the vol target on past realized vols. Regressor j is
// RV over the last Windows[j] candles scaled by √(h/w) to the target's
// horizon, so the coefficients read as weights (they sum to about 1).
type HAR struct {
	H       int
	Windows []int
	Coef    []float64 // intercept, then one per window
}

// FitHAR fits the HAR on the as-of rows t in [lo, hi) that have every window
// and a target. Targets of rows near hi reach h candles past it: the caller
// purges before validation/test rows, as WalkForward does.
func FitHAR(c []float64, h int, windows []int, lo, hi int) (HAR, error) {
	m := HAR{H: h, Windows: windows, Coef: make([]float64, len(windows)+1)}
	if h < 1 || slices.ContainsFunc(windows, func(w int) bool { return w < 1 }) {
		return m, fmt.Errorf("fit HAR h=%d windows %v: horizon and windows must be ≥ 1: %w", h, windows, market.ErrInvalid)
	}
	k := len(m.Coef)
	xtx, xty, x := make([]float64, k*k), make([]float64, k), make([]float64, k)
	n := 0
	for t := max(lo, m.warmup()); t < hi && t+h < len(c); t++ {
		m.regressors(c, t, x)
		y := rvBetween(c, t, t+h)
		for i := range k {
			xty[i] += x[i] * y
			for j := range k {
				xtx[i*k+j] += x[i] * x[j]
			}
		}
		n++
	}
	if n < 2*k {
		return m, fmt.Errorf("fit HAR h=%d: %d usable rows in [%d,%d): %w", h, n, lo, hi, market.ErrInvalid)
	}
	if err := solveSPD(xtx, xty, m.Coef); err != nil {
		return m, fmt.Errorf("fit HAR h=%d windows %v: %w", h, windows, err)
	}
	return m, nil
}

// warmup is the first row that has every window.
func (m HAR) warmup() int {
	w := 0
	for _, v := range m.Windows {
		w = max(w, v)
	}
	return w
}

// regressors fills x with 1 and the scaled past vols at t.
func (m HAR) regressors(c []float64, t int, x []float64) {
	x[0] = 1
	for j, w := range m.Windows {
		x[j+1] = rvBetween(c, t-w, t) * math.Sqrt(float64(m.H)/float64(w))
	}
}

// Predict returns the fitted vol at every row, NaN before the longest
// window; a negative fit (possible with an intercept) is clamped to 0.
func (m HAR) Predict(c []float64) []float64 {
	out := make([]float64, len(c))
	x := make([]float64, len(m.Coef))
	warm := m.warmup()
	for t := range out {
		out[t] = math.NaN()
		if t < warm {
			continue
		}
		m.regressors(c, t, x)
		var v float64
		for i, b := range m.Coef {
			v += b * x[i]
		}
		out[t] = max(v, 0)
	}
	return out
}

// solveSPD solves a·x = b for a symmetric positive definite k×k a (row-major)
// by Cholesky after scaling a to a unit diagonal: the intercept column is 1
// while past vols are ~1e-3, and unscaled normal equations lose digits.
// a and b are overwritten.
func solveSPD(a, b, x []float64) error {
	k := len(b)
	d := make([]float64, k)
	for i := range k {
		if !(a[i*k+i] > 0) {
			return fmt.Errorf("singular normal equations (column %d): %w", i, market.ErrInvalid)
		}
		d[i] = 1 / math.Sqrt(a[i*k+i])
	}
	for i := range k {
		b[i] *= d[i]
		for j := range k {
			a[i*k+j] *= d[i] * d[j]
		}
	}
	if err := cholesky(a, k); err != nil {
		return err
	}
	cholSolve(a, k, b)
	for i := range k {
		x[i] = b[i] * d[i]
	}
	return nil
}

// cholesky overwrites the lower triangle of a with L, a = L·Lᵀ.
func cholesky(a []float64, k int) error {
	for j := range k {
		s := a[j*k+j]
		for p := range j {
			s -= a[j*k+p] * a[j*k+p]
		}
		if !(s > 1e-12) {
			return fmt.Errorf("collinear regressors (pivot %d = %g): %w", j, s, market.ErrInvalid)
		}
		a[j*k+j] = math.Sqrt(s)
		for i := j + 1; i < k; i++ {
			v := a[i*k+j]
			for p := range j {
				v -= a[i*k+p] * a[j*k+p]
			}
			a[i*k+j] = v / a[j*k+j]
		}
	}
	return nil
}

// cholSolve solves L·Lᵀ·x = b in place.
func cholSolve(l []float64, k int, b []float64) {
	for i := range k {
		for p := range i {
			b[i] -= l[i*k+p] * b[p]
		}
		b[i] /= l[i*k+i]
	}
	for i := k - 1; i >= 0; i-- {
		for p := i + 1; p < k; p++ {
			b[i] -= l[p*k+i] * b[p]
		}
		b[i] /= l[i*k+i]
	}
}
