package ml

import (
	"math"
	"testing"
)

func TestDirectionScoresHandWorked(t *testing.T) {
	// Hand-made fixture: up .8, down .4, tie, up .6, unlabelled.
	// Brier (.04 + .16 + .16)/3 = .12; log loss (−ln .8 − ln .6 − ln .6)/3.
	labels := []Dir{DirUp, DirDown, DirTie, DirUp, DirNone}
	p := []float64{0.8, 0.4, 0.5, 0.6, 0.9}
	if got := Climatology(labels); !near(got, 2.0/3, 1e-15) {
		t.Errorf("climatology %v", got)
	}
	if got := Climatology([]Dir{DirTie, DirNone}); !math.IsNaN(got) {
		t.Errorf("climatology without moves %v, want NaN", got)
	}
	s := ScoreDirections(p, labels)
	want := DirScores{N: 3, Ties: 1, TieShare: 0.25, Brier: 0.12, LogLoss: -(math.Log(0.8) + 2*math.Log(0.6)) / 3}
	if s.N != want.N || s.Ties != want.Ties || s.TieShare != want.TieShare ||
		!near(s.Brier, want.Brier, 1e-15) || !near(s.LogLoss, want.LogLoss, 1e-15) {
		t.Errorf("scores %+v, want %+v", s, want)
	}
}

func TestDirLossesClip(t *testing.T) {
	// Hand-made fixture: a certain miss costs ln(1e15), not +Inf; a certain hit 0.
	brier, ll := DirLosses([]float64{0, 1}, []Dir{DirUp, DirUp})
	nearAll(t, "brier", brier, []float64{1, 0}, 0)
	nearAll(t, "log loss", ll, []float64{15 * math.Ln10, 0}, 1e-9)
}

func TestReliabilityHandWorked(t *testing.T) {
	// Hand-made fixture: p .8 up, .4 down, .6 up, 1.0 up (last bin), .05 down,
	// .85 down, and a tie that is skipped.
	p := []float64{0.8, 0.4, 0.6, 1.0, 0.05, 0.85, 0.3}
	labels := []Dir{DirUp, DirDown, DirUp, DirUp, DirDown, DirDown, DirTie}
	bins := Reliability(p, labels, 10)
	want := map[int]ReliabilityBin{
		0: {Lo: 0, Hi: 0.1, N: 1, MeanP: 0.05, Rate: 0}, 4: {Lo: 0.4, Hi: 0.5, N: 1, MeanP: 0.4, Rate: 0},
		6: {Lo: 0.6, Hi: 0.7, N: 1, MeanP: 0.6, Rate: 1}, 8: {Lo: 0.8, Hi: 0.9, N: 2, MeanP: 0.825, Rate: 0.5},
		9: {Lo: 0.9, Hi: 1, N: 1, MeanP: 1, Rate: 1},
	}
	for b, got := range bins {
		w, ok := want[b]
		if !ok {
			if got.N != 0 || !math.IsNaN(got.MeanP) || !math.IsNaN(got.Rate) {
				t.Errorf("bin %d %+v, want empty", b, got)
			}
			continue
		}
		if got.N != w.N || !near(got.Lo, w.Lo, 1e-15) || !near(got.Hi, w.Hi, 1e-15) ||
			!near(got.MeanP, w.MeanP, 1e-15) || got.Rate != w.Rate {
			t.Errorf("bin %d %+v, want %+v", b, got, w)
		}
	}
}
