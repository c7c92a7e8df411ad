package ml

import "testing"

// Benchmarks on the 90 real days of ETH/USDT minutes (130,708 candles).

func BenchmarkBuild(b *testing.B) {
	candles := loadCandles(b, binanceETH, "ETH/USDT", 0)
	rows := featureRows(b, candles)
	b.ResetTimer()
	for range b.N {
		if _, err := Build(rows, candles, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	candles := loadCandles(b, binanceETH, "ETH/USDT", 0)
	d, err := Build(featureRows(b, candles), candles, 1)
	if err != nil {
		b.Fatal(err)
	}
	_, final, err := d.WalkForward(3, 0.2, 0.1)
	if err != nil {
		b.Fatal(err)
	}
	lo, hi := final.Test[0], final.Test[1]
	zero, drift := d.Predict(ZeroReturn{}, lo, hi), d.Predict(EMADrift{Horizon: 1}, lo, hi)
	b.ResetTimer()
	for range b.N {
		Eval{Horizon: 1, Fee: KrakenTakerFee, Seed: 1}.Evaluate(drift, d.Y[lo:hi], d.Close[lo:hi], zero)
	}
	b.ReportMetric(float64(hi-lo), "rows")
}
