package ml

import (
	"errors"
	"math"
	"testing"

	"github.com/tickcast/tickcast/market"
)

func TestSkillBootstrapHandWorked(t *testing.T) {
	// Hand-made fixture: model losses 0,1,0,1 against a baseline of 1s: skill
	// 1 − 2/4 = .5. Any two consecutive rows (wrapping) hold exactly one 1, so
	// with blocks of 2 (or 4) every resample has skill .5 and the interval is
	// [.5, .5]; blocks of 1 draw rows singly and the interval opens up.
	model, base := []float64{0, 1, 0, 1}, []float64{1, 1, 1, 1}
	for _, b := range []SkillBootstrap{{Block: 2}, {Block: 4}, {Block: 1, Horizon: 2}, {Block: 9}} {
		ci, err := b.Skill(model, base)
		if err != nil {
			t.Fatal(err)
		}
		if ci != (SkillCI{Skill: 0.5, Lo: 0.5, Hi: 0.5, Level: 0.95, N: 4}) {
			t.Errorf("%+v: %+v, want .5 [.5, .5]", b, ci)
		}
	}
	ci, err := SkillBootstrap{Block: 1, Seed: 7}.Skill(model, base)
	if err != nil {
		t.Fatal(err)
	}
	if !(ci.Lo < 0.5 && ci.Hi > 0.5 && ci.Lo >= 0 && ci.Hi <= 1) {
		t.Errorf("blocks of 1: %+v, want a proper interval around .5 inside [0, 1]", ci)
	}
	again, _ := SkillBootstrap{Block: 1, Seed: 7}.Skill(model, base)
	narrow, _ := SkillBootstrap{Block: 1, Seed: 7, Level: 0.5}.Skill(model, base)
	if again != ci || !(narrow.Lo >= ci.Lo && narrow.Hi <= ci.Hi) || narrow.Level != 0.5 {
		t.Errorf("same seed %+v vs %+v; 50%% %+v", again, ci, narrow)
	}
}

func TestSkillBootstrapRejects(t *testing.T) {
	// Hand-made fixtures: unpaired, empty, non-finite, baseline without loss.
	for name, tc := range map[string][2][]float64{
		"lengths": {{1, 2}, {1}}, "empty": {nil, nil}, "nan": {{1, math.NaN()}, {1, 1}},
		"inf": {{1, 1}, {math.Inf(1), 1}}, "zero baseline": {{1, 1}, {0, 0}},
	} {
		if _, err := (SkillBootstrap{Block: 1}).Skill(tc[0], tc[1]); !errors.Is(err, market.ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}

func TestSkillBootstrapMatchesEval(t *testing.T) {
	// The bootstrap Eval.skill runs on absolute errors draws the same blocks
	// from the same seed: the old one is this one with a block rule.
	pred := []float64{0.01, -0.02, 0, 0.03, 0.01, 0.02, -0.01, 0, 0.005, -0.004}
	real := []float64{0.02, -0.01, 0.01, -0.01, 0, 0.03, -0.02, 0.01, 0.001, 0.002}
	zero := make([]float64, len(real))
	e := Eval{Horizon: 2, Seed: 3, Resamples: 500}
	s, lo, hi := e.skill(pred, zero, real)
	block := max(2, int(math.Ceil(math.Cbrt(10)))) // Eval's rule
	ci, err := SkillBootstrap{Block: block, Seed: 3, Resamples: 500}.Skill(AbsErrors(pred, real), AbsErrors(zero, real))
	if err != nil {
		t.Fatal(err)
	}
	if !near(ci.Skill, s, 1e-15) || !near(ci.Lo, lo, 1e-15) || !near(ci.Hi, hi, 1e-15) {
		t.Errorf("SkillBootstrap %+v, Eval %v [%v, %v]", ci, s, lo, hi)
	}
}
