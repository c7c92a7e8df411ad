package ml

import (
	"sync"
	"testing"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// The 90 days of real Binance 1-minute klines in ../shared/data (no gaps).
const (
	binanceETH = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"
	binanceBTC = "binance/klines/BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz"
)

// candleCache keeps each real file's candles for the test binary: reading
// and parsing one is most of a test's time under -race. Callers must not
// modify the slices they get (clone first).
var candleCache sync.Map // rel path → []market.Candle

// loadCandles returns the first n candles (all when n ≤ 0) of a real kline file.
func loadCandles(tb testing.TB, rel, pair string, n int) []market.Candle {
	tb.Helper()
	v, ok := candleCache.Load(rel)
	if !ok {
		candles, _, err := archive.ReadCandles(realdata.Path(tb, rel), archive.BinanceKlines, pair)
		if err != nil {
			tb.Fatalf("read %s: %v", rel, err)
		}
		v, _ = candleCache.LoadOrStore(rel, candles)
	}
	candles := v.([]market.Candle)
	if n > 0 && n < len(candles) {
		candles = candles[:n]
	}
	return candles[:len(candles):len(candles)]
}

// featureRows computes the feature row at every candle, as the backfill does.
func featureRows(tb testing.TB, candles []market.Candle) []market.FeatureRow {
	tb.Helper()
	f := market.NewFeatures()
	rows := make([]market.FeatureRow, 0, len(candles))
	for _, c := range candles {
		r, err := f.Update(c)
		if err != nil {
			tb.Fatalf("features at %s: %v", c.End, err)
		}
		rows = append(rows, r)
	}
	return rows
}
