package ml

import (
	"math"
	"testing"
)

func TestBacktestHandWorked(t *testing.T) {
	// Hand-written fixture, fee 0.001.
	pred := []float64{0.002, 0.003, 0.0005, -0.002, -0.004, 0, 0.0011}
	realized := []float64{0.01, -0.015, 0.02, -0.01, 0.003, 0.5, -0.002}
	// positions  1, 1, 0, −1, −1, 0, 1 (|0.0005| and 0 are within the fee) then closed at the end
	// |Δpos|     1, 0, 1,  1,  0, 1, 1, +1 close-out = 6 → fees 0.006, turnover 6/7
	// gross      0.01 − 0.015 + 0.01 − 0.003 − 0.002 = 0
	// trades     long rows 0–1: −0.005 − 0.002 = −0.007 (loss)
	//            short rows 3–4: 0.007 − 0.002 = 0.005 (win)
	//            long row 6: −0.002 − 0.002 = −0.004 (loss) → hit rate 1/3
	b := RunBacktest(pred, realized, 0.001, 1)
	want := Backtest{PnL: -0.006, Fees: 0.006, HitRate: 1.0 / 3, Turnover: 6.0 / 7, Trades: 3, Periods: 7}
	if !near(b.PnL, want.PnL, 1e-15) || !near(b.Fees, want.Fees, 1e-15) || b.HitRate != want.HitRate ||
		!near(b.Turnover, want.Turnover, 1e-15) || b.Trades != want.Trades || b.Periods != want.Periods {
		t.Errorf("backtest %+v, want %+v", b, want)
	}
}

func TestBacktestStepAndFlips(t *testing.T) {
	// Hand-written fixture: step 2 trades rows 0, 2, 4 only; a flip from long
	// to short costs two fees (exit and entry) and closes one trade.
	pred := []float64{0.01, -9, -0.01, 9, 0.01}
	realized := []float64{0.004, 9, -0.002, 9, 0.001}
	// rows used: 0 (long, +0.004), 2 (short, +0.002), 4 (long, +0.001)
	// |Δpos| 1 + 2 + 2 + 1 (close) = 6, fee 0.0005 → 0.003
	// trades: +0.004 − 0.001 = 0.003 win; +0.002 − 0.001 = 0.001 win; +0.001 − 0.001 = 0 (not a hit)
	b := RunBacktest(pred, realized, 0.0005, 2)
	if !near(b.PnL, 0.004, 1e-15) || b.Trades != 3 || b.HitRate != 2.0/3 || b.Periods != 3 || !near(b.Turnover, 2, 1e-15) {
		t.Errorf("backtest %+v", b)
	}
}

func TestBacktestNeverTrades(t *testing.T) {
	b := RunBacktest([]float64{0, 0.001, -0.004}, []float64{0.1, -0.2, 0.3}, KrakenTakerFee, 1)
	if b.Trades != 0 || b.PnL != 0 || b.Fees != 0 || b.Turnover != 0 || !math.IsNaN(b.HitRate) || b.Periods != 3 {
		t.Errorf("flat backtest %+v", b)
	}
}

func TestBacktestRealData(t *testing.T) {
	// On real data, the PnL of all trades adds up to the total, and with no
	// fee the ema-drift rule trades whenever its prediction is non-zero.
	candles := loadCandles(t, binanceETH, "ETH/USDT", 20000)
	d, err := Build(featureRows(t, candles), candles, 1)
	if err != nil {
		t.Fatal(err)
	}
	pred := d.Predict(EMADrift{Horizon: 1}, 0, d.Len())
	var gross float64
	for i, p := range pred {
		gross += position(p, 0) * d.Y[i]
	}
	free := RunBacktest(pred, d.Y, 0, 1)
	if !near(free.PnL, gross, 1e-9) || free.Fees != 0 {
		t.Errorf("fee-free PnL %v, want Σ sign(pred)·y = %v", free.PnL, gross)
	}
	kraken := RunBacktest(pred, d.Y, KrakenTakerFee, 1)
	if kraken.Trades >= free.Trades {
		t.Errorf("a 0.4%% fee left %d trades of %d", kraken.Trades, free.Trades)
	}
	t.Logf("ETH 20k minutes, ema-drift: no fee %d trades PnL %.4f hit %.3f; Kraken fee %d trades PnL %.4f",
		free.Trades, free.PnL, free.HitRate, kraken.Trades, kraken.PnL)
}
