package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/market"
)

// Aliases of the registry that Promote sets.
const (
	AliasChampion   = "champion"
	AliasChallenger = "challenger"
)

// PromoteRequest is the input of Promote: a registered version and the
// dataset whose test window judges it.
type PromoteRequest struct {
	Pair        string `json:"pair"`
	Horizon     int    `json:"horizon"`
	Version     int    `json:"version"`
	DataDir     string `json:"data_dir,omitempty"`
	DatasetPath string `json:"dataset_path"`
}

// PromoteResult is the gate's decision and the scores behind it.
type PromoteResult struct {
	Champion bool                  `json:"champion"`
	Reason   string                `json:"reason"`
	Scores   activities.GateScores `json:"scores"`
}

func (r PromoteRequest) normalize() (PromoteRequest, error) {
	n := r
	var errs []error
	p, err := market.NormalizePair(r.Pair)
	if err != nil {
		errs = append(errs, fmt.Errorf("pair %q: %w", r.Pair, err))
	}
	n.Pair = p
	n.DataDir, errs = cleanDataDir(r.DataDir, errs)
	errs = checkRange(errs, "horizon", r.Horizon, 1, maxHorizon)
	errs = checkRange(errs, "version", r.Version, 1, 1<<30) // version 0 is the baseline itself
	if r.DatasetPath == "" {
		errs = append(errs, errors.New("dataset_path: want the dataset whose test window judges the candidate"))
	}
	return n, errors.Join(errs...)
}

// Promote scores the candidate, the zero-return baseline and the current
// champion on the same test window; the candidate becomes champion only if
// Gate passes, else challenger, with the reason recorded either way.
func Promote(ctx workflow.Context, req PromoteRequest) (PromoteResult, error) {
	r, err := req.normalize()
	if err != nil {
		return PromoteResult{}, invalid(err)
	}
	actx := workflow.WithActivityOptions(ctx, evaluateOptions)
	in := activities.GateInput{DataDir: r.DataDir, Pair: r.Pair, Horizon: r.Horizon, Version: r.Version, Dataset: r.DatasetPath}
	var s activities.GateScores
	if err := workflow.ExecuteActivity(actx, acts.ScoreGate, in).Get(ctx, &s); err != nil {
		return PromoteResult{}, err
	}
	pass, reason := Gate(s)
	alias := AliasChallenger
	if pass {
		alias = AliasChampion
	}
	set := activities.AliasInput{DataDir: r.DataDir, Pair: r.Pair, Horizon: r.Horizon, Alias: alias, Version: r.Version, Reason: reason}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, registryOptions), acts.SetAlias, set).Get(ctx, nil); err != nil {
		return PromoteResult{}, err
	}
	workflow.GetLogger(ctx).Info("promote decided", "pair", r.Pair, "horizon", r.Horizon, "version", r.Version, "alias", alias, "reason", reason)
	return PromoteResult{Champion: pass, Reason: reason, Scores: s}, nil
}

// Gate is the promotion rule: the candidate must beat the zero-return
// baseline (strictly) and be no worse than the current champion, both
// measured on the same test window. The reason says which comparison decided.
func Gate(s activities.GateScores) (bool, string) {
	window := fmt.Sprintf("test window %s … %s (%d rows)", s.TestFrom.Format(time.RFC3339), s.TestTo.Format(time.RFC3339), s.Rows)
	champ := fmt.Sprintf("champion v%d (%s) MAE %.6g", s.ChampionVersion, s.ChampionName, s.ChampionMAE)
	switch {
	case s.Rows == 0 || isNaN(s.CandidateMAE) || isNaN(s.ZeroMAE) || isNaN(s.ChampionMAE):
		return false, "rejected: no test rows or undefined MAE on the " + window
	case !(s.CandidateMAE < s.ZeroMAE):
		return false, fmt.Sprintf("rejected: MAE %.6g does not beat the zero-return baseline's %.6g on the %s", s.CandidateMAE, s.ZeroMAE, window)
	case s.CandidateMAE > s.ChampionMAE:
		return false, fmt.Sprintf("rejected: MAE %.6g is worse than the %s on the %s", s.CandidateMAE, champ, window)
	}
	return true, fmt.Sprintf("promoted: MAE %.6g beats the zero-return baseline's %.6g and is no worse than the %s on the %s",
		s.CandidateMAE, s.ZeroMAE, champ, window)
}

func isNaN(f float64) bool { return f != f }
