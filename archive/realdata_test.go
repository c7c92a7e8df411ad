package archive_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// Real files of ../shared/data and the figures its README gives for them.
const (
	binanceBTC   = "binance/klines/BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz"
	binanceETH   = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"
	ohlcvt1m     = "kraken/ohlcvt/XBTUSD_1.2023-03-01_2023-03-21.csv"
	binanceRows  = 130_708
	ohlcvt1mRows = 30_180
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sha256Sums reads shared/data/SHA256SUMS: relative path → hash.
func sha256Sums(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(realdata.Path(t, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sum, path, ok := strings.Cut(sc.Text(), "  "); ok {
			sums[strings.TrimPrefix(path, "./")] = sum
		}
	}
	return sums
}

func TestReadBinanceKlines(t *testing.T) {
	tests := []struct {
		rel, pair string
		low, high float64
	}{
		{binanceBTC, "BTC/USDT", 98_344.75, 124_447.73},
		{binanceETH, "ETH/USDT", 2_127.23, 4_785.50},
	}
	sums := sha256Sums(t)
	for _, tt := range tests {
		t.Run(tt.pair, func(t *testing.T) {
			path := realdata.Path(t, tt.rel)
			cs, src, err := archive.ReadCandles(path, archive.BinanceKlines, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != binanceRows || src.Rows != binanceRows {
				t.Fatalf("%d candles, source %d rows; want %d", len(cs), src.Rows, binanceRows)
			}
			checkContiguous(t, cs, time.Minute)
			if first, last := cs[0].Start, cs[len(cs)-1].Start; !first.Equal(day("2025-05-20T00:00:00Z")) || !last.Equal(day("2025-08-18T18:27:00Z")) {
				t.Errorf("open times %s .. %s, want 2025-05-20 00:00 .. 2025-08-18 18:27", first, last)
			}
			low, high := priceRange(cs)
			if low != tt.low || high != tt.high {
				t.Errorf("prices %v .. %v, want %v .. %v", low, high, tt.low, tt.high)
			}
			want := archive.Source{Exchange: "binance", Kind: "binance-klines", File: path, SHA256: sums[tt.rel], Rows: binanceRows,
				Notes: []string{archive.NoteVWAP, archive.NoteTrades, archive.NoteSides}}
			checkSource(t, src, want)
			checkFirstKline(t, cs[0], tt.pair)
		})
	}
}

func checkSource(t *testing.T, got, want archive.Source) {
	t.Helper()
	if got.File != want.File || got.SHA256 != want.SHA256 || got.Exchange != want.Exchange || got.Kind != want.Kind ||
		got.Rows != want.Rows || strings.Join(got.Notes, "|") != strings.Join(want.Notes, "|") {
		t.Errorf("source %+v\nwant %+v", got, want)
	}
}

// checkFirstKline checks the first BTC row field by field (the file's second line:
// 1747699200000,105573.73,105597.1,105554.31,105554.32,10.82647).
func checkFirstKline(t *testing.T, c market.Candle, pair string) {
	t.Helper()
	if pair != "BTC/USDT" {
		return
	}
	want := market.Candle{Pair: pair, Start: day("2025-05-20T00:00:00Z"), End: day("2025-05-20T00:01:00Z"),
		Open: 105573.73, High: 105597.1, Low: 105554.31, Close: 105554.32, Volume: 10.82647,
		VWAP: typical(105597.1, 105554.31, 105554.32), Complete: true}
	if c != want {
		t.Errorf("first candle %+v\nwant %+v", c, want)
	}
}

// typical is (h+l+c)/3 in float64 arithmetic (a constant expression would
// be computed exactly and differ in the last bit).
func typical(h, l, c float64) float64 { return (h + l + c) / 3 }

func checkContiguous(t *testing.T, cs []market.Candle, iv time.Duration) {
	t.Helper()
	for i, c := range cs {
		if c.End.Sub(c.Start) != iv || (i > 0 && !c.Start.Equal(cs[i-1].End)) {
			t.Fatalf("candle %d [%s, %s) does not follow %s", i, c.Start, c.End, cs[i-1].End)
		}
	}
}

// priceRange is the range of the closes, as the README gives it.
func priceRange(cs []market.Candle) (low, high float64) {
	low, high = cs[0].Close, cs[0].Close
	for _, c := range cs {
		low, high = min(low, c.Close), max(high, c.Close)
	}
	return low, high
}

func TestReadKrakenOHLCVT(t *testing.T) {
	sums := sha256Sums(t)
	path := realdata.Path(t, ohlcvt1m)
	cs, src, err := archive.ReadCandles(path, archive.KrakenOHLCVT, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != ohlcvt1mRows || cs[0].Pair != "BTC/USD" {
		t.Fatalf("%d candles of %s, want %d of BTC/USD", len(cs), cs[0].Pair, ohlcvt1mRows)
	}
	absent, largest := 0, time.Duration(0)
	for i := 1; i < len(cs); i++ {
		gap := cs[i].Start.Sub(cs[i-1].End)
		absent += int(gap / time.Minute)
		largest = max(largest, gap)
	}
	span := cs[len(cs)-1].End.Sub(cs[0].Start)
	if absent != 60 || largest != 12*time.Minute || span != 21*24*time.Hour {
		t.Errorf("%d absent minutes (largest gap %s) over %s; want 60, 12m, 21 days", absent, largest, span)
	}
	// The file's first line: 1677628800,23133.2,23146.4,23133.2,23146.0,0.26833389999999996,12
	want := market.Candle{Pair: "BTC/USD", Start: day("2023-03-01T00:00:00Z"), End: day("2023-03-01T00:01:00Z"),
		Open: 23133.2, High: 23146.4, Low: 23133.2, Close: 23146.0, Volume: 0.26833389999999996,
		VWAP: typical(23146.4, 23133.2, 23146.0), Trades: 12, Complete: true}
	if cs[0] != want {
		t.Errorf("first candle %+v\nwant %+v", cs[0], want)
	}
	checkSource(t, src, archive.Source{Exchange: "kraken", Kind: "kraken-ohlcvt", File: path, SHA256: sums[ohlcvt1m],
		Rows: ohlcvt1mRows, Notes: []string{archive.NoteVWAP, archive.NoteSides}})
}

// TestReadKrakenOHLCVTIntervals reads the 15-minute and hourly files: the
// interval comes from the name, the row counts from the README.
func TestReadKrakenOHLCVTIntervals(t *testing.T) {
	tests := []struct {
		rel, pair string
		iv        time.Duration
		rows      int
	}{
		{"kraken/ohlcvt/XBTUSD_15.2023-01-01_2023-09-30.csv", "BTC/USD", 15 * time.Minute, 26_193},
		{"kraken/ohlcvt/ETHUSD_15.2023-01-01_2023-09-30.csv", "ETH/USD", 15 * time.Minute, 26_189},
		{"kraken/ohlcvt/XBTUSD_60.2013-10-06_2023-01-07.csv.gz", "BTC/USD", time.Hour, 70_253},
		{"kraken/ohlcvt/ETHUSD_60.2015-08-07_2023-03-31.csv.gz", "ETH/USD", time.Hour, 63_568},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.rel), func(t *testing.T) {
			cs, src, err := archive.ReadCandles(realdata.Path(t, tt.rel), archive.KrakenOHLCVT, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != tt.rows || src.Rows != tt.rows || cs[0].Pair != tt.pair || cs[0].End.Sub(cs[0].Start) != tt.iv {
				t.Errorf("%d candles of %s lasting %s; want %d of %s lasting %s", len(cs), cs[0].Pair, cs[0].End.Sub(cs[0].Start), tt.rows, tt.pair, tt.iv)
			}
		})
	}
}

func TestReadRealTrades(t *testing.T) {
	trades, err := archive.ReadTrades(realdata.Path(t, realdata.KrakenTrades1h), archive.KrakenTrades, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	buys := 0
	for i, tr := range trades {
		if tr.TradeID != int64(i+1) || tr.Pair != "BTC/USD" || tr.Source != archive.TradeSource {
			t.Fatalf("trade %d: %+v", i, tr)
		}
		if tr.Side == market.SideBuy {
			buys++
		}
	}
	if len(trades) != 2672 || buys != 1549 {
		t.Errorf("%d trades, %d buys; want 2672 and 1549 (shared/data README)", len(trades), buys)
	}
	first, last := trades[0], trades[len(trades)-1]
	if first.Price != 10749.4 || first.Qty != 0.004 || !first.TS.Equal(time.Date(2019, 7, 1, 0, 0, 3, 172e6, time.UTC)) {
		t.Errorf("first trade %+v", first)
	}
	if last.TS.Format("15:04:05") != "00:59:51" {
		t.Errorf("last trade at %s, want 00:59:51", last.TS)
	}
}

func TestDetectReal(t *testing.T) {
	tests := map[string]archive.Format{
		binanceBTC: archive.BinanceKlines,
		binanceETH: archive.BinanceKlines,
		ohlcvt1m:   archive.KrakenOHLCVT,
		"kraken/ohlcvt/ETHUSD_60.2015-08-07_2023-03-31.csv.gz": archive.KrakenOHLCVT,
		realdata.KrakenTrades1h:                                archive.KrakenTrades,
	}
	for rel, want := range tests {
		if got, err := archive.Detect(realdata.Path(t, rel)); got != want || err != nil {
			t.Errorf("Detect(%s) = %q, %v; want %q", rel, got, err, want)
		}
	}
	// Rebuilt by a third party from trades: not a format Kraken publishes.
	if f, err := archive.Detect(realdata.Path(t, "kraken/tradeflow/XBTUSD_1m_tradeflow_2023-03-01_2023-03-21.csv")); err == nil {
		t.Errorf("tradeflow file detected as %q", f)
	}
}
