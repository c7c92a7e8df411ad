package ml

import (
	"math"

	"github.com/tickcast/tickcast/market"
)

// Baseline names, as they appear in reports and the registry.
const (
	BaselineZero     = "zero-return"
	BaselineEMADrift = "ema-drift"
)

// Predictor predicts the log return h candles ahead from one feature row
// (market.FeatureNames order). Implementations hold no state between calls.
type Predictor interface {
	Predict(x []float64) float64
}

// ZeroReturn predicts no change: the price persists.
type ZeroReturn struct{}

// Predict returns 0.
func (ZeroReturn) Predict([]float64) float64 { return 0 }

// EMADrift extrapolates the trend the 12-candle EMA lags behind: on a steady
// trend of s per candle an EMA with α = 2/13 trails the price by (1−α)/α =
// 5.5 candles, so ema_12_dev ≈ 5.5·s and the rule predicts h·ln(1+ema_12_dev)·2/11.
type EMADrift struct {
	Horizon int // h, in candles
}

// emaDriftPerDev is α/(1−α) for α = 2/(12+1): the drift per candle per unit of lag.
const emaDriftPerDev = 2.0 / 11

// Predict returns the extrapolated drift, NaN for a row without ema_12_dev.
func (e EMADrift) Predict(x []float64) float64 {
	if len(x) <= market.FEMA12Dev {
		return math.NaN()
	}
	return float64(e.Horizon) * math.Log1p(x[market.FEMA12Dev]) * emaDriftPerDev
}

// Baselines returns the baselines every report shows, by name, for horizon h.
func Baselines(horizon int) map[string]Predictor {
	return map[string]Predictor{
		BaselineZero:     ZeroReturn{},
		BaselineEMADrift: EMADrift{Horizon: horizon},
	}
}
