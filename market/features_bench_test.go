package market

import (
	"testing"
	"time"
)

// BenchmarkFeaturesUpdate feeds the real Kraken 1-minute candles of
// 2023-03-01..21 (30,240 with the filled minutes) to Update, lap after lap,
// shifting each lap's times so that the stream stays contiguous.
//
//	go test -run '^$' -bench BenchmarkFeaturesUpdate -benchmem ./market/
func BenchmarkFeaturesUpdate(b *testing.B) {
	cs := featOHLCVT(b, 0)
	span := cs[len(cs)-1].End.Sub(cs[0].Start)
	f := NewFeatures()
	var lap time.Duration
	i := 0
	for b.Loop() {
		c := cs[i]
		c.Start, c.End = c.Start.Add(lap), c.End.Add(lap)
		if _, err := f.Update(c); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(cs) {
			i, lap = 0, lap+span
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

// BenchmarkCompute is Compute alone on a warm window of real candles.
func BenchmarkCompute(b *testing.B) {
	cs := featOHLCVT(b, 4*FeatureWindow)
	w := cs[len(cs)-FeatureWindow:]
	for b.Loop() {
		Compute(w)
	}
}
