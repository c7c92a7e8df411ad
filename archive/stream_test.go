package archive_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// The row-by-row candle reader gives the candles of ReadCandles on real
// files: Kraken 1-minute and 15-minute, Binance gzip.
func TestCandleReaderMatchesReadCandles(t *testing.T) {
	for _, rel := range []string{ohlcvt1m, "kraken/ohlcvt/XBTUSD_15.2023-01-01_2023-09-30.csv", binanceETH} {
		path := realdata.Path(t, rel)
		f, err := archive.Detect(path)
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := archive.ReadCandles(path, f, "")
		if err != nil {
			t.Fatal(err)
		}
		iv, _ := archive.NameInterval(path)
		rc, err := archive.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		pair, _ := archive.DefaultPair(path)
		cr, err := archive.NewCandleReader(rc, f, pair, iv)
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, cr.Next)
		rc.Close()
		if len(got) != len(want) {
			t.Fatalf("%s: %d candles, want %d", rel, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: candle %d = %+v, want %+v", rel, i, got[i], want[i])
			}
		}
	}
}

func drain[T any](t *testing.T, next func() (T, error)) []T {
	t.Helper()
	var out []T
	for {
		v, err := next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
}

// OpenTrades streams the rows of a trade file as ReadTradesCSV reads them.
func TestOpenTradesTradeFile(t *testing.T) {
	path := realdata.Path(t, realdata.KrakenTrades1h)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := archive.ReadTradesCSV(f, "BTC/USD", 3)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	src, err := archive.OpenTrades(path, "BTC/USD", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := drain(t, src.Next)
	if len(got) != len(want) || got[0] != want[0] || got[len(got)-1] != want[len(want)-1] {
		t.Fatalf("%d trades, want %d", len(got), len(want))
	}
}

// Hand-written fixtures: a candle file whose name gives no interval takes
// its smallest step from a first pass; bad rows fail with their line.
func TestOpenTradesCandleFixtures(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := write("XBTUSD.csv", "1677628800,100,101,99,100.5,2,3\n1677628920,100,100,100,100,1,1\n")
	src, err := archive.OpenTrades(p, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	trades := drain(t, src.Next)
	src.Close()
	// A 2-minute interval: the first bar's 4 trades (its 3 cannot touch 4
	// prices) at 24 s steps, the second's one trade in its middle.
	if len(trades) != 5 || trades[0].Source != market.SourceReconstructed || trades[4].TradeID != 5 ||
		!trades[3].TS.Equal(time.Unix(1677628800+96, 0)) || !trades[4].TS.Equal(time.Unix(1677628920+60, 0)) {
		t.Fatalf("trades = %+v", trades)
	}
	for _, bad := range []struct{ name, body, want string }{
		{"XBTUSD_1.a.csv", "1677628800,100,101,99,100.5,2,3\n1677628830,100,100,100,100,1,1\n", "line 2"},
		{"XBTUSD_1.b.csv", "1677628800,100,101,99,100.5,2,3\n1677628800,100,100,100,100,1,1\n", "line 2"},
		{"XBTUSD_1.c.csv", "1677628800,100,101,99,100.5,2,3\n1677628860,100,99,100,100,1,1\n", "line 2"},
	} {
		src, err := archive.OpenTrades(write(bad.name, bad.body), "", 1)
		if err != nil {
			t.Fatal(err)
		}
		var last error
		for last == nil {
			_, last = src.Next()
		}
		src.Close()
		if errors.Is(last, io.EOF) || !strings.Contains(last.Error(), bad.want) {
			t.Errorf("%s: error %v, want one at %s", bad.name, last, bad.want)
		}
	}
}
