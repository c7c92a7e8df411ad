// Package realdata locates the real market data in ../shared/data for tests
// and benchmarks, and skips them with a clear message where it is absent.
package realdata

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvDir names a variable that overrides where shared/data is.
const EnvDir = "TICKCAST_SHARED_DATA"

// Dir returns the shared data folder: $TICKCAST_SHARED_DATA, or the first
// shared/data found beside the working directory or one of its parents.
func Dir() (string, bool) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, isDir(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		for _, cand := range []string{filepath.Join(dir, "shared", "data"), filepath.Join(dir, "..", "shared", "data")} {
			if isDir(cand) {
				return filepath.Clean(cand), true
			}
		}
		if parent := filepath.Dir(dir); parent == dir {
			return "", false
		}
	}
}

// Path returns the file rel under shared/data, skipping tb when it is absent.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	dir, ok := Dir()
	if !ok {
		tb.Skipf("real data not found (set %s or keep ../shared/data beside the repo); skipping", EnvDir)
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("real data %s not found: %v; skipping", p, err)
	}
	return p
}

// KrakenTrades1h is the real Kraken BTC/USD trade file of 2019-07-01 00:00–01:00 UTC.
const KrakenTrades1h = "kraken/trades/XBTUSD_trades_2019-07-01T00.csv"

// The real Binance 1-minute klines of 2025-05-20 – 2025-08-18 (90 days), the
// offline demo's data: ETH/USDT and BTC/USDT.
const (
	BinanceETH90d = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"
	BinanceBTC90d = "binance/klines/BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz"
)

// KrakenXBT1m21d is the real Kraken BTC/USD 1-minute OHLCVT of 2023-03-01 – 2023-03-21.
const KrakenXBT1m21d = "kraken/ohlcvt/XBTUSD_1.2023-03-01_2023-03-21.csv"

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
