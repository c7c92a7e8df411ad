package ml

import "math"

// The forecast targets of issue #12, computed from one pair's closes on a
// gap-free grid of one candle interval: index t is the as-of candle, whose
// close is known at t; everything after t is the future. Rows whose target
// would reach past the last close are NaN (or DirNone), so every slice keeps
// the closes' indexing.

// Dir is the direction of the close h candles ahead against the close at t.
type Dir int8

// Directions. DirNone marks rows without a label (the last h rows).
const (
	DirDown Dir = -1
	DirTie  Dir = 0
	DirUp   Dir = 1
	DirNone Dir = 2
)

// SquaredReturnSums returns c with c[t] = Σ r_k² over k = 1…t, r_k the
// 1-candle log return ln(close[k]/close[k−1]); c[0] = 0. Every realized
// volatility, past or future, is then √(c[b] − c[a]) over the returns in
// (a, b], in O(1) per row.
func SquaredReturnSums(closes []float64) []float64 {
	c := make([]float64, len(closes))
	for k := 1; k < len(closes); k++ {
		r := math.Log(closes[k] / closes[k-1])
		c[k] = c[k-1] + r*r
	}
	return c
}

// rvBetween is the realized volatility of the returns in (a, b]; the prefix
// difference can come out a few ulps below 0, hence the clamp.
func rvBetween(c []float64, a, b int) float64 {
	return math.Sqrt(max(c[b]-c[a], 0))
}

// FutureVol is the vol target: √Σ r² of the 1-candle log returns in (t, t+h].
func FutureVol(c []float64, h int) []float64 {
	out := make([]float64, len(c))
	for t := range out {
		out[t] = math.NaN()
		if t+h < len(c) {
			out[t] = rvBetween(c, t, t+h)
		}
	}
	return out
}

// PastVol is the realized volatility over the last w candles, (t−w, t]:
// known at t. NaN while fewer than w returns exist.
func PastVol(c []float64, w int) []float64 {
	out := make([]float64, len(c))
	for t := range out {
		out[t] = math.NaN()
		if t >= w {
			out[t] = rvBetween(c, t-w, t)
		}
	}
	return out
}

// FutureReturn is ln(close[t+h]/close[t]).
func FutureReturn(closes []float64, h int) []float64 {
	out := make([]float64, len(closes))
	for t := range out {
		out[t] = math.NaN()
		if t+h < len(closes) {
			out[t] = math.Log(closes[t+h] / closes[t])
		}
	}
	return out
}

// DirectionLabels compares close[t+h] with close[t] directly (not through the log
// return, which could round a distinct pair of closes to 0).
func DirectionLabels(closes []float64, h int) []Dir {
	out := make([]Dir, len(closes))
	for t := range out {
		out[t] = DirNone
		if t+h >= len(closes) {
			continue
		}
		switch a, b := closes[t], closes[t+h]; {
		case b > a:
			out[t] = DirUp
		case b < a:
			out[t] = DirDown
		default:
			out[t] = DirTie
		}
	}
	return out
}
