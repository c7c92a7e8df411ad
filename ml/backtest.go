package ml

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
// last position at the end: ThresholdBacktest with the fee as the threshold.
func RunBacktest(pred, realized []float64, fee float64, step int) Backtest {
	return ThresholdBacktest(pred, realized, fee, fee, step)
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
