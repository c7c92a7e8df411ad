package retention

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fixtures are hand-written: JSON lines under late/, deadletter/ and
// gaps/ with chosen modification times.

var now = time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)

func write(t *testing.T, dir, rel string, bytes int, modified time.Time) {
	t.Helper()
	path := filepath.Join(dir, rel)
	mustNil(t, os.MkdirAll(filepath.Dir(path), 0o755))
	line := `{"pair":"BTC/USD","trade_id":1}` + "\n"
	mustNil(t, os.WriteFile(path, []byte(strings.Repeat(line, bytes/len(line)+1)), 0o644))
	mustNil(t, os.Chtimes(path, modified, modified))
}

func TestCompact(t *testing.T) {
	old, recent := now.Add(-40*24*time.Hour), now.Add(-time.Hour)
	files := []struct {
		rel      string
		bytes    int
		modified time.Time
		want     string // deleted, rotated, kept
	}{
		{"deadletter/2026-10-28.jsonl", 100, old, "deleted"},
		{"deadletter/2026-12-07.jsonl", 100, recent, "kept"},
		{"deadletter/2026-12-06.jsonl", 2000, recent, "rotated"}, // oversized
		{"late/BTC-USD.jsonl", 100, old, "rotated"},              // its writer may hold it: renamed, not deleted
		{"late/ETH-USD.jsonl", 2000, recent, "rotated"},
		{"late/replay.jsonl", 100, recent, "kept"},
		{"gaps/BTC-USD.20261001T000000Z.jsonl", 100, old, "deleted"},
		{"gaps/BTC-USD.20261206T000000Z.jsonl", 2000, recent, "kept"}, // rotated already
		{"gaps/notes.txt", 100, old, "kept"},
	}
	dir := t.TempDir()
	for _, f := range files {
		write(t, dir, f.rel, f.bytes, f.modified)
	}
	r, err := Compact(dir, Options{Keep: 30 * 24 * time.Hour, MaxBytes: 1000}, now)
	mustNil(t, err)
	for _, f := range files {
		got := "kept"
		switch {
		case slices.Contains(r.Deleted, f.rel):
			got = "deleted"
		case slices.Contains(r.Rotated, f.rel):
			got = "rotated"
		}
		_, statErr := os.Stat(filepath.Join(dir, f.rel))
		if got != f.want || (got == "kept") != (statErr == nil) {
			t.Errorf("%s: %s (stat %v), want %s", f.rel, got, statErr, f.want)
		}
	}
	rotated, _ := filepath.Glob(filepath.Join(dir, "late", "BTC-USD.20261207T020000Z.jsonl"))
	if len(rotated) != 1 || r.Kept != 3 || r.Freed == 0 {
		t.Fatalf("rotated %q, report %+v", rotated, r)
	}
	// Run again after the retention: the rotated and per-day files go, the idle replay.jsonl is rotated.
	later := now.Add(31 * 24 * time.Hour)
	for _, f := range []string{"late/BTC-USD.20261207T020000Z.jsonl", "late/ETH-USD.20261207T020000Z.jsonl"} {
		mustNil(t, os.Chtimes(filepath.Join(dir, f), now, now))
	}
	r, err = Compact(dir, Options{}, later)
	mustNil(t, err)
	if len(r.Deleted) != 5 || !slices.Contains(r.Rotated, "late/replay.jsonl") || !slices.Contains(r.Deleted, "late/BTC-USD.20261207T020000Z.jsonl") {
		t.Fatalf("second run deleted %q", r.Deleted)
	}
}

// TestRotateKeepsAppends: a writer holding the file (as Benthos' file
// output does) goes on appending to the rotated file; no line is lost.
func TestRotateKeepsAppends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "late", "BTC-USD.jsonl")
	write(t, dir, "late/BTC-USD.jsonl", 2000, now)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	mustNil(t, err)
	defer f.Close()
	r, err := Compact(dir, Options{MaxBytes: 1000}, now)
	mustNil(t, err)
	if len(r.Rotated) != 1 {
		t.Fatalf("rotated %q", r.Rotated)
	}
	_, err = f.WriteString("{\"after\":true}\n")
	mustNil(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "late", "BTC-USD.20261207T020000Z.jsonl"))
	mustNil(t, err)
	if !strings.HasSuffix(string(b), "{\"after\":true}\n") || len(b) < 2000 {
		t.Fatalf("rotated file holds %d bytes, ends %q", len(b), b[len(b)-20:])
	}
	// A second rotation in the same second refuses rather than overwrite.
	write(t, dir, "late/BTC-USD.jsonl", 2000, now)
	if _, err := Compact(dir, Options{MaxBytes: 1000}, now); err == nil {
		t.Fatal("rotation over an existing file succeeded")
	}
}

func TestKeepIsAtLeastADay(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "deadletter/2026-12-07.jsonl", 100, now.Add(-2*time.Hour))
	r, err := Compact(dir, Options{Keep: time.Hour}, now)
	mustNil(t, err)
	if len(r.Deleted)+len(r.Rotated) != 0 {
		t.Fatalf("today's dead letters touched: %+v", r)
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
