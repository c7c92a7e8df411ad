package scoring

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tickcast/tickcast/parquet"
)

// TestParquetRoundTrip flushes scored, re-scored and expired predictions of
// two days (hand-written fixtures) and reads them back with ReadScored.
func TestParquetRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := newScorer(t, Config{Dir: dir})
	late := 24*60 - 1 // 23:59, whose target is on the next day
	a := pred("ETH-USDT", 1, late, 2500.5, 0.0012, 4)
	a.FeatureAgeMS, a.Cached, a.Stale = 1234, true, true
	b := pred("BTC-USD", 2, late, 100_000, -0.0003, 0)
	b.Model.Name = "zero_return"
	c := pred("ETH-USDT", 1, late+1, 2501, 0, 4) // never scored
	feed(s, []any{a, a, b, c, row("ETH/USDT", late+1, 2510.25), row("BTC/USD", late+2, 99_990)})
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Nothing new: no file.
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	files := parquetNames(t, dir)
	if len(files) != 1 || filepath.Dir(files[0]) != "date=2025-06-01" {
		t.Fatalf("files after the first flush = %v, want one under date=2025-06-01", files)
	}

	// A correction re-scores a; the expiry of c writes it unscored on the next day.
	s.Observe(row("ETH/USDT", late+1, 2490))
	s.Observe(row("ETH/USDT", late+3+ExpireAfter, 2490))
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if files := parquetNames(t, dir); len(files) != 3 {
		t.Fatalf("files after the second flush = %v, want 3", files)
	}
	got, err := ReadScored(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := append(s.Recent("BTC-USD", 2, 0), s.Recent("ETH-USDT", 1, 0)...) // as_of, pair order
	if len(got) != 3 || len(want) != 3 {
		t.Fatalf("read %d rows, recent %d, want 3", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if got[1].Served != 2 || *got[1].RealizedPrice != 2490 || got[2].RealizedPrice != nil {
		t.Errorf("a = %+v, c = %+v: want a served twice re-scored at 2490, c unscored", got[1], got[2])
	}
}

func parquetNames(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := parquet.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		paths[i], _ = filepath.Rel(dir, p)
	}
	return paths
}

func TestReadScoredMissingDir(t *testing.T) {
	rows, err := ReadScored(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(rows) != 0 {
		t.Fatalf("ReadScored(missing) = %v, %v; want no rows, no error", rows, err)
	}
}

// TestFlushFailureKeepsRows: rows of a failed flush are written by the next.
func TestFlushFailureKeepsRows(t *testing.T) {
	base := t.TempDir()
	blocker := filepath.Join(base, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newScorer(t, Config{Dir: filepath.Join(blocker, "predictions")}) // under a file: cannot be made
	feed(s, []any{pred("ETH-USDT", 1, 0, 100, 0, 1), row("ETH/USDT", 1, 101)})
	if err := s.Flush(t.Context()); err == nil {
		t.Fatal("flush under a file succeeded")
	}
	s.cfg.Dir = filepath.Join(base, "predictions")
	feed(s, []any{pred("ETH-USDT", 1, 1, 100, 0, 1), row("ETH/USDT", 2, 101)})
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadScored(s.cfg.Dir)
	if err != nil || len(rows) != 2 {
		t.Fatalf("read %d rows (%v), want 2", len(rows), err)
	}
}

func TestRunFlushesOnStop(t *testing.T) {
	s := newScorer(t, Config{Dir: t.TempDir()})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, time.Hour) }()
	feed(s, []any{pred("ETH-USDT", 1, 0, 100, 0, 1), row("ETH/USDT", 1, 101)})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rows, err := ReadScored(s.cfg.Dir); err != nil || len(rows) != 1 {
		t.Fatalf("read %d rows (%v) after Run stopped, want 1", len(rows), err)
	}
}

func TestFlushWithoutDir(t *testing.T) {
	s := newScorer(t, Config{})
	feed(s, []any{pred("ETH-USDT", 1, 0, 100, 0, 1), row("ETH/USDT", 1, 101)})
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(s.take(true)); n != 0 {
		t.Errorf("%d rows still queued after a flush without a dir", n)
	}
	if got := s.Scores(); len(got) != 1 {
		t.Errorf("scores = %+v, want one", got)
	}
}
