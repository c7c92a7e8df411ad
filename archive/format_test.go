package archive_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
)

// The file contents here are hand-written fixtures: one line of each format.

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		want          archive.Format
	}{
		{"klines.csv", "open_time_ms,open,high,low,close,volume\n1747699200000,1,1,1,1,1\n", archive.BinanceKlines},
		{"klines-bom.csv", "\ufeffopen_time,open,high,low,close,volume\r\n", archive.BinanceKlines},
		{"vision.csv", "1747699200000,1.5,3,1,2,10,1747699259999,15,7,4,6,0\n", archive.BinanceKlines},
		{"ohlcvt.csv", "1677628800,23133.2,23146.4,23133.2,23146.0,0.2683,12\n", archive.KrakenOHLCVT},
		{"trades.csv", "time_ms,timestamp_utc,price,volume,side\n", archive.KrakenTrades},
		{"tas.csv", "1381095255,122.00000,0.10000000\n", archive.KrakenTimeAndSales},
		{"tas-side.csv", "1381095255,122.00000,0.10000000,b", archive.KrakenTimeAndSales},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name)
		writeFile(t, path, tt.content)
		gz := writeGzip(t, dir, tt.name+".gz", tt.content)
		for _, p := range []string{path, gz} {
			if got, err := archive.Detect(p); got != tt.want || err != nil {
				t.Errorf("Detect(%s) = %q, %v; want %q", filepath.Base(p), got, err, tt.want)
			}
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDetectErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty.csv":    "",
		"blank.csv":    "\n\n",
		"fivecols.csv": "1,2,3,4,5\n",
		"header.csv":   "timestamp_utc,open,high,low,close,volume,n_trades\n",
		"broken.gz":    "\x1f\x8bnot gzip",
	} {
		path := filepath.Join(dir, name)
		writeFile(t, path, content)
		if f, err := archive.Detect(path); err == nil {
			t.Errorf("Detect(%s) = %q, want an error", name, f)
		}
	}
	if _, err := archive.Detect(filepath.Join(dir, "missing.csv")); err == nil {
		t.Error("missing file detected")
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.csv")
	writeFile(t, plain, "a,b\n")
	// Compressed but named .csv: gzip is told by the magic bytes.
	for _, p := range []string{plain, writeGzip(t, dir, "zipped.csv", "a,b\n")} {
		rc, err := archive.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err != nil || string(b) != "a,b\n" {
			t.Errorf("%s: read %q, %v", p, b, err)
		}
		if err := rc.Close(); err != nil {
			t.Errorf("close %s: %v", p, err)
		}
	}
}

func TestDefaultPair(t *testing.T) {
	tests := map[string]string{
		"/data/BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz": "BTC/USDT",
		"ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz":       "ETH/USDT",
		"XBTUSD_1.2023-03-01_2023-03-21.csv":            "BTC/USD",
		"ETHUSD_15.2023-01-01_2023-09-30.csv":           "ETH/USD",
		"kraken/trades/XBTUSD_trades_2019-07-01T00.csv": "BTC/USD",
		"XBTUSD.csv": "BTC/USD",
	}
	for path, want := range tests {
		if got, err := archive.DefaultPair(path); got != want || err != nil {
			t.Errorf("DefaultPair(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, bad := range []string{"data.csv", "x_1m.csv", ""} {
		if got, err := archive.DefaultPair(bad); err == nil {
			t.Errorf("DefaultPair(%q) = %q, want an error", bad, got)
		}
	}
}

func TestNameInterval(t *testing.T) {
	tests := map[string]time.Duration{
		"BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz": time.Minute,
		"BTCUSDT_4h_2025.csv":                     4 * time.Hour,
		"BTCUSDT_1d.csv":                          24 * time.Hour,
		"BTCUSDT_30s.csv":                         30 * time.Second,
		"XBTUSD_1.2023-03-01_2023-03-21.csv":      time.Minute,
		"XBTUSD_60.2013-10-06_2023-01-07.csv.gz":  time.Hour,
		"XBTUSD_1440.csv":                         24 * time.Hour,
	}
	for name, want := range tests {
		if got, ok := archive.NameInterval(name); got != want || !ok {
			t.Errorf("NameInterval(%s) = %s, %v; want %s", name, got, ok, want)
		}
	}
	for _, name := range []string{"XBTUSD.csv", "XBTUSD_trades_2019.csv", "BTCUSDT_1M.csv", "X_0.csv", "X_-5.csv", "X_.csv", "BTCUSDT_2025-05-20.csv"} {
		if got, ok := archive.NameInterval(name); ok {
			t.Errorf("NameInterval(%s) = %s, want none", name, got)
		}
	}
}

func TestParseFormat(t *testing.T) {
	candles := map[archive.Format]bool{archive.BinanceKlines: true, archive.KrakenOHLCVT: true}
	for _, f := range archive.Formats() {
		if got, err := archive.ParseFormat(string(f)); got != f || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
		if f.HasCandles() != candles[f] {
			t.Errorf("%s.HasCandles() = %v", f, f.HasCandles())
		}
	}
	if _, err := archive.ParseFormat("csv"); err == nil {
		t.Error("unknown format parsed")
	}
	if archive.BinanceKlines.Exchange() != "binance" || archive.KrakenOHLCVT.Exchange() != "kraken" {
		t.Error("exchanges")
	}
}
