package ml

import "math"

// Backtest is the result of trading the predictions: long when pred > fee,
// short when pred < −fee, flat otherwise. Returns and costs are in log-return
// units (a fee f is charged as f per unit of position change).
type Backtest struct {
	PnL      float64 // Σ position·realized − Fees
	Fees     float64 // fee · Σ|Δposition|, the closing of the last position included
	HitRate  float64 // share of trades with a positive PnL after fees; NaN without trades
	Turnover float64 // Σ|Δposition| / Periods
	Trades   int     // runs of one non-zero position, entry to exit
	Periods  int     // rows traded: every step-th row, so holding periods do not overlap
}

// RunBacktest trades rows 0, step, 2·step, … (step = the horizon h, so each
// position is held for exactly the h candles its label spans) and closes the
// last position at the end.
func RunBacktest(pred, realized []float64, fee float64, step int) Backtest {
	step = max(step, 1)
	var b Backtest
	var pos, tradePnL float64
	var wins int
	move := func(next float64) { // changes the position, closing and opening trades
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
		move(position(pred[i], fee))
		tradePnL += pos * realized[i]
		b.PnL += pos * realized[i]
		b.Periods++
	}
	move(0)
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

// position is the sign of pred when its size exceeds the fee, else flat.
func position(pred, fee float64) float64 {
	switch {
	case pred > fee:
		return 1
	case pred < -fee:
		return -1
	}
	return 0
}
