package history_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/parquet"
)

// Hand-written source descriptions; TestRecordRealSource uses a real file.
func src(file, sum string, rows int) archive.Source {
	return archive.Source{Exchange: "binance", Kind: string(archive.BinanceKlines), File: file, SHA256: sum, Rows: rows,
		Notes: []string{archive.NoteVWAP}}
}

func TestRecordSources(t *testing.T) {
	a, b := src("/data/a.csv.gz", "aa", 1), src("/data/b.csv.gz", "bb", 2)
	kr := archive.Source{Exchange: "kraken", Kind: string(archive.KrakenOHLCVT), File: "/data/XBTUSD_1.csv", SHA256: "cc", Rows: 3}
	record := func(srcs ...archive.Source) []byte {
		t.Helper()
		dir := t.TempDir()
		for _, s := range srcs {
			if err := history.RecordSources(dir, parquet.DatasetCandles, "BTCUSDT", s); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(history.SourcesPath(dir, parquet.DatasetCandles, "BTC/USDT"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := record(a, b, kr)
	for _, order := range [][]archive.Source{{kr, b, a}, {b, a, kr, a, b}} {
		if got := record(order...); string(got) != string(want) {
			t.Errorf("record depends on the order of imports:\n%s\nwant\n%s", got, want)
		}
	}
	for _, s := range []string{`"pair": "BTC/USDT"`, `"dataset": "candles"`, `"exchange": "binance"`, `"kind": "kraken-ohlcvt"`,
		`"path": "/data/b.csv.gz"`, `"sha256": "bb"`, `"rows": 2`, archive.NoteVWAP} {
		if !strings.Contains(string(want), s) {
			t.Errorf("record lacks %s:\n%s", s, want)
		}
	}
	a2 := src("/data/a.csv.gz", "a2", 5) // the same path, changed content
	if got := string(record(a, a2)); strings.Contains(got, `"aa"`) || !strings.Contains(got, `"a2"`) {
		t.Errorf("a re-imported file was not replaced:\n%s", got)
	}
}

func TestRecordSourcesConcurrent(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s := src(fmt.Sprintf("/data/%d.csv", i), fmt.Sprint(i), i)
			if err := history.RecordSources(dir, parquet.DatasetTrades, "ETH/USD", s); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rec, err := history.ReadSources(dir, parquet.DatasetTrades, "ETHUSD")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Sources) != 1 || len(rec.Sources[0].Files) != 8 {
		t.Errorf("record %+v, want one group of 8 files", rec)
	}
}

func TestRecordRealSource(t *testing.T) {
	path := realdata.Path(t, binanceETH)
	_, s, err := archive.ReadCandles(path, archive.BinanceKlines, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := history.RecordSources(dir, parquet.DatasetCandles, "ETH/USDT", s); err != nil {
		t.Fatal(err)
	}
	rec, err := history.ReadSources(dir, parquet.DatasetCandles, "ETH/USDT")
	if err != nil {
		t.Fatal(err)
	}
	want := history.SourceFile{Path: path, Rows: 130_708,
		SHA256: "e0df62869ead179a5564c9b504ab234d868b73f0046624263badf60807f3bb1d"} // shared/data/SHA256SUMS
	if len(rec.Sources) != 1 || rec.Sources[0].Exchange != "binance" || len(rec.Sources[0].Files) != 1 || rec.Sources[0].Files[0] != want {
		t.Errorf("record %+v, want %+v", rec, want)
	}
}

func TestSourcesErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := history.ReadSources(dir, parquet.DatasetCandles, "BTC/USD"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing record: %v", err)
	}
	if err := history.RecordSources(dir, "bars", "BTC/USD"); err == nil {
		t.Error("bad dataset accepted")
	}
	if err := history.RecordSources(dir, parquet.DatasetCandles, "nonsense"); err == nil {
		t.Error("bad pair accepted")
	}
}
