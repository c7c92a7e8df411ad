package ml

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/tickcast/tickcast/market"
)

// XGBoost settings every trial shares (see the package doc for why).
const (
	Objective  = "reg:absoluteerror"
	EvalMetric = "mae"
)

// Search space of SampleParams, inclusive bounds.
const (
	MinMaxDepth, MaxMaxDepth             = 2, 8
	MinEta, MaxEta                       = 0.01, 0.3 // log-uniform
	MinSubsample, MaxSubsample           = 0.5, 1.0
	MinColsample, MaxColsample           = 0.5, 1.0
	MinMinChildWeight, MaxMinChildWeight = 1.0, 50.0 // log-uniform
	MinLambda, MaxLambda                 = 0.0, 10.0
	MinAlpha, MaxAlpha                   = 0.0, 1.0
)

// TrialParams are one trial's XGBoost hyperparameters.
type TrialParams struct {
	MaxDepth        int     `json:"max_depth"`
	Eta             float64 `json:"eta"`
	Subsample       float64 `json:"subsample"`
	ColsampleBytree float64 `json:"colsample_bytree"`
	MinChildWeight  float64 `json:"min_child_weight"`
	Lambda          float64 `json:"lambda"`
	Alpha           float64 `json:"alpha"`
	Seed            int64   `json:"seed"` // XGBoost's row and column sampling
}

// SampleParams draws a point of the search space (random search).
func SampleParams(rng *rand.Rand) TrialParams {
	return TrialParams{
		MaxDepth:        MinMaxDepth + rng.IntN(MaxMaxDepth-MinMaxDepth+1),
		Eta:             logUniform(rng, MinEta, MaxEta),
		Subsample:       uniform(rng, MinSubsample, MaxSubsample),
		ColsampleBytree: uniform(rng, MinColsample, MaxColsample),
		MinChildWeight:  logUniform(rng, MinMinChildWeight, MaxMinChildWeight),
		Lambda:          uniform(rng, MinLambda, MaxLambda),
		Alpha:           uniform(rng, MinAlpha, MaxAlpha),
		Seed:            rng.Int64N(math.MaxInt32),
	}
}

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }

func logUniform(rng *rand.Rand, lo, hi float64) float64 {
	return math.Exp(uniform(rng, math.Log(lo), math.Log(hi)))
}

// Validate checks that p lies in the search space.
func (p TrialParams) Validate() error {
	in := func(v, lo, hi float64) bool { return v >= lo && v <= hi }
	switch {
	case p.MaxDepth < MinMaxDepth || p.MaxDepth > MaxMaxDepth,
		!in(p.Eta, MinEta, MaxEta), !in(p.Subsample, MinSubsample, MaxSubsample),
		!in(p.ColsampleBytree, MinColsample, MaxColsample),
		!in(p.MinChildWeight, MinMinChildWeight, MaxMinChildWeight),
		!in(p.Lambda, MinLambda, MaxLambda), !in(p.Alpha, MinAlpha, MaxAlpha),
		p.Seed < 0 || p.Seed > math.MaxInt32:
		return fmt.Errorf("trial params %+v outside the search space: %w", p, market.ErrInvalid)
	}
	return nil
}

// XGB returns p as XGBoost booster parameters.
func (p TrialParams) XGB() map[string]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return map[string]string{
		"objective":        Objective,
		"eval_metric":      EvalMetric,
		"base_score":       "0",
		"tree_method":      "hist",
		"nthread":          "1",
		"max_depth":        strconv.Itoa(p.MaxDepth),
		"eta":              f(p.Eta),
		"subsample":        f(p.Subsample),
		"colsample_bytree": f(p.ColsampleBytree),
		"min_child_weight": f(p.MinChildWeight),
		"lambda":           f(p.Lambda),
		"alpha":            f(p.Alpha),
		"seed":             strconv.FormatInt(p.Seed, 10),
	}
}

// Rung is one round of successive halving: how many trials run in it and
// what share of the full boosting-round budget each gets.
type Rung struct {
	Trials int     `json:"trials"`
	Budget float64 `json:"budget"` // (0, 1]; the last rung has 1
}

// Rounds is the rung's number of boosting rounds out of maxRounds (≥ 1).
func (r Rung) Rounds(maxRounds int) int {
	return max(1, int(math.Round(r.Budget*float64(maxRounds))))
}

// SuccessiveHalving returns the rungs for n sampled trials keeping the best
// 1/eta of each rung: rung r runs ⌊n/eta^r⌋ trials with budget eta^(r−R).
// R is the last rung that still compares at least eta trials, so the schedule
// never spends a full-budget rung on one trial; n < eta gives one full rung.
func SuccessiveHalving(n, eta int) []Rung {
	if n < 1 {
		return nil
	}
	if eta < 2 {
		return []Rung{{Trials: n, Budget: 1}}
	}
	last := 0
	for t := n / eta; t >= eta; t /= eta {
		last++
	}
	rungs := make([]Rung, 0, last+1)
	t := n
	for r := 0; r <= last; r++ {
		rungs = append(rungs, Rung{Trials: t, Budget: math.Pow(float64(eta), float64(r-last))})
		t /= eta
	}
	return rungs
}

// TrialResult is the outcome of one trial at one rung. Score is the mean of
// the per-fold Scores (validation MAE: lower is better); Err is set when the
// trial failed, and such a trial is never selected.
type TrialResult struct {
	ID       int
	Rung     int
	Params   TrialParams
	Scores   []float64 // per CV fold
	Score    float64
	Rounds   int // boosting rounds used (best iteration + 1 with early stopping)
	Duration time.Duration
	Err      string
}

// MeanScore is the mean of scores, NaN when empty or when any is NaN.
func MeanScore(scores []float64) float64 {
	if len(scores) == 0 {
		return math.NaN()
	}
	return sum(scores) / float64(len(scores))
}

// TopK returns the k best successful trials (finite Score, no Err), lowest
// Score first, ties broken by ID, so selection is deterministic.
func TopK(results []TrialResult, k int) []TrialResult {
	ok := make([]TrialResult, 0, len(results))
	for _, r := range results {
		if r.Err == "" && !math.IsNaN(r.Score) && !math.IsInf(r.Score, 0) {
			ok = append(ok, r)
		}
	}
	slices.SortFunc(ok, func(a, b TrialResult) int {
		return cmp.Or(cmp.Compare(a.Score, b.Score), cmp.Compare(a.ID, b.ID))
	})
	return ok[:min(max(k, 0), len(ok))]
}
