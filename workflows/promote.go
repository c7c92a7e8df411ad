package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
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
	n.Pair, errs = normalizePair(r.Pair, errs)
	n.DataDir, errs = cleanDataDir(r.DataDir, errs)
	errs = checkRange(errs, "horizon", r.Horizon, 1, maxHorizon)
	errs = checkRange(errs, "version", r.Version, 1, 1<<30) // version 0 is the baseline itself
	if r.DatasetPath == "" {
		errs = append(errs, errors.New("dataset_path: want the dataset whose test window judges the candidate"))
	}
	return n, errors.Join(errs...)
}

// Promote scores the candidate, the baselines and the current champion on
// the same test window; the candidate becomes champion only if Gate passes,
// else challenger, with the reason recorded either way.
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

// Gate is the promotion rule, on figures from the same test rows (one
// product's gate metric, MAE for returns): the lower bound of the
// candidate's 95% skill interval over the strongest baseline must be above
// 0, and its loss no worse than the current champion's re-scored on these
// rows — or, when the champion could not be re-scored (an older feature
// schema, an artifact that fails to load), strictly below its recorded test
// score. The Diebold–Mariano p-value is reported beside the interval, not
// required. Undefined figures reject. The reason gives the figures.
func Gate(s activities.GateScores) (bool, string) {
	window := fmt.Sprintf("test window %s … %s (%d rows)", s.TestFrom.Format(time.RFC3339), s.TestTo.Format(time.RFC3339), s.Rows)
	metric := cmp.Or(s.Metric, "MAE")
	skill := fmt.Sprintf("%s %.6g vs %.6g of %s, the strongest baseline: skill %+.2f%%, 95%% CI [%+.2f%%, %+.2f%%] (paired bootstrap, %d-row blocks), Diebold–Mariano p %.2g",
		metric, s.CandidateMAE, s.BestBaselineMAE, s.BestBaseline, 100*s.Skill, 100*s.SkillLo, 100*s.SkillHi, s.Block, s.DMP)
	switch {
	case s.Rows == 0 || s.BestBaseline == "" || undefined(s.CandidateMAE, s.BestBaselineMAE, s.Skill, s.SkillLo, s.SkillHi):
		return false, "rejected: no test rows or an undefined skill on the " + window
	case !(s.SkillLo > 0):
		return false, fmt.Sprintf("rejected: no skill shown, the CI's lower bound is not above 0: %s; on the %s", skill, window)
	}
	ok, champ := againstChampion(s, metric)
	if !ok {
		return false, fmt.Sprintf("rejected: %s; %s; on the %s", champ, skill, window)
	}
	return true, fmt.Sprintf("promoted: %s; %s; on the %s", skill, champ, window)
}

// againstChampion compares the candidate with the champion re-scored on the
// test rows, or with its recorded test score when it could not be.
func againstChampion(s activities.GateScores, metric string) (bool, string) {
	champ := fmt.Sprintf("champion v%d (%s)", s.ChampionVersion, s.ChampionName)
	if s.ChampionRescored {
		switch {
		case undefined(s.ChampionMAE):
			return false, fmt.Sprintf("the %s re-scored on these rows has an undefined %s", champ, metric)
		case s.CandidateMAE > s.ChampionMAE:
			return false, fmt.Sprintf("%s %.6g is worse than the %s re-scored on these rows, %.6g", metric, s.CandidateMAE, champ, s.ChampionMAE)
		}
		return true, fmt.Sprintf("no worse than the %s re-scored on these rows, %s %.6g", champ, metric, s.ChampionMAE)
	}
	champ = fmt.Sprintf("the %s could not be re-scored (%s)", champ, cmp.Or(s.ChampionNote, "no reason recorded"))
	switch {
	case undefined(s.ChampionRecordedMAE):
		return false, champ + " and has no recorded test " + metric
	case !(s.CandidateMAE < s.ChampionRecordedMAE):
		return false, fmt.Sprintf("%s; %s %.6g does not beat its recorded test %s %.6g", champ, metric, s.CandidateMAE, metric, s.ChampionRecordedMAE)
	}
	return true, fmt.Sprintf("%s; %s %.6g beats its recorded test %s %.6g", champ, metric, s.CandidateMAE, metric, s.ChampionRecordedMAE)
}

// undefined reports whether any figure is NaN or ±Inf.
func undefined(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return true
		}
	}
	return false
}
