package archive_test

import (
	"testing"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
)

// BenchmarkReadCandles reads the real Binance BTC/USDT file (130,708 klines,
// gzip): parse, check and hash.
//
//	go test -run '^$' -bench ReadCandles -benchmem ./archive/
func BenchmarkReadCandles(b *testing.B) {
	path := realdata.Path(b, binanceBTC)
	for b.Loop() {
		if _, _, err := archive.ReadCandles(path, archive.BinanceKlines, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(binanceRows*b.N)/b.Elapsed().Seconds(), "candles/s")
}
