package market

import (
	"math"
	"testing"
	"time"
)

// An independent reference for the EMA and MACD features: closed-form
// weighted sums instead of the production recursion.

// refEMA is the SMA-seeded EMA(p) at the last of xs, as one weighted sum: with
// m = len(xs) − p later values, the seed mean(xs[:p]) weighs (1−α)^m and the
// value j candles back weighs α(1−α)^j.
func refEMA(xs []float64, p int) float64 {
	if len(xs) < p {
		return math.NaN()
	}
	alpha := 2 / float64(p+1)
	var seed float64
	for _, x := range xs[:p] {
		seed += x
	}
	m := len(xs) - p
	sum := math.Pow(1-alpha, float64(m)) * seed / float64(p)
	for j := 0; j < m; j++ {
		sum += alpha * math.Pow(1-alpha, float64(j)) * xs[len(xs)-1-j]
	}
	return sum
}

// refTrend returns the EMA deviations, MACD, signal and histogram at the last
// close, each MACD line value taken at one candle of the window.
func refTrend(closes []float64) (ema12, ema26, macd, signal, hist float64) {
	c := closes[len(closes)-1]
	var lines []float64
	for t := 26; t <= len(closes); t++ {
		lines = append(lines, refEMA(closes[:t], 12)-refEMA(closes[:t], 26))
	}
	macd, signal = math.NaN(), math.NaN()
	if len(lines) > 0 {
		macd = lines[len(lines)-1] / c
		signal = refEMA(lines, 9) / c
	}
	return c/refEMA(closes, 12) - 1, c/refEMA(closes, 26) - 1, macd, signal, macd - signal
}

func refCloses(cs []Candle) []float64 {
	xs := make([]float64, len(cs))
	for i, c := range cs {
		xs[i] = c.Close
	}
	return xs
}

// refCheckTrend compares every row's trend features with the reference over
// the row's window (the last FeatureWindow candles).
func refCheckTrend(t *testing.T, cs []Candle) {
	t.Helper()
	for i, row := range featRun(t, cs) {
		e12, e26, macd, sig, hist := refTrend(refCloses(cs[max(0, i+1-FeatureWindow) : i+1]))
		for f, want := range map[int]float64{FEMA12Dev: e12, FEMA26Dev: e26, FMACD: macd, FMACDSignal: sig, FMACDHist: hist} {
			got := row.Values[f]
			if math.IsNaN(got) != math.IsNaN(want) || math.Abs(got-want) > 1e-11 {
				t.Fatalf("row %d: %s = %.17g, reference %.17g", i, FeatureNames[f], got, want)
			}
		}
	}
}

func TestComputeTrendMatchesReference(t *testing.T) {
	t.Run("synthetic", func(t *testing.T) { refCheckTrend(t, featSynthetic(2*FeatureWindow+10)) })
	t.Run("real ohlcvt", func(t *testing.T) { refCheckTrend(t, featOHLCVT(t, 2*FeatureWindow+60)) })
	t.Run("real trades 10s", func(t *testing.T) { refCheckTrend(t, featTradeCandles(t, 10*time.Second)) })
}

func TestComputeTrendHandWorked(t *testing.T) {
	// Constant closes: every EMA equals the close, the MACD line is 0.
	row := featLast(t, featSeries(featRepeat(250, 40)...))
	for _, f := range []int{FEMA12Dev, FEMA26Dev, FMACD, FMACDSignal, FMACDHist} {
		featWant(t, row, f, 0)
	}
	// 12 closes of 10 then one of 23: EMA(12) = 10 + (2/13)·13 = 12,
	// ema_12_dev = 23/12 − 1; EMA(26) is still undefined.
	row = featLast(t, featSeries(append(featRepeat(10, 12), 23)...))
	featWant(t, row, FEMA12Dev, 23.0/12-1)
	featWant(t, row, FEMA26Dev, math.NaN())
	featWant(t, row, FMACD, math.NaN())
	// 12 closes of 10, EMA(12) = SMA = 10 exactly: deviation 0.
	featWant(t, featLast(t, featSeries(featRepeat(10, 12)...)), FEMA12Dev, 0)
}
