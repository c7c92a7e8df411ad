package archive_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/wire"
)

// The CSV inputs in this file are hand-written fixtures for formats, edge
// cases and errors; realdata_test.go reads the real files.

// bar is a candle fixture: one minute at Unix second sec, VWAP the typical price.
func bar(sec int64, o, h, l, c, v float64, trades int64, buy, sell float64) market.Candle {
	start := time.Unix(sec, 0).UTC()
	return market.Candle{Pair: "BTC/USD", Start: start, End: start.Add(time.Minute), Open: o, High: h, Low: l, Close: c,
		Volume: v, VWAP: typical(h, l, c), Trades: trades, BuyVolume: buy, SellVolume: sell, Complete: true}
}

func TestParseCandles(t *testing.T) {
	tests := []struct {
		name string
		f    archive.Format
		iv   time.Duration
		in   string
		want []market.Candle
	}{
		{"binance header", archive.BinanceKlines, time.Minute, "open_time_ms,open,high,low,close,volume\n" +
			"1747699200000,105573.73,105597.1,105554.31,105554.32,10.82647\n1747699260000,2,3,1,2.5,0\n",
			[]market.Candle{bar(1747699200, 105573.73, 105597.1, 105554.31, 105554.32, 10.82647, 0, 0, 0), bar(1747699260, 2, 3, 1, 2.5, 0, 0, 0, 0)}},
		{"binance header any order, trades and taker volume, CRLF and BOM", archive.BinanceKlines, 0,
			"\ufeffvolume,taker_buy_volume,close,low,high,open,trades,open_time\r\n10,4,2,1,3,1.5,7,1747699200000\r\n1,1,2,2,2,2,1,1747699260000\r\n",
			[]market.Candle{bar(1747699200, 1.5, 3, 1, 2, 10, 7, 4, 6), bar(1747699260, 2, 2, 2, 2, 1, 1, 1, 0)}},
		{"binance open time in microseconds", archive.BinanceKlines, time.Minute, "open_time,open,high,low,close,volume\n1747699200000000,1,1,1,1,1\n",
			[]market.Candle{bar(1747699200, 1, 1, 1, 1, 1, 0, 0, 0)}},
		{"binance headerless, 12 columns", archive.BinanceKlines, time.Minute,
			"1747699200000,1.5,3,1,2,10,1747699259999,15,7,4,6,0\n",
			[]market.Candle{bar(1747699200, 1.5, 3, 1, 2, 10, 7, 4, 6)}},
		{"kraken, absent minute kept absent, interval from the data", archive.KrakenOHLCVT, 0,
			"1677628800,23133.2,23146.4,23133.2,23146.0,0.26833389999999996,12\n1677628860,2,2,2,2,1,1\n1677628980,2,3,1,2,0,0\n",
			[]market.Candle{bar(1677628800, 23133.2, 23146.4, 23133.2, 23146.0, 0.26833389999999996, 12, 0, 0), bar(1677628860, 2, 2, 2, 2, 1, 1, 0, 0), bar(1677628980, 2, 3, 1, 2, 0, 0, 0, 0)}},
		{"empty", archive.KrakenOHLCVT, 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := archive.ParseCandles(strings.NewReader(tt.in), tt.f, "XBTUSD", tt.iv)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d candles, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("candle %d = %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseCandlesIntervals(t *testing.T) {
	// Hourly bars, the interval inferred from the smallest step (2h, then 1h).
	in := "1677628800,1,1,1,1,1,1\n1677636000,1,1,1,1,1,1\n1677639600,1,1,1,1,1,1\n"
	cs, err := archive.ParseCandles(strings.NewReader(in), archive.KrakenOHLCVT, "BTC/USD", 0)
	if err != nil || len(cs) != 3 || cs[0].End.Sub(cs[0].Start) != time.Hour {
		t.Fatalf("%+v, %v; want 3 hourly candles", cs, err)
	}
	cs, err = archive.ParseCandles(strings.NewReader(in), archive.KrakenOHLCVT, "BTC/USD", 15*time.Minute)
	if err != nil || cs[2].End.Sub(cs[2].Start) != 15*time.Minute {
		t.Fatalf("%+v, %v; want 15-minute candles as told", cs, err)
	}
}

func TestParseCandlesErrors(t *testing.T) {
	const kline = "open_time_ms,open,high,low,close,volume\n"
	const k1 = "1677628800,1,1,1,1,1,1\n"
	tests := []struct {
		name string
		f    archive.Format
		iv   time.Duration
		in   string
		want string
	}{
		{"bad price", archive.BinanceKlines, time.Minute, kline + "1747699200000,1,1,1,1,1\n1747699260000,x,1,1,1,1\n", "line 3, column 2 (open): not a decimal number"},
		{"NaN price", archive.KrakenOHLCVT, time.Minute, "1677628800,NaN,1,1,1,1,1\n", "line 1, column 2 (open): not a decimal number"},
		{"zero price", archive.KrakenOHLCVT, time.Minute, "1677628800,0,1,1,1,1,1\n", "line 1, column 2 (open): prices must be positive"},
		{"negative volume", archive.KrakenOHLCVT, time.Minute, k1 + "1677628860,1,1,1,1,-1,1\n", "line 2, column 6 (volume): negative volume"},
		{"high below close", archive.KrakenOHLCVT, time.Minute, "1677628800,1,1.5,1,2,1,1\n", "line 1, column 3 (high): high below open or close"},
		{"time backwards", archive.KrakenOHLCVT, time.Minute, k1 + "1677628860,1,1,1,1,1,1\n" + k1, "line 3, column 1 (open time): not after the bar on line 2"},
		{"duplicate", archive.KrakenOHLCVT, time.Minute, k1 + k1, "line 2, column 1 (open time): not after the bar on line 1"},
		{"not aligned", archive.KrakenOHLCVT, time.Minute, k1 + "1677628890,1,1,1,1,1,1\n", "line 2, column 1 (open time): not aligned to the 1m0s interval"},
		{"within the previous bar", archive.KrakenOHLCVT, time.Hour, "1677628800,1,1,1,1,1,1\n1677630600,1,1,1,1,1,1\n", "line 2, column 1 (open time)"},
		{"fractional seconds", archive.KrakenOHLCVT, time.Minute, "1677628800.5,1,1,1,1,1,1\n", "line 1, column 1 (open time): not whole Unix seconds"},
		{"six fields in OHLCVT", archive.KrakenOHLCVT, time.Minute, k1 + "1677628860,1,1,1,1,1\n", "line 2: 6 fields, want 7"},
		{"header in OHLCVT", archive.KrakenOHLCVT, time.Minute, "time,open,high,low,close,volume,count\n", "line 1, column 1 (open time): kraken-ohlcvt files have no header"},
		{"bad trade count", archive.KrakenOHLCVT, time.Minute, "1677628800,1,1,1,1,1,1.5\n", "line 1, column 7 (trades): not a count"},
		{"header lacks volume", archive.BinanceKlines, time.Minute, "open_time_ms,open,high,low,close\n", "line 1: the header lacks"},
		{"short binance row", archive.BinanceKlines, time.Minute, kline + "1747699200000,1,1,1,1\n", "line 2: 5 fields, want 6"},
		{"taker volume above volume", archive.BinanceKlines, time.Minute, "1747699200000,1,1,1,1,1,0,0,1,2,0,0\n", "line 1, column 10 (taker buy volume)"},
		{"binance time", archive.BinanceKlines, time.Minute, kline + "-5,1,1,1,1,1\n", "line 2, column 1 (open time): not a positive Unix time"},
		{"one bar, interval unknown", archive.KrakenOHLCVT, 0, k1, "interval unknown"},
		{"step does not divide a day", archive.KrakenOHLCVT, 0, k1 + "1677629220,1,1,1,1,1,1\n", "does not divide 24h"},
		{"bad interval", archive.KrakenOHLCVT, 7 * time.Minute, k1, "does not divide 24h"},
		{"trade format", archive.KrakenTrades, time.Minute, k1, "holds no candles"},
		{"bad quoting", archive.KrakenOHLCVT, time.Minute, k1 + "1,\"2\n", "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := archive.ParseCandles(strings.NewReader(tt.in), tt.f, "BTC/USD", tt.iv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := archive.ParseCandles(strings.NewReader(k1), archive.KrakenOHLCVT, "nonsense", time.Minute); err == nil {
		t.Error("bad pair accepted")
	}
}

// writeGzip writes content gzip-compressed to dir/name and returns the path.
func writeGzip(t *testing.T, dir, name, content string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	writeFile(t, path, buf.String())
	return path
}

func TestReadCandlesFile(t *testing.T) {
	dir := t.TempDir()
	path := writeGzip(t, dir, "ETHUSDT_5m_fixture.csv.gz", "open_time_ms,open,high,low,close,volume\n1747699200000,1,2,1,2,3\n")
	cs, src, err := archive.ReadCandles(path, archive.BinanceKlines, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Pair != "ETH/USDT" || cs[0].End.Sub(cs[0].Start) != 5*time.Minute {
		t.Fatalf("candles %+v: want one 5-minute ETH/USDT candle (pair and interval from the name)", cs)
	}
	raw, _ := os.ReadFile(path)
	sum := sha256.Sum256(raw)
	if src.SHA256 != hex.EncodeToString(sum[:]) || src.File != path || src.Rows != 1 || src.Exchange != "binance" {
		t.Errorf("source %+v", src)
	}
	if fs, err := archive.FileSource(path, archive.BinanceKlines, 1); err != nil || fs.SHA256 != src.SHA256 || fs.File != path {
		t.Errorf("FileSource = %+v, %v; want the hash of ReadCandles", fs, err)
	}
	if strings.Join(src.Notes, "|") != strings.Join([]string{archive.NoteVWAP, archive.NoteTrades, archive.NoteSides}, "|") {
		t.Errorf("notes %q", src.Notes)
	}
	// Binance's own 12 columns have the trade count and the taker side.
	vision := writeGzip(t, dir, "ETHUSDT_1m_vision.csv.gz", "1747699200000,1.5,3,1,2,10,1747699259999,15,7,4,6,0\n")
	if _, src, err := archive.ReadCandles(vision, archive.BinanceKlines, ""); err != nil || len(src.Notes) != 1 || src.Notes[0] != archive.NoteVWAP {
		t.Errorf("notes %q, %v; want the VWAP note only", src.Notes, err)
	}
	if _, _, err := archive.ReadCandles(path, archive.BinanceKlines, "nonsense"); err == nil {
		t.Error("bad pair accepted")
	}
	if _, _, err := archive.ReadCandles(filepath.Join(dir, "missing.csv"), archive.BinanceKlines, "BTC/USD"); err == nil {
		t.Error("missing file read")
	}
	if _, err := archive.ReadTrades(path, archive.BinanceKlines, "", 1); err == nil || !strings.Contains(err.Error(), "holds no trades") {
		t.Errorf("ReadTrades of klines: %v", err)
	}
}

func TestReadTradesTimeAndSales(t *testing.T) {
	path := writeGzip(t, t.TempDir(), "XBTUSD.csv.gz", "1381095255,122.00000,0.10000000\n1381095255.5,123,0.2\n")
	trades, err := archive.ReadTrades(path, archive.KrakenTimeAndSales, "", 5)
	if err != nil || len(trades) != 2 {
		t.Fatalf("%+v, %v", trades, err)
	}
	want := market.Trade{Pair: "BTC/USD", TradeID: 6, Price: 123, Qty: 0.2, TS: time.Unix(1381095255, 5e8).UTC(), Source: archive.TradeSource}
	if trades[1] != want {
		t.Errorf("trade %+v\nwant %+v", trades[1], want)
	}
}

func FuzzReadCandles(f *testing.F) {
	f.Add([]byte("open_time_ms,open,high,low,close,volume\n1747699200000,105573.73,105597.1,105554.31,105554.32,10.82647\n"), false, uint8(1))
	f.Add([]byte("volume,taker_buy_volume,close,low,high,open,trades,open_time\n10,4,2,1,3,1.5,7,1747699200000\n"), false, uint8(0))
	f.Add([]byte("1747699200000,1.5,3,1,2,10,1747699259999,15,7,4,6,0\n"), false, uint8(1))
	f.Add([]byte("1677628800,23133.2,23146.4,23133.2,23146.0,0.26833389999999996,12\n1677628980,2,3,1,2,0,0\n"), true, uint8(0))
	f.Add([]byte("1677628800,1,1,1,1,1,1\n1677636000,1,1,1,1,1,1\n"), true, uint8(60))
	f.Add([]byte("\ufeff1,1e3,1e3,1e3,1e3,1e3,0\n"), true, uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, kraken bool, minutes uint8) {
		format := archive.BinanceKlines
		if kraken {
			format = archive.KrakenOHLCVT
		}
		iv := time.Duration(minutes) * time.Minute
		cs, err := archive.ParseCandles(bytes.NewReader(b), format, "BTC/USD", iv)
		if err != nil {
			return
		}
		for i, c := range cs {
			checkFuzzedCandle(t, c, cs[0].End.Sub(cs[0].Start))
			if iv != 0 && c.End.Sub(c.Start) != iv {
				t.Fatalf("candle %d lasts %s, want %s", i, c.End.Sub(c.Start), iv)
			}
			if i > 0 && c.Start.Before(cs[i-1].End) {
				t.Fatalf("candle %d overlaps the previous one", i)
			}
		}
	})
}

// checkFuzzedCandle checks what every candle read must satisfy: the candle
// codec and the features accept it, and it lasts iv from an aligned start.
func checkFuzzedCandle(t *testing.T, c market.Candle, iv time.Duration) {
	t.Helper()
	if c.End.Sub(c.Start) != iv || c.Start.UnixNano()%int64(iv) != 0 || c.Pair != "BTC/USD" {
		t.Fatalf("candle %+v: not an aligned %s window", c, iv)
	}
	got, err := wire.DecodeCandle(wire.AppendJSON(nil, c))
	if err != nil || got != c {
		t.Fatalf("candle %+v does not round-trip through the codec: %+v, %v", c, got, err)
	}
	if _, err := market.NewFeatures().Update(c); err != nil {
		t.Fatalf("features refuse candle %+v: %v", c, err)
	}
}
