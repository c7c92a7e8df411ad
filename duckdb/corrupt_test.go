package duckdb

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// realStore is a data directory whose store holds the real 90 days of
// Binance ETH/USDT minute candles (130,708 from 2025-05-20), stored once
// per test binary and copied.
var realStore = sync.OnceValues(func() (string, error) {
	return buildRealStore("duckdb-real-store-", false, realPair{realdata.BinanceETH90d, "ETH/USDT"})
})

// copyRealStore gives a test its own copy of the real store.
func copyRealStore(t *testing.T) string {
	t.Helper()
	realdata.Path(t, realdata.BinanceETH90d) // skips without the data
	return copyStore(t, realStore)
}

var corruptions = []struct {
	name   string
	damage func(b []byte) []byte
}{
	{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }},
	{"footer bytes flipped", func(b []byte) []byte {
		b = slices.Clone(b)
		for i := len(b) - 200; i < len(b)-8; i += 7 {
			b[i] ^= 0xff
		}
		return b
	}},
	{"page bytes zeroed", func(b []byte) []byte {
		b = slices.Clone(b)
		clear(b[len(b)/4 : len(b)/2])
		return b
	}},
	{"empty", func([]byte) []byte { return nil }},
}

func TestCorruptDayOfRealStore(t *testing.T) {
	day := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := copyRealStore(t)
			root := datadir.Parquet(dir)
			bad := filepath.Join(parquet.PartitionDir(root, parquet.DatasetCandles, "ETH/USDT", day), parquet.FileName)
			// Ten days around the corrupt one keep the test short under -race.
			win := Query{Pair: "ETH-USDT", From: day.AddDate(0, 0, -5), To: day.AddDate(0, 0, 5)}
			want, err := parquet.ReadCandles(root, "ETH/USDT", win.From, win.To)
			mustNil(t, err)
			want = slices.DeleteFunc(want, func(c market.Candle) bool { return !c.Start.Before(day) && c.Start.Before(day.Add(24*time.Hour)) })
			b, err := os.ReadFile(bad)
			mustNil(t, err)
			mustNil(t, os.WriteFile(bad, c.damage(b), 0o644))

			// Strict: the open (a broken footer) or the query (broken pages) names the file.
			strict, err := OpenDataDir(t.Context(), dir, Options{}, ViewCandles)
			if err == nil {
				defer strict.Close()
				_, err = strict.Candles(t.Context(), Query{Pair: "ETH/USDT"})
			}
			if !errors.Is(err, parquet.ErrCorrupt) || !strings.Contains(err.Error(), bad) {
				t.Fatalf("strict query: %v, want ErrCorrupt naming %s", err, bad)
			}
			if strict != nil { // the footer is whole: a range beside the day reads none of its pages
				before, err := strict.Candles(t.Context(), Query{Pair: "ETH/USDT", From: win.From, To: day})
				mustNil(t, err)
				sameCandles(t, before, want[:slices.IndexFunc(want, func(c market.Candle) bool { return !c.Start.Before(day) })])
			}

			var logs bytes.Buffer
			skip, err := OpenDataDir(t.Context(), dir, Options{SkipCorrupt: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, ViewCandles)
			mustNil(t, err)
			defer skip.Close()
			got, err := skip.Candles(t.Context(), win)
			mustNil(t, err)
			sameCandles(t, got, want)
			if !slices.Equal(skip.Skipped(), []string{bad}) || !strings.Contains(logs.String(), bad) {
				t.Fatalf("skipped %q, log %q: want %s reported", skip.Skipped(), logs.String(), bad)
			}
			// Left out of the view: the next query reads around it at once.
			again, err := skip.Candles(t.Context(), win)
			mustNil(t, err)
			sameCandles(t, again, want)
			if !slices.Equal(skip.Skipped(), []string{bad}) {
				t.Fatalf("skipped %q after the second query, want %s once", skip.Skipped(), bad)
			}
			// Repaired, it is read by the views opened next.
			mustNil(t, os.WriteFile(bad, b, 0o644))
			reopened, err := OpenDataDir(t.Context(), dir, Options{SkipCorrupt: true}, ViewCandles)
			mustNil(t, err)
			defer reopened.Close()
			all, err := reopened.Candles(t.Context(), win)
			mustNil(t, err)
			if len(all) != len(want)+1440 || len(reopened.Skipped()) != 0 {
				t.Fatalf("after the repair: %d candles, skipped %q; want %d, none", len(all), reopened.Skipped(), len(want)+1440)
			}
		})
	}
}

