package drift

import (
	"math"
	"slices"
	"testing"
)

// The fixtures below are hand-written: returns of 0.01 (r² = 1e-4) make the
// reference variance 1e-4, so a return of 0.025 is z = 6.25, 0.03 is z = 9
// and 0.1 is z = 100; the expected firings and figures are worked by hand in
// the comments.

func seq(parts ...[]float64) []float64 { return slices.Concat(parts...) }

func rep(n int, r float64) []float64 { return slices.Repeat([]float64{r}, n) }

func TestRegimeFixtures(t *testing.T) {
	ratio := RegimeConfig{Rule: RuleRatio, RefRows: 10, Lag: 5, Window: 2, K: 4}
	cusum := RegimeConfig{Rule: RuleCUSUM, RefRows: 10, Lag: 5, K: 4, H: 3}
	clipped := ratio
	clipped.Clip = 5
	cooled := cusum
	cooled.Cooldown = 3
	for _, c := range []struct {
		name  string
		cfg   RegimeConfig
		r     []float64
		fires []int
		stat  float64 // Figures["stat"] of the first firing
	}{
		// RefRows + Lag = 15 returns of 0.01 first; until index 19 the
		// reference (returns t−14 … t−5) holds only those: σ² = 1e-4.
		// Index 15: window z = (1 + 6.25)/2 = 3.625 ≤ 4; index 16:
		// (6.25 + 6.25)/2 = 6.25 > 4 fires; index 17 still over: not re-armed.
		{"ratio fires once per crossing", ratio, seq(rep(15, 0.01), rep(3, 0.025)), []int{16}, 6.25},
		// Back under K at index 17 ((6.25 + 1)/2 = 3.625) re-arms it; 18:
		// 3.625; 19: 6.25 fires again.
		{"ratio re-armed under K", ratio, seq(rep(15, 0.01), rep(2, 0.025), rep(1, 0.01), rep(2, 0.025)), []int{16, 19}, 6.25},
		// One jump, z = 100: (1 + 100)/2 = 50.5 fires unclipped ...
		{"one jump fires unclipped", ratio, seq(rep(15, 0.01), []float64{0.1, 0.01}), []int{15}, 50.5},
		// ... but clipped to 5: (1 + 5)/2 = 3 and (5 + 1)/2 = 3, never over 4.
		{"one jump clipped", clipped, seq(rep(15, 0.01), []float64{0.1, 0.01}), nil, 0},
		// Nothing before RefRows + Lag = 15 returns, however large.
		{"blind before a reference", ratio, rep(14, 0.1), nil, 0},
		// NaN is no return: the 15 returns that count come after it.
		{"NaN ignored", ratio, seq([]float64{math.NaN()}, rep(15, 0.01), rep(2, 0.025)), []int{17}, 6.25},
		// A flat reference day (σ² = 0) decides nothing.
		{"flat reference", ratio, seq(rep(15, 0), rep(3, 0.01)), nil, 0},
		// CUSUM, K = 4: step ½(0.75·z − ln 4); z = 1 → −0.318 (S stays 0),
		// z = 9 → 2.6819. Index 15: S = 2.6819 ≤ 3; 16: 5.3637 > 3 fires and
		// restarts; 17: 2.6819; 18: 5.3637 fires.
		{"cusum", cusum, seq(rep(15, 0.01), rep(4, 0.03)), []int{16, 18}, 5.3637},
		// With Cooldown 3 the second firing waits: 17 and 18 are cooling
		// (S = 2.68, 5.36), 19 fires with S = 8.05.
		{"cusum cooldown", cooled, seq(rep(15, 0.01), rep(5, 0.03)), []int{16, 19}, 5.3637},
	} {
		g, err := NewRegime(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		var fires []int
		var first Decision
		for i, r := range c.r {
			d := g.AddReturn(r)
			if d.Kind != KindRegime {
				t.Fatalf("%s: kind %q", c.name, d.Kind)
			}
			if d.Fire {
				if fires == nil {
					first = d
				}
				fires = append(fires, i)
			}
		}
		if !slices.Equal(fires, c.fires) {
			t.Errorf("%s: fired at %v, want %v", c.name, fires, c.fires)
			continue
		}
		if fires != nil {
			if math.Abs(first.Figures["stat"]-c.stat) > 1e-3 || first.Figures["limit"] == 0 || first.Reason == "" {
				t.Errorf("%s: first firing %+v, want stat %g", c.name, first, c.stat)
			}
			if math.Abs(first.Figures["ref_var"]-1e-4) > 1e-12 {
				t.Errorf("%s: reference variance %g, want 1e-4", c.name, first.Figures["ref_var"])
			}
		}
	}
}

// The reference is the RefRows returns before the last Lag: a new regime
// enters it only Lag returns later.
func TestRegimeReferenceLag(t *testing.T) {
	g, _ := NewRegime(RegimeConfig{Rule: RuleRatio, RefRows: 10, Lag: 3, Window: 2, K: 100})
	for i, r := range seq(rep(13, 0.01), rep(4, 0.03)) {
		g.AddReturn(r)
		ref, _ := g.State()
		want := 1e-4 // rows 0–12: 0.01; rows 13– (0.03, r² = 9e-4) enter at 16
		switch {
		case i < 12:
			want = 0
		case i == 16: // rows 4–13: nine of 1e-4, one of 9e-4
			want = (9*1e-4 + 9e-4) / 10
		}
		if math.Abs(ref-want) > 1e-12 {
			t.Errorf("after return %d: reference variance %g, want %g", i, ref, want)
		}
	}
	// Over many rows the running sum stays exact (recomputed every RefRows).
	g, _ = NewRegime(DefaultRegime)
	for i := range 100000 {
		g.AddReturn(0.001 * float64(1+i%7))
	}
	ref, _ := g.State()
	var want float64
	for i := 100000 - 60 - 1440; i < 100000-60; i++ {
		r := 0.001 * float64(1+i%7)
		want += r * r / 1440
	}
	if math.Abs(ref-want)/want > 1e-9 {
		t.Errorf("reference variance %g, want %g", ref, want)
	}
}

func TestRegimeConfig(t *testing.T) {
	for _, c := range []RegimeConfig{
		{},
		{Rule: "x", RefRows: 10, Lag: 3, Window: 2, K: 4},
		{Rule: RuleRatio, RefRows: 10, Lag: 1, Window: 2, K: 4}, // window inside the reference
		{Rule: RuleRatio, RefRows: 10, Lag: 3, Window: 2, K: 1},
		{Rule: RuleCUSUM, RefRows: 10, Lag: 3, K: 4},
	} {
		if _, err := NewRegime(c); err == nil {
			t.Errorf("%+v: want an error", c)
		}
	}
	if _, err := NewRegime(DefaultRegime); err != nil {
		t.Error(err)
	}
}
