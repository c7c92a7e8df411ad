package market

import (
	"math"
	"testing"
	"time"
)

// crossRow is a hand-written base row (a test fixture, not market data):
// ret_1 = r, rvol_30 = v, every other feature NaN.
func crossRow(pair string, minute int, r, v float64, rev int) FeatureRow {
	row := FeatureRow{Pair: pair, TS: featT0.Add(time.Duration(minute) * time.Minute), SchemaVersion: FeatureSchemaVersion,
		Warm: true, Complete: true, Revision: rev}
	for i := range row.Values {
		row.Values[i] = math.NaN()
	}
	row.Values[FRet1], row.Values[FRVol30] = r, v
	return row
}

func TestCrossFill(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name               string
		base               FeatureRow
		others             []FeatureRow
		ret1, rvol30, ret5 float64
		revision           int
	}{
		{"no other pair", crossRow("A", 1, 0.1, 1, 2), nil, nan, nan, nan, 2},
		{"one other pair", crossRow("A", 1, 0.1, 1, 0), []FeatureRow{crossRow("B", 1, 0.2, 3, 0)}, 0.2, 3, nan, 1},
		{"mean of two, revisions added", crossRow("A", 1, 0.1, 1, 1),
			[]FeatureRow{crossRow("B", 1, 0.2, 3, 2), crossRow("C", 1, 0.4, 5, 0)}, 0.3, 4, nan, 1 + 3 + 1},
		{"a missing value is skipped", crossRow("A", 1, 0.1, 1, 0),
			[]FeatureRow{crossRow("B", 1, nan, 3, 0), crossRow("C", 1, 0.4, nan, 0)}, 0.4, 3, nan, 2},
		{"own pair and other TS ignored", crossRow("A", 1, 0.1, 1, 0),
			[]FeatureRow{crossRow("A", 1, 9, 9, 5), crossRow("B", 2, 9, 9, 5)}, nan, nan, nan, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CrossFill(tc.base, tc.others)
			featWant(t, got, FXRet1, tc.ret1)
			featWant(t, got, FXRVol30, tc.rvol30)
			featWant(t, got, FXRet5, tc.ret5)
			if got.Revision != tc.revision {
				t.Errorf("revision %d, want %d", got.Revision, tc.revision)
			}
			for i := range FXRet1 {
				if !featSameFloat(got.Values[i], tc.base.Values[i]) {
					t.Errorf("%s changed", FeatureNames[i])
				}
			}
		})
	}
	// The order of others does not change a bit of the result.
	b, c, d := crossRow("B", 1, 0.1, 0.3, 0), crossRow("C", 1, 0.2, 0.7, 0), crossRow("D", 1, 0.3, 1.1, 0)
	x := CrossFill(crossRow("A", 1, 0, 0, 0), []FeatureRow{b, c, d})
	y := CrossFill(crossRow("A", 1, 0, 0, 0), []FeatureRow{d, b, c})
	if !featSameRow(x, y) {
		t.Fatalf("order changed the row:\n%s", featRowDiff(x, y))
	}
}

// crossEmit is what a test saw come out of a Cross: the last row per
// (pair, minute), and the count of rows.
type crossEmit struct {
	last map[string]FeatureRow
	n    int
}

func (e *crossEmit) add(rows []FeatureRow) {
	if e.last == nil {
		e.last = map[string]FeatureRow{}
	}
	for _, r := range rows {
		k := r.Pair + r.TS.Format(time.RFC3339)
		if old, ok := e.last[k]; ok && r.Revision < old.Revision {
			continue
		}
		e.last[k] = r
		e.n++
	}
}

