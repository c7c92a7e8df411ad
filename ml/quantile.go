package ml

import (
	"math"
	"slices"
)

// Quantile baseline names.
const (
	BaselineUncondQuantiles = "uncond-quantiles"
	BaselineHARGaussian     = "har-gaussian"
)

// QuantileLevels are the served levels: p10, p50, p90, a central 80% band.
var QuantileLevels = []float64{0.1, 0.5, 0.9}

// NormCDF is the standard normal distribution function.
func NormCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// Acklam's rational approximation of the inverse normal CDF (relative error
// 1.15e-9), refined below by one Halley step to near machine precision.
var (
	acklamA = [6]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	acklamB = [5]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	acklamC = [6]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	acklamD = [4]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
)

// NormInv is the standard normal quantile function: −Inf at 0, +Inf at 1,
// NaN outside [0, 1]. The upper half is −NormInv(1−p): 1−p is exact there,
// while Φ(x) − p near 1 would cancel in the refinement.
func NormInv(p float64) float64 {
	switch {
	case !(p >= 0 && p <= 1):
		return math.NaN()
	case p > 0.5:
		return -NormInv(1 - p)
	case p == 0:
		return math.Inf(-1)
	}
	x := acklam(p)
	e := NormCDF(x) - p // Halley step
	u := e * math.Sqrt(2*math.Pi) * math.Exp(x*x/2)
	if !isFinite(u) { // p in the subnormals: exp overflows
		return x
	}
	return x - u/(1+x*u/2)
}

// acklam approximates Φ⁻¹(p) for 0 < p ≤ 0.5.
func acklam(p float64) float64 {
	const pLow = 0.02425
	a, b, c, d := acklamA, acklamB, acklamC, acklamD
	if p < pLow {
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) /
			((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	}
	q := p - 0.5
	r := q * q
	return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q /
		(((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
}

// GaussianQuantiles returns q[j][t] = mean + vol[t]·Φ⁻¹(levels[j]): the
// HAR-Gaussian baseline with vol the HAR prediction and mean 0 or the
// training mean of the h-candle return.
func GaussianQuantiles(mean float64, vol, levels []float64) [][]float64 {
	q := make([][]float64, len(levels))
	for j, tau := range levels {
		z := NormInv(tau)
		q[j] = make([]float64, len(vol))
		for t, s := range vol {
			q[j][t] = mean + s*z
		}
	}
	return q
}

// EmpiricalQuantiles returns the quantiles of the finite values of train
// (linear interpolation between order statistics): the unconditional
// baseline, one constant per level. NaN when train has no finite value.
func EmpiricalQuantiles(train, levels []float64) []float64 {
	s := make([]float64, 0, len(train))
	for _, v := range train {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			s = append(s, v)
		}
	}
	slices.Sort(s)
	out := make([]float64, len(levels))
	for j, tau := range levels {
		out[j] = math.NaN()
		if len(s) > 0 {
			out[j] = quantile(s, tau)
		}
	}
	return out
}

// Pinball is the quantile (check) loss of predicting q for y at level tau.
func Pinball(q, y, tau float64) float64 {
	d := y - q
	if d >= 0 {
		return tau * d
	}
	return (tau - 1) * d
}

// PinballLosses scores q[j][t] against y[t] at levels[j]: rows[t] is the mean
// over levels (the per-row loss the bootstrap and DM test pair), perLevel[j]
// the mean over rows; their overall mean is the gate metric.
func PinballLosses(q [][]float64, y, levels []float64) (rows, perLevel []float64) {
	rows, perLevel = make([]float64, len(y)), make([]float64, len(levels))
	for j, tau := range levels {
		for t, v := range y {
			l := Pinball(q[j][t], v, tau)
			rows[t] += l / float64(len(levels))
			perLevel[j] += l / float64(len(y))
		}
	}
	return rows, perLevel
}

// Coverage is the share of rows with lo[t] ≤ y[t] ≤ hi[t]; NaN without rows.
func Coverage(lo, hi, y []float64) float64 {
	in := 0
	for t, v := range y {
		if v >= lo[t] && v <= hi[t] {
			in++
		}
	}
	return float64(in) / float64(len(y))
}

// TercileCoverage is band coverage per tercile of by[t] (finite; cut at its
// 1/3 and 2/3 quantiles over these rows; rows at a cut go to the lower one).
// Pass a predicted vol (the HAR's, the same for every model compared):
// terciles of the realized vol condition on the outcome, and even a perfectly
// calibrated band under-covers in the top realized tercile, where |y| is large
// because the realized vol is.
func TercileCoverage(lo, hi, y, by []float64) (cov [3]float64, n [3]int) {
	s := slices.Clone(by)
	slices.Sort(s)
	var in [3]int
	if len(s) == 0 {
		return [3]float64{math.NaN(), math.NaN(), math.NaN()}, n
	}
	c1, c2 := quantile(s, 1.0/3), quantile(s, 2.0/3)
	for t, v := range y {
		g := 2
		if by[t] <= c1 {
			g = 0
		} else if by[t] <= c2 {
			g = 1
		}
		n[g]++
		if v >= lo[t] && v <= hi[t] {
			in[g]++
		}
	}
	for g := range cov {
		cov[g] = float64(in[g]) / float64(n[g])
	}
	return cov, n
}
