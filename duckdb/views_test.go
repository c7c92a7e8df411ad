package duckdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/scoring"
)

// tempDirs are the stores built once per test binary, removed by TestMain.
var tempDirs struct {
	sync.Mutex
	paths []string
}

func tempDir(pattern string) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err == nil {
		tempDirs.Lock()
		tempDirs.paths = append(tempDirs.paths, dir)
		tempDirs.Unlock()
	}
	return dir, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range tempDirs.paths {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// realDataDir is a data directory holding the real 90 days of Binance
// ETH/USDT minute candles and their feature rows (market.Features over
// them), built once per test binary; no trades, no predictions.
var realDataDir = sync.OnceValues(func() (string, error) {
	return buildRealStore("duckdb-real-datadir-", true, realPair{realdata.BinanceETH90d, "ETH/USDT"})
})

// realPair is a file of real Binance minute candles and its pair.
type realPair struct{ file, pair string }

// buildRealStore is a new data directory whose store holds the candles of
// each pair, and their feature rows (market.Features over them) when
// features is set.
func buildRealStore(pattern string, features bool, pairs ...realPair) (string, error) {
	dir, ok := realdata.Dir()
	if !ok {
		return "", errors.New("no shared data")
	}
	root, err := tempDir(pattern)
	if err != nil {
		return "", err
	}
	s, err := parquet.Open(datadir.Parquet(root), parquet.Options{FlushRows: 1 << 20})
	if err != nil {
		return "", err
	}
	for _, p := range pairs {
		cs, _, err := archive.ReadCandles(filepath.Join(dir, p.file), archive.BinanceKlines, p.pair)
		if err != nil {
			return "", err
		}
		if err := s.AddCandles(cs); err != nil {
			return "", err
		}
		if !features {
			continue
		}
		f := market.NewFeatures()
		rows := make([]market.FeatureRow, len(cs))
		for i, c := range cs {
			if rows[i], err = f.Update(c); err != nil {
				return "", err
			}
		}
		if err := s.AddFeatures(rows); err != nil {
			return "", err
		}
	}
	return root, s.Close(context.Background())
}

// copyRealDataDir gives a test its own copy of realDataDir.
func copyRealDataDir(tb testing.TB) string {
	tb.Helper()
	realdata.Path(tb, realdata.BinanceETH90d) // skips without the data
	return copyStore(tb, realDataDir)
}

// copyStore gives a test its own copy of the store build makes.
func copyStore(tb testing.TB, build func() (string, error)) string {
	tb.Helper()
	src, err := build()
	if err != nil {
		tb.Fatal(err)
	}
	dst := tb.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		tb.Fatal(err)
	}
	return dst
}

