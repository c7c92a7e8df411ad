package training

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/xgboost"
)

// GateRequest names a candidate version of a series.
type GateRequest struct {
	Pair    string
	Horizon int
	Version int
}

// GateScores are the figures the gate decides on, all from the same test
// rows: mean losses on the product's gate metric (MAE for returns, whence
// the field names; Metric names another product's loss), the candidate's
// skill over the strongest baseline with its paired moving-block bootstrap
// interval, a Diebold–Mariano test beside it, and the current champion's
// loss re-scored on these rows or, when it cannot be, its recorded one.
// Undefined figures are NaN: JSON null, and a figure an older recording
// lacks reads back as NaN (undefined, never 0).
type GateScores struct {
	Rows            int       `json:"rows"`
	TestFrom        time.Time `json:"test_from"`
	TestTo          time.Time `json:"test_to"`
	CandidateMAE    float64   `json:"candidate_mae"`
	ZeroMAE         float64   `json:"zero_mae"` // the zero-return baseline's (returns only)
	ChampionVersion int       `json:"champion_version"`
	ChampionName    string    `json:"champion_name"`
	ChampionMAE     float64   `json:"champion_mae"` // re-scored on these rows; NaN when it could not be

	Metric          string  `json:"metric,omitempty"` // the loss: "" is MAE; "pinball", "Brier", …
	BestBaseline    string  `json:"best_baseline"`    // the strongest baseline: lowest mean loss
	BestBaselineMAE float64 `json:"best_baseline_mae"`
	Skill           float64 `json:"skill"`    // 1 − loss/loss of the best baseline
	SkillLo         float64 `json:"skill_lo"` // 95% bootstrap interval
	SkillHi         float64 `json:"skill_hi"`
	Block           int     `json:"block"`   // rows per bootstrap block: one day, at least h
	DMStat          float64 `json:"dm_stat"` // Diebold–Mariano vs the best baseline, lag h−1: negative favours the candidate
	DMP             float64 `json:"dm_p"`    // its two-sided p-value

	ChampionRescored    bool    `json:"champion_rescored"`
	ChampionNote        string  `json:"champion_note,omitempty"` // why it was not re-scored
	ChampionRecordedMAE float64 `json:"champion_recorded_mae"`   // its registered test score (model_mae); NaN if none
}

// gateSeed seeds the gate's bootstrap: a decision is reproducible.
const gateSeed = 1

// ScoreGate scores the candidate, the baselines and the current champion on
// the test window of ds, row by row, and compares their absolute errors
// (LossGate): the champion is re-evaluated on these rows (an XGBoost
// champion is loaded from its artifact), or, when it cannot be (an older
// feature schema, an artifact that fails to load), its recorded test MAE is
// reported with the reason.
func ScoreGate(ctx context.Context, reg *registry.Registry, ds ml.Dataset, sp Splits, in GateRequest) (GateScores, error) {
	test := sp.Final.Test
	if err := sp.Final.check(ds.Len()); err != nil {
		return GateScores{}, err
	}
	if ds.Interval <= 0 {
		return GateScores{}, invalidf("dataset %s h%d: no candle interval, no day blocks", ds.Pair, ds.Horizon)
	}
	if _, err := reg.EnsureBaseline(ctx, in.Pair, in.Horizon); err != nil {
		return GateScores{}, err
	}
	cand, err := reg.Get(ctx, in.Pair, in.Horizon, strconv.Itoa(in.Version))
	if err != nil {
		return GateScores{}, invalidf("candidate v%d: %v", in.Version, err)
	}
	champ, err := reg.Get(ctx, in.Pair, in.Horizon, registry.Champion)
	if err != nil {
		return GateScores{}, fmt.Errorf("champion: %w", err)
	}
	candLoss, why, err := versionLosses(ctx, reg, cand, ds, test)
	if err != nil {
		return GateScores{}, fmt.Errorf("candidate v%d: %w", cand.Version, err)
	}
	if why != "" {
		return GateScores{}, invalidf("candidate v%d: %s", cand.Version, why)
	}
	champLoss, why, err := versionLosses(ctx, reg, champ, ds, test)
	if err != nil {
		return GateScores{}, fmt.Errorf("champion v%d: %w", champ.Version, err)
	}
	base := returnsBaselineLosses(ds, test)
	g := LossGate{Block: DayRows(ds.Interval, ds.Horizon), Horizon: ds.Horizon, Seed: gateSeed}
	s, err := g.Score(candLoss, base, champLoss)
	if err != nil {
		return GateScores{}, err
	}
	s.TestFrom, s.TestTo, s.ZeroMAE = ds.TS[test.Lo], ds.TS[test.Hi-1], ml.Mean(base[ml.BaselineZero])
	s.ChampionVersion, s.ChampionName, s.ChampionNote = champ.Version, champ.Name, why
	s.ChampionRecordedMAE = recordedMAE(champ)
	return s, nil
}