// BenchmarkCorrupt measures queries of the real store through the views:
// healthy, and with one corrupt day (open and query: the failed query
// diagnosed file by file, the view made again without it, the query run
// again).
func BenchmarkCorrupt(b *testing.B) {
	day := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	dir := b.TempDir()
	src, err := realStore()
	if err != nil {
		b.Skip(err)
	}
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		b.Fatal(err)
	}
	query := func(b *testing.B, db *DB, q Query, want int) {
		got, err := db.Candles(b.Context(), q)
		if err != nil || len(got) != want {
			b.Fatalf("%d candles, %v", len(got), err)
		}
	}
	open := func(b *testing.B) *DB {
		db, err := OpenDataDir(b.Context(), dir, Options{SkipCorrupt: true}, ViewCandles)
		if err != nil {
			b.Fatal(err)
		}
		return db
	}
	all := Query{Pair: "ETH/USDT"}
	oneDay := Query{Pair: "ETH/USDT", From: day.Add(24 * time.Hour), To: day.Add(48 * time.Hour)}
	db := open(b)
	defer db.Close()
	b.Run("healthy/90d", func(b *testing.B) {
		for b.Loop() {
			query(b, db, all, 130_708)
		}
	})
	b.Run("healthy/1d", func(b *testing.B) {
		for b.Loop() {
			query(b, db, oneDay, 1440)
		}
	})
	bad := filepath.Join(parquet.PartitionDir(datadir.Parquet(dir), parquet.DatasetCandles, "ETH/USDT", day), parquet.FileName)
	if err := os.Truncate(bad, 1000); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		q    Query
		want int
	}{{"one-corrupt-skipped/open+90d", all, 130_708 - 1440}, {"one-corrupt-skipped/open+1d-beside", oneDay, 1440}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				db := open(b)
				query(b, db, bc.q, bc.want)
				db.Close()
			}
		})
	}
}

// sameCandles is same without formatting 130k rows: real candles hold no NaN.
func sameCandles(t *testing.T, got, want []market.Candle) {
	t.Helper()
	if !slices.Equal(got, want) {
		same(t, got, want)
	}
}

// TestDropCorrupt covers the outcomes of a failed query on the
// hand-written fixture store: which files it blames, and when the query
// goes on without them (dropCorrupt) or only names them (blame, once rows
// went out).
func TestDropCorrupt(t *testing.T) {
	qerr := errors.New("query failed")
	tests := []struct {
		name      string
		skip      bool
		delivered bool
		corrupt   bool // damage the BTC/USD file of 2024-03-10
		vanished  bool // list a file that no longer exists
		wantGood  int
		wantErr   error
	}{
		{name: "no file to blame", wantErr: qerr},
		{name: "a file moved away since the listing", vanished: true, wantGood: 2},
		{name: "corrupt, strict", corrupt: true, wantErr: parquet.ErrCorrupt},
		{name: "corrupt, skipping", corrupt: true, skip: true, wantGood: 1},
		{name: "corrupt after rows went out", corrupt: true, skip: true, delivered: true, wantErr: parquet.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := fixtureStore(t)
			db.opts.SkipCorrupt = tt.skip
			parts, err := parquet.Partitions(db.root, parquet.DatasetCandles, "BTC/USD", time.Time{}, time.Time{})
			mustNil(t, err)
			files := make([]string, len(parts))
			for i, p := range parts {
				files[i] = p.Path
			}
			if tt.corrupt {
				mustNil(t, os.WriteFile(files[1], []byte("PAR1"), 0o644))
			}
			if tt.vanished {
				files = append(files, filepath.Join(db.root, "candles", "pair_slug=BTC-USD", "date=2024-03-11", parquet.FileName))
			}
			var good []string
			if tt.delivered {
				err = db.blame(t.Context(), qerr)
			} else {
				good, err = db.dropCorrupt(t.Context(), files, qerr)
			}
			if len(good) != tt.wantGood || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("good %d, err %v; want %d, %v", len(good), err, tt.wantGood, tt.wantErr)
			}
			if tt.delivered && !errors.Is(err, qerr) {
				t.Fatalf("blame: %v, want qerr kept", err)
			}
		})
	}
}