func openDataDir(t *testing.T, dir string, opts Options) *DB {
	t.Helper()
	db, err := OpenDataDir(t.Context(), dir, opts)
	mustNil(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// rowsOf runs text and returns its rows, each value by fmt.Sprint.
func rowsOf(t *testing.T, db *DB, text string) [][]string {
	t.Helper()
	var out [][]string
	err := db.Query(t.Context(), text, func(_ []string, row []any) error {
		if row == nil {
			return nil
		}
		s := make([]string, len(row))
		for i, v := range row {
			s[i] = fmt.Sprint(v)
		}
		out = append(out, s)
		return nil
	})
	mustNil(t, err)
	return out
}

func TestViewsOfRealStore(t *testing.T) {
	dir := copyRealDataDir(t)
	reg, err := registry.Open(dir)
	mustNil(t, err)
	_, err = reg.EnsureBaseline(t.Context(), "ETH/USDT", 5)
	mustNil(t, err)
	m, err := reg.Register(t.Context(), registry.Meta{Pair: "ETH/USDT", Horizon: 5, Name: "xgboost",
		Metrics: map[string]float64{"model_mae": 0.0012, "baseline_mae": 0.0013, "skill": 0.077}, Params: map[string]string{"max_depth": "6"}}, []byte("model bytes"))
	mustNil(t, err)
	mustNil(t, reg.SetAlias(t.Context(), "ETH/USDT", 5, registry.Champion, m.Version, "test"))
	db := openDataDir(t, dir, Options{})

	counts := rowsOf(t, db, `SELECT (SELECT count(*) FROM candles), (SELECT count(*) FROM features), `+
		`(SELECT count(*) FROM trades), (SELECT count(*) FROM predictions), (SELECT count(*) FROM features WHERE date = '2025-06-15')`)
	if want := []string{"130708", "130708", "0", "0", "1440"}; !slices.Equal(counts[0], want) {
		t.Fatalf("counts %v, want %v", counts[0], want)
	}
	models := rowsOf(t, db, `SELECT version, name, status, metrics['skill'], skill, params['max_depth'], sha256 IS NOT NULL FROM models ORDER BY version`)
	if len(models) != 2 || !slices.Equal(models[1], []string{"1", "xgboost", "champion", "0.077", "0.077", "6", "true"}) || models[0][1] != registry.BaselineName {
		t.Fatalf("models %v", models)
	}

	// The views read what the parquet package reads.
	want, err := parquet.ReadFeatures(datadir.Parquet(dir), "ETH/USDT", time.Time{}, time.Time{})
	mustNil(t, err)
	got, err := db.Features(t.Context(), Query{Pair: "ETH-USDT"})
	mustNil(t, err)
	if len(got) != len(want) || !got[len(got)-1].TS.Equal(want[len(want)-1].TS) || fmt.Sprint(got[500]) != fmt.Sprint(want[500]) {
		t.Fatalf("features through the view differ: %d rows, want %d; row 500 %v, want %v", len(got), len(want), got[500], want[500])
	}
	day := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	wantC, err := parquet.ReadCandles(datadir.Parquet(dir), "ETH/USDT", day, day.Add(time.Hour))
	mustNil(t, err)
	gotC, err := db.Candles(t.Context(), Query{Pair: "ETH/USDT", From: day, To: day.Add(time.Hour)})
	mustNil(t, err)
	sameCandles(t, gotC, wantC)
}

// TestEmptyViewsMatchFiles: a dataset the store lacks is a view of no rows
// with the columns its files have.
func TestEmptyViewsMatchFiles(t *testing.T) {
	withFiles := fixtureStore(t)
	empty := openDataDir(t, t.TempDir(), Options{})
	for _, v := range []string{ViewTrades, ViewCandles, ViewFeatures} {
		a, b := rowsOf(t, withFiles, "DESCRIBE "+v), rowsOf(t, empty, "DESCRIBE "+v)
		if !slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x[:2], y[:2]) }) {
			t.Errorf("%s: columns of the files %v, of the empty view %v", v, a, b)
		}
		if n := rowsOf(t, empty, "SELECT count(*) FROM "+v); n[0][0] != "0" {
			t.Errorf("empty %s: %v rows", v, n)
		}
	}
	for _, v := range []string{ViewPredictions, ViewModels} {
		if n := rowsOf(t, empty, "SELECT count(*) FROM "+v); n[0][0] != "0" {
			t.Errorf("empty %s: %v rows", v, n)
		}
	}
}

func TestQueryRefusesWritesAndBadSQL(t *testing.T) {
	dir := t.TempDir()
	db := openDataDir(t, dir, Options{})
	out := filepath.Join(dir, "out.csv")
	for _, q := range []string{
		"COPY (SELECT 1) TO '" + out + "'",
		"CREATE TABLE x AS SELECT 1",
		"INSERT INTO models (pair) VALUES ('x')",
		"ATTACH '" + filepath.Join(dir, "x.duckdb") + "'",
		"SELECT 1; COPY (SELECT 1) TO '" + out + "'",
	} {
		if err := db.Query(t.Context(), q, func([]string, []any) error { return nil }); err == nil {
			t.Errorf("%s: no error", q)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the data directory was written: %v", entries)
	}
	err := db.Query(t.Context(), "SELEKT * FROM candles", func([]string, []any) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "syntax error") || errors.Is(err, parquet.ErrCorrupt) {
		t.Fatalf("bad SQL: %v", err)
	}
	err = db.Query(t.Context(), "SELECT nope FROM candles", func([]string, []any) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown column: %v", err)
	}
	err = db.Query(t.Context(), "SELECT CAST('abc' AS INTEGER)", func([]string, []any) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "abc") || fileError(err) {
		t.Fatalf("a value DuckDB cannot convert: %v (blamed on files: %v)", err, fileError(err))
	}
}

// TestViewsCorruptDay: a truncated day fails the open (its footer is read
// to create the view), zeroed pages fail the queries that read them;
// SkipCorrupt leaves either out and lists it.
func TestViewsCorruptDay(t *testing.T) {
	day := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			dir := copyRealDataDir(t)
			bad := filepath.Join(parquet.PartitionDir(datadir.Parquet(dir), parquet.DatasetCandles, "ETH/USDT", day), parquet.FileName)
			b, err := os.ReadFile(bad)
			mustNil(t, err)
			mustNil(t, os.WriteFile(bad, c.damage(b), 0o644))

			err = func() error {
				db, err := OpenDataDir(t.Context(), dir, Options{})
				if err != nil {
					return err
				}
				defer db.Close()
				return db.Query(t.Context(), "SELECT sum(close) FROM candles", func([]string, []any) error { return nil })
			}()
			if !errors.Is(err, parquet.ErrCorrupt) || !strings.Contains(err.Error(), bad) {
				t.Fatalf("strict: %v, want ErrCorrupt naming %s", err, bad)
			}
			db := openDataDir(t, dir, Options{SkipCorrupt: true})
			// Every value read: a count alone may read no page.
			rows, days := 0, map[any]bool{}
			mustNil(t, db.Query(t.Context(), "SELECT * FROM candles", func(cols []string, row []any) error {
				if row == nil {
					return nil
				}
				rows, days[row[len(row)-1]] = rows+1, true
				return nil
			}))
			if rows != 130_708-1440 || len(days) != 90 || !slices.Equal(db.Skipped(), []string{bad}) {
				t.Fatalf("skipping: %d rows of %d days, skipped %v", rows, len(days), db.Skipped())
			}
		})
	}
}