func newTestCross(t *testing.T, pairs []string, grace time.Duration) *Cross {
	t.Helper()
	x, err := NewCross(CrossConfig{Pairs: pairs, Grace: grace, Horizon: FeatureWindow * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestCrossAlignsPairsOnTS(t *testing.T) {
	x := newTestCross(t, []string{"A", "B"}, 2*time.Minute)
	if out := x.Add(crossRow("A", 1, 0.1, 1, 0), nil); len(out) != 0 {
		t.Fatalf("A at 1 released before B: %v", out)
	}
	out := x.Add(crossRow("B", 1, 0.2, 2, 0), nil)
	if len(out) != 2 || out[0].Pair != "A" || out[1].Pair != "B" {
		t.Fatalf("released %d rows, want A and B at 1", len(out))
	}
	featWant(t, out[0], FXRet1, 0.2)
	featWant(t, out[1], FXRet1, 0.1)
	if s := x.Stats(); s.Released != 2 || s.Missing != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestCrossGraceMarksAPairMissingAndALateRowJoins(t *testing.T) {
	x := newTestCross(t, []string{"A", "B"}, 2*time.Minute)
	var e crossEmit
	e.add(x.Add(crossRow("A", 1, 0.1, 1, 0), nil))
	e.add(x.Add(crossRow("B", 1, 0.2, 2, 0), nil))
	// B stops: A's rows wait while B lags by at most the grace.
	e.add(x.Add(crossRow("A", 2, 0.1, 1, 0), nil))
	e.add(x.Add(crossRow("A", 3, 0.1, 1, 0), nil))
	if e.n != 2 {
		t.Fatalf("%d rows out while B is within its grace, want 2", e.n)
	}
	out := x.Add(crossRow("A", 4, 0.1, 1, 0), nil) // B now 3 minutes behind: missing
	if len(out) != 3 {
		t.Fatalf("released %d rows past B's grace, want A at 2, 3, 4", len(out))
	}
	e.add(out)
	for _, r := range out {
		featWant(t, r, FXRet1, math.NaN())
	}
	// Nothing waits for B now.
	if out := x.Add(crossRow("A", 5, 0.1, 1, 0), nil); len(out) != 1 {
		t.Fatalf("A at 5: %d rows, want 1 (B is missing, not waited for)", len(out))
	}
	// B's row at 3 comes late: it and A's row at 3 come out, A's with B's values and a higher revision.
	out = x.Add(crossRow("B", 3, 0.5, 7, 0), nil)
	if len(out) != 2 {
		t.Fatalf("late B at 3: %d rows, want A and B", len(out))
	}
	a := out[0]
	if a.Pair != "A" || !a.TS.Equal(featT0.Add(3*time.Minute)) || a.Revision != 1 {
		t.Fatalf("re-emitted %s at %s revision %d, want A at 3 revision 1", a.Pair, a.TS, a.Revision)
	}
	featWant(t, a, FXRet1, 0.5)
	featWant(t, a, FXRVol30, 7)
	if s := x.Stats(); s.Reemitted != 1 || s.Missing != 4 {
		t.Errorf("stats %+v, want 1 re-emitted, 4 missing", s)
	}
}

func TestCrossFlushReleasesEverything(t *testing.T) {
	x := newTestCross(t, []string{"A", "B"}, time.Hour)
	x.Add(crossRow("A", 1, 0.1, 1, 0), nil)
	x.Add(crossRow("B", 1, 0.1, 1, 0), nil)
	x.Add(crossRow("A", 2, 0.1, 1, 0), nil)
	if out := x.Flush(nil); len(out) != 1 || out[0].Pair != "A" {
		t.Fatalf("flush gave %d rows, want A at 2", len(out))
	}
	if out := x.Flush(nil); len(out) != 0 {
		t.Fatalf("a second flush gave %d rows", len(out))
	}
}

func TestCrossCorrectionReemitsTheOtherPairs(t *testing.T) {
	x := newTestCross(t, nil, time.Minute)
	x.Add(crossRow("A", 1, 0.1, 1, 0), nil)
	x.Add(crossRow("B", 1, 0.2, 2, 0), nil)
	out := x.Add(crossRow("A", 1, 0.3, 1, 1), nil) // A's candle at 1 corrected
	if len(out) != 2 {
		t.Fatalf("%d rows after a correction, want A and B", len(out))
	}
	if b := out[1]; b.Pair != "B" || b.Revision != 2 {
		t.Fatalf("B re-emitted with revision %d, want 2 (0 + 1 + A's 1)", b.Revision)
	}
	featWant(t, out[1], FXRet1, 0.3)
}

func TestCrossTooLateAndConfig(t *testing.T) {
	x := newTestCross(t, nil, time.Minute)
	x.Add(crossRow("A", 500, 0.1, 1, 0), nil)
	out := x.Add(crossRow("B", 1, 0.1, 1, 0), nil) // 499 minutes late: beyond the horizon
	if len(out) != 1 || x.Stats().TooLate != 1 {
		t.Fatalf("too-late row: %d rows out, stats %+v", len(out), x.Stats())
	}
	for _, cfg := range []CrossConfig{{Grace: -1, Horizon: time.Hour}, {Horizon: 0}, {Grace: 2 * time.Hour, Horizon: time.Hour}} {
		if _, err := NewCross(cfg); err == nil {
			t.Errorf("NewCross(%+v) accepted", cfg)
		}
	}
}

// BenchmarkCrossAdd: two pairs' rows, aligned (the live case), through a Cross.
func BenchmarkCrossAdd(b *testing.B) {
	x, err := NewCross(CrossConfig{Grace: time.Minute, Horizon: 2 * FeatureWindow * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	a, c := crossRow("A", 0, 0.1, 1, 0), crossRow("B", 0, 0.2, 2, 0)
	var out []FeatureRow
	b.ReportAllocs()
	for i := range b.N {
		ts := featT0.Add(time.Duration(i) * time.Minute)
		a.TS, c.TS = ts, ts
		out = x.Add(a, out[:0])
		out = x.Add(c, out[:0])
	}
}
