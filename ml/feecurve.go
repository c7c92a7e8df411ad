package ml

import (
	"math"
	"slices"
)

// FeeCurveBps are the per-side fees of the fee curve, in basis points: from
// a maker rebate tier's 0 to Kraken's 0.40% taker fee.
var FeeCurveBps = []float64{0, 1, 2, 5, 10, 16, 26, 40}

// ThresholdBacktest is RunBacktest with the entry threshold apart from the
// fee: at rows 0, step, 2·step, … hold sign(signal) when |signal| > thr, else
// flat, each position for the step candles its label spans (no return counted
// twice). The fee is charged per side on every unit of position change, the
// last position closed at the end; PnL is in log-return units. Signals are
// centred on 0: a predicted return, or p_up − 0.5.
func ThresholdBacktest(signal, realized []float64, thr, fee float64, step int) Backtest {
	step = max(step, 1)
	var b Backtest
	var pos, tradePnL float64
	var wins int
	move := func(next float64) { // closes and opens trades
		if next == pos {
			return
		}
		if pos != 0 {
			tradePnL -= fee
			b.Fees += fee
			b.Turnover++
			b.Trades++
			if tradePnL > 0 {
				wins++
			}
			tradePnL = 0
		}
		if next != 0 {
			tradePnL -= fee
			b.Fees += fee
			b.Turnover++
		}
		pos = next
	}
	for i := 0; i < len(realized); i += step {
		move(position(signal[i], thr))
		tradePnL += pos * realized[i]
		b.PnL += pos * realized[i]
		b.Periods++
	}
	move(0)
	return b.finish(wins)
}

// finish charges the fees and normalizes hit rate and turnover.
func (b Backtest) finish(wins int) Backtest {
	b.PnL -= b.Fees
	b.HitRate = math.NaN()
	if b.Trades > 0 {
		b.HitRate = float64(wins) / float64(b.Trades)
	}
	if b.Periods > 0 {
		b.Turnover /= float64(b.Periods)
	}
	return b
}

// ThresholdGrid returns the candidate thresholds for a signal: 0, the 50% …
// 99.9% quantiles of |signal|, and +Inf (never trade, PnL 0), ascending.
func ThresholdGrid(signal []float64) []float64 {
	abs := make([]float64, 0, len(signal))
	for _, s := range signal {
		if isFinite(s) {
			abs = append(abs, math.Abs(s))
		}
	}
	slices.Sort(abs)
	grid := []float64{0}
	for _, q := range []float64{0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999} {
		if len(abs) > 0 {
			grid = append(grid, quantile(abs, q))
		}
	}
	grid = append(grid, math.Inf(1))
	slices.Sort(grid)
	return slices.Compact(grid)
}

// FeeCurve backtests a return or direction signal at several fees.
type FeeCurve struct {
	Horizon    int       // h: trade every h rows
	FeesBps    []float64 // per side; nil means FeeCurveBps
	Thresholds []float64 // candidates; nil means ThresholdGrid(validation signal)
}

// FeePoint is the curve at one fee: the threshold that maximized PnL on the
// validation rows at that fee, and the test backtest with it.
type FeePoint struct {
	FeeBps    float64
	Threshold float64
	ValidPnL  float64
	Test      Backtest
}

// Run picks each fee's threshold on the validation rows alone (ties go to
// the larger threshold: fewer trades), then trades the test rows with it.
func (f FeeCurve) Run(validSignal, validReturn, testSignal, testReturn []float64) []FeePoint {
	fees, grid := f.FeesBps, f.Thresholds
	if fees == nil {
		fees = FeeCurveBps
	}
	if grid == nil {
		grid = ThresholdGrid(validSignal)
	}
	out := make([]FeePoint, len(fees))
	for i, bps := range fees {
		p := FeePoint{FeeBps: bps, ValidPnL: math.Inf(-1)}
		for _, thr := range grid {
			if v := ThresholdBacktest(validSignal, validReturn, thr, bps*1e-4, f.Horizon).PnL; v >= p.ValidPnL {
				p.Threshold, p.ValidPnL = thr, v
			}
		}
		p.Test = ThresholdBacktest(testSignal, testReturn, p.Threshold, bps*1e-4, f.Horizon)
		out[i] = p
	}
	return out
}

// Pays returns the lowest and highest fee at which the test PnL is positive,
// and false when it is positive at none.
func Pays(points []FeePoint) (lowest, highest float64, ok bool) {
	lowest, highest = math.Inf(1), math.Inf(-1)
	for _, p := range points {
		if p.Test.PnL > 0 {
			lowest, highest, ok = min(lowest, p.FeeBps), max(highest, p.FeeBps), true
		}
	}
	if !ok {
		return math.NaN(), math.NaN(), false
	}
	return lowest, highest, true
}
