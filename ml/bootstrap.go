package ml

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tickcast/tickcast/market"
)

// SkillBootstrap is a paired circular moving-block bootstrap of a skill
// 1 − mean(loss_model)/mean(loss_baseline) from per-row losses on the same
// rows. Each resample draws ⌈n/Block⌉ blocks of consecutive rows (wrapping
// around the end) and takes both models' losses from the same rows, so the
// interval reflects their correlation and the blocks keep volatility
// clusters and overlapping labels together. Set Block: the zero value
// draws single rows, which ignores that dependence.
type SkillBootstrap struct {
	Block     int     // rows per block, one day of candles; raised to Horizon, capped at n
	Horizon   int     // h in candles: the shortest block allowed
	Resamples int     // 0 means DefaultResamples
	Level     float64 // two-sided interval level; 0 means 0.95
	Seed      uint64  // PCG seed: equal inputs give equal intervals
}

// SkillCI is a skill with its percentile bootstrap interval.
type SkillCI struct {
	Skill, Lo, Hi float64
	Level         float64
	N             int // rows
}

// Skill returns the skill of model over base and its interval. The losses
// must be paired, finite and as many; the baseline's mean must be positive.
func (b SkillBootstrap) Skill(model, base []float64) (SkillCI, error) {
	n := len(model)
	if err := checkPaired(model, base); err != nil {
		return SkillCI{}, fmt.Errorf("skill bootstrap: %w", err)
	}
	if sb := sum(base); !(sb > 0) {
		return SkillCI{}, fmt.Errorf("skill bootstrap: baseline losses sum to %g: %w", sb, market.ErrInvalid)
	}
	block := min(max(b.Block, b.Horizon, 1), n)
	ci := SkillCI{Level: cmp.Or(b.Level, 0.95), N: n, Skill: 1 - sum(model)/sum(base)}
	stats := b.resample(circularSums(model), circularSums(base), n, block)
	ci.Lo, ci.Hi = math.NaN(), math.NaN()
	if len(stats) > 0 {
		ci.Lo, ci.Hi = quantile(stats, (1-ci.Level)/2), quantile(stats, (1+ci.Level)/2)
	}
	return ci, nil
}

// resample returns the sorted skills of the resamples whose baseline sum is
// positive, from circular prefix sums ca, cb of n rows.
func (b SkillBootstrap) resample(ca, cb []float64, n, block int) []float64 {
	rng := rand.New(rand.NewPCG(b.Seed, 0x5ca1ab1e))
	stats := make([]float64, 0, cmp.Or(b.Resamples, DefaultResamples))
	for range cap(stats) {
		var sa, sb float64
		for left := n; left > 0; left -= block {
			start, k := rng.IntN(n), min(block, left)
			sa += ca[start+k] - ca[start]
			sb += cb[start+k] - cb[start]
		}
		if sb > 0 {
			stats = append(stats, 1-sa/sb)
		}
	}
	slices.Sort(stats)
	return stats
}

// checkPaired rejects losses that cannot be paired row for row.
func checkPaired(model, base []float64) error {
	if len(model) != len(base) || len(model) == 0 {
		return fmt.Errorf("%d model losses, %d baseline losses: %w", len(model), len(base), market.ErrInvalid)
	}
	for t := range model {
		if !isFinite(model[t]) || !isFinite(base[t]) {
			return fmt.Errorf("row %d: losses %g, %g not finite: %w", t, model[t], base[t], market.ErrInvalid)
		}
	}
	return nil
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