// versionLosses are a registered version's absolute errors on rows s, or
// why it cannot predict them (an older feature schema; an artifact missing,
// corrupt or failing to load). Other failures are errors.
func versionLosses(ctx context.Context, reg *registry.Registry, m registry.Meta, ds ml.Dataset, s Span) ([]float64, string, error) {
	realized := ds.Y[s.Lo:s.Hi]
	if m.Name == registry.BaselineName {
		return ml.AbsErrors(ds.Predict(gateReference, s.Lo, s.Hi), realized), "", nil
	}
	b, why, err := loadBooster(ctx, reg, m)
	if b == nil {
		return nil, why, err
	}
	defer b.Close()
	pred, err := predictBooster(b, ds, s)
	if err != nil {
		return nil, "", err
	}
	return ml.AbsErrors(pred, realized), "", nil
}

// recordedMAE is the test MAE a version was registered with, NaN if none.
func recordedMAE(m registry.Meta) float64 {
	if v, ok := m.Metrics["model_mae"]; ok {
		return v
	}
	return math.NaN()
}

// DayRows is the gate's bootstrap block: the rows of one day of candles of
// length interval (1440 for 1-minute candles), never fewer than h.
func DayRows(interval time.Duration, h int) int {
	day := 1
	if interval > 0 {
		day = int((24*time.Hour + interval - 1) / interval)
	}
	return max(day, h, 1)
}

// LossGate is the gate's rule on per-row losses of one forecast product on
// the same test rows, lower is better: absolute errors for returns and
// volatility, mean pinball loss for quantiles, the Brier score for
// direction. Block and Horizon are ml.SkillBootstrap's.
type LossGate struct {
	Metric  string // the loss's name for GateScores.Metric; "" is MAE
	Block   int    // rows per bootstrap block: DayRows(interval, h)
	Horizon int    // h: the shortest block, and the Diebold–Mariano lag h−1
	Seed    uint64 // of the bootstrap: equal inputs give equal intervals
}

// Score compares candidate with the strongest of baselines (by name; the
// lowest mean loss, ties to the first name) by its skill, the 95% paired
// moving-block bootstrap interval (ml.SkillBootstrap) and the
// Diebold–Mariano test at lag h−1 (ml.DieboldMariano), and reports the
// champion's mean loss; champion nil means it could not be re-scored on
// these rows (ChampionRescored false, ChampionMAE NaN). Every slice holds
// one finite loss per row. It fills Rows, Metric, the MAE fields, Best*,
// Skill*, Block, DM* and ChampionRescored; the caller adds the window, the
// champion's identity and its recorded score (NaN here).
func (g LossGate) Score(candidate []float64, baselines map[string][]float64, champion []float64) (GateScores, error) {
	n := len(candidate)
	nan := math.NaN()
	s := GateScores{Rows: n, Metric: g.Metric, CandidateMAE: ml.Mean(candidate), ZeroMAE: nan, ChampionMAE: nan,
		ChampionRecordedMAE: nan, Block: min(max(g.Block, g.Horizon, 1), n)}
	best, err := strongest(baselines, n)
	if err != nil {
		return GateScores{}, err
	}
	ci, err := ml.SkillBootstrap{Block: g.Block, Horizon: g.Horizon, Seed: g.Seed}.Skill(candidate, baselines[best])
	if err != nil {
		return GateScores{}, fmt.Errorf("candidate vs %s: %w", best, err)
	}
	dm, err := ml.DieboldMariano(candidate, baselines[best], g.Horizon-1)
	if err != nil {
		return GateScores{}, fmt.Errorf("candidate vs %s: %w", best, err)
	}
	s.BestBaseline, s.BestBaselineMAE = best, ml.Mean(baselines[best])
	s.Skill, s.SkillLo, s.SkillHi, s.DMStat, s.DMP = ci.Skill, ci.Lo, ci.Hi, dm.Stat, dm.P
	if champion != nil {
		if err := finiteLosses("champion", champion, n); err != nil {
			return GateScores{}, err
		}
		s.ChampionMAE, s.ChampionRescored = ml.Mean(champion), true
	}
	return s, nil
}

