package training

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
)

// A champion that cannot be re-scored on the dataset — trained on an older
// feature schema, or whose artifact does not load — is reported with the
// reason and its recorded test MAE, not as an error.
func TestScoreGateChampionNotRescorable(t *testing.T) {
	dir, info, ds, sp := weekDataset(t)
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	test := info.Final.Test
	cand := register(t, reg, trainModel(t, ds, test.Lo, test.Hi, 20, 0))
	tests := []struct {
		name  string
		meta  registry.Meta
		model []byte
		note  string
	}{
		{"older schema", registry.Meta{FeatureSchemaVersion: market.FeatureSchemaVersion - 1}, trainModel(t, ds, 0, 100, 2, 0), "feature schema"},
		{"artifact fails to load", registry.Meta{}, []byte("not a model"), "load artifact"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.meta
			m.Pair, m.Horizon, m.Name, m.Metrics = "ETH/USDT", 1, modelName, map[string]float64{"model_mae": 0.000123}
			champ, err := reg.Register(t.Context(), m, tc.model)
			if err != nil {
				t.Fatal(err)
			}
			if err := reg.SetAlias(t.Context(), "ETH/USDT", 1, registry.Champion, champ.Version, "test"); err != nil {
				t.Fatal(err)
			}
			s, err := ScoreGate(t.Context(), reg, ds, sp, GateRequest{Pair: "ETH/USDT", Horizon: 1, Version: cand})
			if err != nil {
				t.Fatal(err)
			}
			if s.ChampionRescored || s.ChampionMAE == s.ChampionMAE || s.ChampionRecordedMAE != 0.000123 ||
				s.ChampionVersion != champ.Version || !strings.Contains(s.ChampionNote, tc.note) || !(s.SkillLo > 0) {
				t.Errorf("scores %+v", s)
			}
		})
	}
	if err := reg.SetAlias(t.Context(), "ETH/USDT", 1, registry.Champion, cand, "test"); err != nil {
		t.Fatal(err)
	}
	old, err := reg.Register(t.Context(), registry.Meta{Pair: "ETH/USDT", Horizon: 1, Name: modelName,
		FeatureSchemaVersion: market.FeatureSchemaVersion - 1}, trainModel(t, ds, 0, 100, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ScoreGate(t.Context(), reg, ds, sp, GateRequest{Pair: "ETH/USDT", Horizon: 1, Version: old.Version}); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("candidate of an older schema: %v, want code invalid", err)
	}
}

// The rule on per-row losses: the strongest baseline is the lowest mean
// loss, the skill and its interval are SkillBootstrap's with one-day
// blocks, the DM test is at lag h−1, and a champion that could not be
// re-scored is marked so.
func TestLossGateScore(t *testing.T) {
	n := 3000
	cand, weak, strong, champ := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		x := 1 + math.Sin(float64(i)/37)
		cand[i], weak[i], strong[i], champ[i] = 0.8*x+0.1*math.Cos(float64(i)), 2*x, x, 0.9*x
	}
	g := LossGate{Metric: "pinball", Block: DayRows(time.Minute, 5), Horizon: 5, Seed: 7}
	s, err := g.Score(cand, map[string][]float64{"weak": weak, "strong": strong}, champ)
	if err != nil {
		t.Fatal(err)
	}
	ci, _ := ml.SkillBootstrap{Block: 1440, Horizon: 5, Seed: 7}.Skill(cand, strong)
	dm, _ := ml.DieboldMariano(cand, strong, 4)
	if s.BestBaseline != "strong" || s.BestBaselineMAE != ml.Mean(strong) || s.Skill != ci.Skill || s.SkillLo != ci.Lo ||
		s.SkillHi != ci.Hi || s.DMStat != dm.Stat || s.DMP != dm.P || s.Block != 1440 || s.Metric != "pinball" || s.Rows != n ||
		!s.ChampionRescored || s.ChampionMAE != ml.Mean(champ) || s.CandidateMAE != ml.Mean(cand) {
		t.Errorf("scores %+v; want skill %+v, DM %+v", s, ci, dm)
	}
	if s, err := g.Score(cand, map[string][]float64{"weak": weak}, nil); err != nil || s.ChampionRescored || s.ChampionMAE == s.ChampionMAE {
		t.Errorf("champion not re-scored: %+v, %v", s, err)
	}
	bad := map[string]map[string][]float64{
		"no baseline":         {},
		"short baseline":      {"strong": strong[1:]},
		"NaN baseline":        {"strong": append([]float64{math.NaN()}, strong[1:]...)},
		"all-zero baseline":   {"strong": make([]float64, n)},
		"negative mean (Inf)": {"strong": append([]float64{math.Inf(-1)}, strong[1:]...)},
	}
	for name, base := range bad {
		if _, err := g.Score(cand, base, champ); !errors.Is(err, market.ErrInvalid) {
			t.Errorf("%s: %v, want code invalid", name, err)
		}
	}
	if _, err := g.Score(cand, map[string][]float64{"strong": strong}, champ[1:]); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("short champion: %v, want code invalid", err)
	}
}

// One-day blocks: the rows of a day of candles, never fewer than h.
func TestDayRows(t *testing.T) {
	for _, tc := range []struct {
		iv   time.Duration
		h, w int
	}{{time.Minute, 1, 1440}, {time.Minute, 60, 1440}, {5 * time.Minute, 1, 288}, {time.Hour, 60, 60}, {7 * time.Hour, 1, 4}} {
		if got := DayRows(tc.iv, tc.h); got != tc.w {
			t.Errorf("DayRows(%v, %d) = %d, want %d", tc.iv, tc.h, got, tc.w)
		}
	}
}

// Undefined figures cross Temporal as JSON null and come back NaN; scores
// recorded before the skill gate decode with NaN where they lack a figure.
func TestGateScoresJSON(t *testing.T) {
	s := GateScores{Rows: 10, CandidateMAE: 0.5, ZeroMAE: 0.6, ChampionMAE: math.NaN(), BestBaseline: "zero-return",
		BestBaselineMAE: 0.6, Skill: 0.1, SkillLo: -0.1, SkillHi: 0.3, Block: 10, DMStat: math.Inf(-1), DMP: 0,
		ChampionNote: "feature schema 1, the dataset's is 2", ChampionRecordedMAE: 0.55, TestFrom: time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"champion_mae":null`) || !strings.Contains(string(b), `"dm_stat":null`) ||
		!strings.Contains(string(b), `"skill_lo":-0.1`) || strings.Count(string(b), `"skill_lo"`) != 1 {
		t.Errorf("JSON %s", b)
	}
	var back GateScores
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ChampionMAE == back.ChampionMAE || back.DMStat == back.DMStat || back.SkillLo != -0.1 || back.ChampionRecordedMAE != 0.55 ||
		back.BestBaseline != s.BestBaseline || back.ChampionNote != s.ChampionNote || !back.TestFrom.Equal(s.TestFrom) || back.Block != 10 {
		t.Errorf("round trip %+v", back)
	}
	var old GateScores
	if err := json.Unmarshal([]byte(`{"rows":3,"candidate_mae":0.1,"zero_mae":0.2,"champion_mae":0.2,"champion_name":"zero-return"}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.Rows != 3 || old.CandidateMAE != 0.1 || old.ChampionMAE != 0.2 || old.Skill == old.Skill || old.SkillLo == old.SkillLo ||
		old.ChampionRecordedMAE == old.ChampionRecordedMAE || old.BestBaseline != "" {
		t.Errorf("old scores %+v", old)
	}
}
