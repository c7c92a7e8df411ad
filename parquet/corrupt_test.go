package parquet

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
)

// minuteCandles are hand-made: n one-minute BTC/USD candles from start.
func minuteCandles(start time.Time, n int) []market.Candle {
	cs := make([]market.Candle, n)
	for i := range cs {
		s := start.Add(time.Duration(i) * time.Minute)
		p := 100 + float64(i%97)
		cs[i] = market.Candle{Pair: "BTC/USD", Start: s, End: s.Add(time.Minute), Open: p, High: p + 1, Low: p - 1,
			Close: p + 0.5, Volume: float64(i % 13), Trades: int64(i % 7), Complete: true}
	}
	return cs
}

// corruptions damage a store file the ways disks and people do.
var corruptions = []struct {
	name   string
	damage func(b []byte) []byte
}{
	{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }},
	{"empty", func(b []byte) []byte { return nil }},
	{"footer overwritten", func(b []byte) []byte {
		b = slices.Clone(b)
		copy(b[len(b)-12:], "garbagegarba")
		return b
	}},
	{"pages zeroed", func(b []byte) []byte {
		b = slices.Clone(b)
		clear(b[4 : len(b)/2])
		return b
	}},
	{"not parquet", func(b []byte) []byte { return []byte("{\"not\":\"parquet\"}\n") }},
}

// threeDays stores three days of candles and damages the middle day.
func threeDays(t *testing.T, damage func([]byte) []byte) (*Store, string) {
	t.Helper()
	s := openStore(t, Options{})
	mustNil(t, s.AddCandles(minuteCandles(at("2024-03-09T00:00:00Z"), 3*1440)))
	mustNil(t, s.Flush(t.Context()))
	bad := filepath.Join(PartitionDir(s.Root(), DatasetCandles, "BTC/USD", at("2024-03-10T00:00:00Z")), FileName)
	mustNil(t, os.WriteFile(bad, damage(readBytes(t, bad)), 0o644))
	return s, bad
}

func TestCorruptFileIsNamed(t *testing.T) {
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			s, bad := threeDays(t, c.damage)
			_, err := ReadCandles(s.Root(), "BTC/USD", time.Time{}, time.Time{})
			var ce *CorruptError
			if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) || ce.Path != bad || !strings.Contains(err.Error(), bad) {
				t.Fatalf("err %v, want a CorruptError naming %s", err, bad)
			}
			// The other days stay readable.
			other, err := ReadCandles(s.Root(), "BTC/USD", time.Time{}, at("2024-03-10T00:00:00Z"))
			mustNil(t, err)
			if len(other) != 1440 {
				t.Fatalf("day before the corrupt one: %d candles, want 1440", len(other))
			}
		})
	}
}

func TestReaderSkipsCorrupt(t *testing.T) {
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			s, bad := threeDays(t, c.damage)
			var logs bytes.Buffer
			r := &Reader{Root: s.Root(), SkipCorrupt: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			got, err := r.Candles("BTC/USD", time.Time{}, time.Time{})
			mustNil(t, err)
			all := minuteCandles(at("2024-03-09T00:00:00Z"), 3*1440)
			want := slices.Concat(all[:1440], all[2*1440:])
			same(t, got, want)
			if !slices.Equal(r.Skipped(), []string{bad}) || !strings.Contains(logs.String(), bad) {
				t.Fatalf("skipped %q, logs %q: want %s reported", r.Skipped(), logs.String(), bad)
			}
			strict := &Reader{Root: s.Root()}
			if _, err := strict.Candles("BTC/USD", time.Time{}, time.Time{}); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("strict reader: %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestWriteQuarantinesCorruptDay: the next write of a corrupt day moves the
// file aside and writes the day from its new rows; the other days keep theirs.
func TestWriteQuarantinesCorruptDay(t *testing.T) {
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			s, bad := threeDays(t, c.damage)
			orig := readBytes(t, bad)
			fresh := minuteCandles(at("2024-03-10T12:00:00Z"), 10)
			mustNil(t, s.AddCandles(fresh))
			mustNil(t, s.Flush(t.Context()))
			got, err := ReadCandles(s.Root(), "BTC/USD", time.Time{}, time.Time{})
			mustNil(t, err)
			all := minuteCandles(at("2024-03-09T00:00:00Z"), 3*1440)
			want := slices.Concat(all[:1440], fresh, all[2*1440:])
			same(t, got, want)
			moved, err := filepath.Glob(filepath.Join(filepath.Dir(s.Root()), "quarantine", filepath.Base(s.Root()),
				"candles", "pair_slug=BTC-USD", "date=2024-03-10", "data-*.parquet"))
			mustNil(t, err)
			if len(moved) != 1 || !bytes.Equal(readBytes(t, moved[0]), orig) {
				t.Fatalf("quarantined %q, want the corrupt file's bytes once", moved)
			}
			bads, files, err := Check(t.Context(), s.Root())
			mustNil(t, err)
			if len(bads) != 0 || files != 3 {
				t.Fatalf("check after the write: %d corrupt of %d files, want 0 of 3", len(bads), files)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	s, bad := threeDays(t, corruptions[0].damage)
	mustNil(t, s.AddTrades(fixtureTrades()))
	mustNil(t, s.AddFeatures(fixtureFeatures()))
	mustNil(t, s.Flush(t.Context()))
	bads, files, err := Check(t.Context(), s.Root())
	mustNil(t, err)
	if len(bads) != 1 || bads[0].Path != bad || files != 3+3+3 {
		t.Fatalf("check: %v in %d files, want %s in 9", bads, files, bad)
	}
	empty, files, err := Check(t.Context(), filepath.Join(t.TempDir(), "none"))
	if err != nil || len(empty) != 0 || files != 0 {
		t.Fatalf("missing root: %v %d %v", empty, files, err)
	}
}
