package ml

import (
	"fmt"
	"math"
)

// DMTest is a Diebold–Mariano test of equal expected loss.
type DMTest struct {
	MeanDiff float64 // mean of loss_model − loss_baseline: negative favours the model
	Stat     float64 // MeanDiff / its Newey–West standard error
	P        float64 // two-sided p-value from the normal distribution
	N, Lag   int
}

// DieboldMariano tests the loss differential d_t = model_t − base_t with a
// Newey–West (Bartlett) long-run variance up to lag autocovariances; pass
// lag = h−1, the dependence overlapping h-candle labels create. Bartlett
// weights keep the variance non-negative, which the truncated kernel of the
// original test does not. Loss differentials of vol forecasts stay
// autocorrelated beyond h−1 (clustering), so read the test beside the
// day-block bootstrap, which does not assume that cut-off.
func DieboldMariano(model, base []float64, lag int) (DMTest, error) {
	if err := checkPaired(model, base); err != nil {
		return DMTest{}, fmt.Errorf("diebold-mariano: %w", err)
	}
	n := len(model)
	t := DMTest{N: n, Lag: min(max(lag, 0), n-1)}
	for i := range n {
		t.MeanDiff += (model[i] - base[i]) / float64(n)
	}
	lrv := t.autocov(model, base, 0)
	for k := 1; k <= t.Lag; k++ {
		lrv += 2 * (1 - float64(k)/float64(t.Lag+1)) * t.autocov(model, base, k)
	}
	t.Stat = dmStat(t.MeanDiff, lrv/float64(n))
	t.P = 2 * NormCDF(-math.Abs(t.Stat))
	return t, nil
}

// autocov is the lag-k autocovariance of the differential, divided by n.
func (t DMTest) autocov(model, base []float64, k int) float64 {
	var s float64
	for i := k; i < t.N; i++ {
		s += (model[i] - base[i] - t.MeanDiff) * (model[i-k] - base[i-k] - t.MeanDiff)
	}
	return s / float64(t.N)
}

// dmStat is mean/√variance, with a zero variance read as: no difference at
// all (0) or a difference on every row alike (±Inf).
func dmStat(mean, variance float64) float64 {
	if variance > 0 {
		return mean / math.Sqrt(variance)
	}
	if mean == 0 {
		return 0
	}
	return math.Copysign(math.Inf(1), mean)
}
