package ml

import "math"

// QLIKEFloor is the smallest variance QLIKE uses, for both the realized and
// the predicted one: (1e-6)², a volatility of 0.01 bp, well below one price
// tick. A zero realized vol (unchanged closes for h candles, common at h = 1)
// would otherwise give an infinite loss; with the floor it gives a large,
// finite one, so QLIKE at h = 1 is dominated by such rows: read it at h ≥ 5.
const QLIKEFloor = 1e-12

// QLIKE is σ²/σ̂² − ln(σ²/σ̂²) − 1 for realized vol σ and predicted vol σ̂,
// on floored variances: 0 for a perfect forecast, and under-prediction costs
// more than over-prediction. It ranks forecasts of the variance consistently
// even when the realized variance is a noisy proxy (Patton 2011).
func QLIKE(pred, realized float64) float64 {
	r := max(realized*realized, QLIKEFloor) / max(pred*pred, QLIKEFloor)
	return r - math.Log(r) - 1
}

// AbsErrors returns |pred[t] − y[t]| per row, the losses behind MAE.
func AbsErrors(pred, y []float64) []float64 {
	out := make([]float64, len(y))
	for t, v := range y {
		out[t] = math.Abs(pred[t] - v)
	}
	return out
}

// QLIKELosses returns QLIKE(pred[t], y[t]) per row.
func QLIKELosses(pred, y []float64) []float64 {
	out := make([]float64, len(y))
	for t, v := range y {
		out[t] = QLIKE(pred[t], v)
	}
	return out
}

// Mean is the arithmetic mean, NaN for no values.
func Mean(v []float64) float64 { return sum(v) / float64(len(v)) }