// strongest is the name of the baseline with the lowest mean loss, ties to
// the first name, after checking each has n finite losses.
func strongest(baselines map[string][]float64, n int) (string, error) {
	if len(baselines) == 0 {
		return "", invalidf("gate: no baseline")
	}
	names := make([]string, 0, len(baselines))
	for name, l := range baselines {
		if err := finiteLosses("baseline "+name, l, n); err != nil {
			return "", err
		}
		names = append(names, name)
	}
	slices.Sort(names)
	best := names[0]
	for _, name := range names[1:] {
		if ml.Mean(baselines[name]) < ml.Mean(baselines[best]) {
			best = name
		}
	}
	return best, nil
}

// finiteLosses checks that losses has n finite values.
func finiteLosses(what string, losses []float64, n int) error {
	if len(losses) != n {
		return invalidf("gate: %s has %d losses for %d rows", what, len(losses), n)
	}
	for t, v := range losses {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return invalidf("gate: %s loss %g at row %d", what, v, t)
		}
	}
	return nil
}

// gateJSON is GateScores on the wire: its figures as pointers, null when
// undefined (encoding/json refuses NaN and ±Inf; a DM statistic is ±Inf
// when the loss differential never varies), and NaN when null or absent.
type gateJSON struct {
	gateFields
	CandidateMAE        *float64 `json:"candidate_mae"`
	ZeroMAE             *float64 `json:"zero_mae"`
	ChampionMAE         *float64 `json:"champion_mae"`
	BestBaselineMAE     *float64 `json:"best_baseline_mae"`
	Skill               *float64 `json:"skill"`
	SkillLo             *float64 `json:"skill_lo"`
	SkillHi             *float64 `json:"skill_hi"`
	DMStat              *float64 `json:"dm_stat"`
	DMP                 *float64 `json:"dm_p"`
	ChampionRecordedMAE *float64 `json:"champion_recorded_mae"`
}

// gateFields is GateScores without its JSON methods; gateJSON's pointers
// shadow its figures.
type gateFields GateScores

type figure struct {
	v    *float64
	wire **float64
}

func (j *gateJSON) figures(s *GateScores) []figure {
	return []figure{{&s.CandidateMAE, &j.CandidateMAE}, {&s.ZeroMAE, &j.ZeroMAE}, {&s.ChampionMAE, &j.ChampionMAE},
		{&s.BestBaselineMAE, &j.BestBaselineMAE}, {&s.Skill, &j.Skill}, {&s.SkillLo, &j.SkillLo}, {&s.SkillHi, &j.SkillHi},
		{&s.DMStat, &j.DMStat}, {&s.DMP, &j.DMP}, {&s.ChampionRecordedMAE, &j.ChampionRecordedMAE}}
}

// MarshalJSON writes undefined figures as null.
func (s GateScores) MarshalJSON() ([]byte, error) {
	j := gateJSON{gateFields: gateFields(s)}
	for _, f := range j.figures(&s) {
		if v := *f.v; !math.IsNaN(v) && !math.IsInf(v, 0) {
			*f.wire = &v
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads null and absent figures as NaN.
func (s *GateScores) UnmarshalJSON(b []byte) error {
	var j gateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = GateScores(j.gateFields)
	for _, f := range j.figures(s) {
		*f.v = math.NaN()
		if *f.wire != nil {
			*f.v = **f.wire
		}
	}
	return nil
}

// loadBooster loads version m's booster, or says why it cannot serve the
// current rows (an older feature schema; an artifact missing, corrupt or
// failing to load). Other failures are errors.
func loadBooster(ctx context.Context, reg *registry.Registry, m registry.Meta) (*xgboost.Booster, string, error) {
	if m.FeatureSchemaVersion != market.FeatureSchemaVersion {
		return nil, fmt.Sprintf("feature schema %d, the dataset's is %d", m.FeatureSchemaVersion, market.FeatureSchemaVersion), nil
	}
	art, err := reg.Artifact(ctx, m)
	if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrCorrupt) {
		return nil, fmt.Sprintf("artifact: %v", err), nil
	}
	if err != nil {
		return nil, "", err
	}
	b, err := xgboost.Load(art)
	if err != nil {
		return nil, fmt.Sprintf("load artifact: %v", err), nil
	}
	return b, "", nil
}