// TestPredictionsView: the scorer's files read back as scoring.ReadScored
// reads them, a re-scored prediction as last written.
func TestPredictionsView(t *testing.T) {
	path := realdata.Path(t, realdata.BinanceETH90d)
	cs, _, err := archive.ReadCandles(path, archive.BinanceKlines, "ETH/USDT")
	mustNil(t, err)
	dir := t.TempDir()
	s, err := scoring.New(scoring.Config{Dir: datadir.Predictions(dir)})
	mustNil(t, err)
	f := market.NewFeatures()
	var rows []market.FeatureRow
	for _, c := range cs[:300] {
		r, err := f.Update(c)
		mustNil(t, err)
		rows = append(rows, r)
		s.Record(predict.Prediction{Pair: market.PairSlug(r.Pair), AsOf: r.TS, Horizon: 1, TargetTime: r.TS.Add(time.Minute),
			PredictedReturn: 0.0001, PredictedPrice: r.Close * math.Exp(0.0001), LastPrice: r.Close, Model: predict.ModelRef{Name: "fixture", Version: 3}})
		s.Observe(r)
	}
	mustNil(t, s.Flush(t.Context()))
	fixed := rows[280]
	fixed.Close += 1 // a corrected row re-scores the prediction made one candle before
	s.Observe(fixed)
	mustNil(t, s.Flush(t.Context()))
	want, err := scoring.ReadScored(datadir.Predictions(dir))
	mustNil(t, err)

	db := openDataDir(t, dir, Options{})
	got := rowsOf(t, db, `SELECT count(*), sum(abs_error), count(realized_price) FROM predictions`)
	var sum float64
	scored := 0
	for _, w := range want {
		if w.AbsError != nil {
			sum += *w.AbsError
			scored++
		}
	}
	if len(want) < 290 || got[0][0] != fmt.Sprint(len(want)) || got[0][2] != fmt.Sprint(scored) || !near(got[0][1], sum) {
		t.Fatalf("view: %v; want %d rows, %d scored, sum of errors %v", got[0], len(want), scored, sum)
	}
	refixed := rowsOf(t, db, `SELECT realized_price FROM predictions WHERE target_time = '`+fixed.TS.Format(time.RFC3339)+`'`)
	i := slices.IndexFunc(want, func(w scoring.Scored) bool { return w.TargetTime.Equal(fixed.TS) })
	if len(refixed) != 1 || i < 0 || refixed[0][0] != fmt.Sprint(*want[i].RealizedPrice) || *want[i].RealizedPrice != fixed.Close {
		t.Fatalf("re-scored prediction: %v, want realized %v (the corrected close %v)", refixed, *want[i].RealizedPrice, fixed.Close)
	}
}

func near(s string, want float64) bool {
	got, err := strconv.ParseFloat(s, 64)
	return err == nil && math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}
