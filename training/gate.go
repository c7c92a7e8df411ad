package training

import (
	"context"
	"fmt"
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

// GateScores are the candidate's, the zero-return baseline's and the current
// champion's MAE on the same test window.
type GateScores struct {
	Rows            int       `json:"rows"`
	TestFrom        time.Time `json:"test_from"`
	TestTo          time.Time `json:"test_to"`
	CandidateMAE    float64   `json:"candidate_mae"`
	ZeroMAE         float64   `json:"zero_mae"`
	ChampionVersion int       `json:"champion_version"`
	ChampionName    string    `json:"champion_name"`
	ChampionMAE     float64   `json:"champion_mae"`
}

// ScoreGate scores the candidate, the reference baseline and the current
// champion on the test window of ds: the champion is re-evaluated on these
// rows (an XGBoost champion is loaded from its artifact), never judged by
// the numbers it was registered with.
func ScoreGate(ctx context.Context, reg *registry.Registry, ds ml.Dataset, sp Splits, in GateRequest) (GateScores, error) {
	test := sp.Final.Test
	if err := sp.Final.check(ds.Len()); err != nil {
		return GateScores{}, err
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
	s := GateScores{Rows: test.Len(), TestFrom: ds.TS[test.Lo], TestTo: ds.TS[test.Hi-1], ChampionVersion: champ.Version, ChampionName: champ.Name}
	s.ZeroMAE = returnsMAE(ds.Predict(gateReference, test.Lo, test.Hi), ds.Y[test.Lo:test.Hi])
	if s.CandidateMAE, err = versionMAE(ctx, reg, cand, ds, test); err != nil {
		return GateScores{}, fmt.Errorf("candidate v%d: %w", cand.Version, err)
	}
	if s.ChampionMAE, err = versionMAE(ctx, reg, champ, ds, test); err != nil {
		return GateScores{}, fmt.Errorf("champion v%d: %w", champ.Version, err)
	}
	return s, nil
}

// versionMAE is a registered version's MAE on rows s.
func versionMAE(ctx context.Context, reg *registry.Registry, m registry.Meta, ds ml.Dataset, s Span) (float64, error) {
	realized := ds.Y[s.Lo:s.Hi]
	if m.Name == registry.BaselineName {
		return returnsMAE(ds.Predict(gateReference, s.Lo, s.Hi), realized), nil
	}
	if m.FeatureSchemaVersion != market.FeatureSchemaVersion {
		return 0, invalidf("feature schema %d, the dataset's is %d: not comparable", m.FeatureSchemaVersion, market.FeatureSchemaVersion)
	}
	art, err := reg.Artifact(ctx, m)
	if err != nil {
		return 0, err
	}
	b, err := xgboost.Load(art)
	if err != nil {
		return 0, invalidf("load artifact: %v", err)
	}
	defer b.Close()
	pred, err := predictBooster(b, ds, s)
	if err != nil {
		return 0, err
	}
	return returnsMAE(pred, realized), nil
}
