package workflows

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/training"
)

// passingScores are the figures of a candidate that passes: skill CI above
// 0 over the strongest baseline, better than the zero-return champion
// re-scored on the same rows.
func passingScores() activities.GateScores {
	return activities.GateScores{Rows: 100, CandidateMAE: 0.9, ZeroMAE: 1, ChampionVersion: 0, ChampionName: "zero-return", ChampionMAE: 1,
		BestBaseline: "zero-return", BestBaselineMAE: 1, Skill: 0.1, SkillLo: 0.02, SkillHi: 0.18, Block: 1440, DMStat: -3, DMP: 0.003,
		ChampionRescored: true, ChampionRecordedMAE: nan()}
}

func TestGate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*activities.GateScores)
		pass   bool
		reason []string
	}{
		{"CI above 0, no worse than the champion", func(*activities.GateScores) {}, true,
			[]string{"promoted", "skill +10.00%", "[+2.00%, +18.00%]", "zero-return", "p 0.003", "re-scored on these rows, MAE 1"}},
		{"CI straddles 0", func(s *activities.GateScores) {
			s.Skill, s.SkillLo, s.SkillHi, s.CandidateMAE = 0.0004, -0.002, 0.003, 0.9996
		}, false,
			[]string{"rejected", "lower bound is not above 0", "[-0.20%, +0.30%]"}},
		{"CI below 0", func(s *activities.GateScores) { s.Skill, s.SkillLo, s.SkillHi, s.CandidateMAE = -0.1, -0.2, -0.05, 1.1 }, false,
			[]string{"rejected", "not above 0"}},
		{"CI lower bound exactly 0", func(s *activities.GateScores) { s.SkillLo = 0 }, false, []string{"not above 0"}},
		{"strongest baseline named", func(s *activities.GateScores) { s.BestBaseline, s.BestBaselineMAE = "ema-drift", 0.95 }, true,
			[]string{"promoted", "0.95 of ema-drift, the strongest baseline"}},
		{"CI above 0, worse than the champion", func(s *activities.GateScores) {
			s.ChampionVersion, s.ChampionName, s.ChampionMAE = 4, "xgboost", 0.85
		}, false, []string{"rejected", "MAE 0.9 is worse than the champion v4 (xgboost) re-scored on these rows, 0.85"}},
		{"ties the champion", func(s *activities.GateScores) { s.ChampionVersion, s.ChampionName, s.ChampionMAE = 4, "xgboost", 0.9 }, true,
			[]string{"promoted", "no worse than the champion v4"}},
		{"champion not re-scorable, recorded score beaten", func(s *activities.GateScores) {
			s.ChampionVersion, s.ChampionName, s.ChampionRescored, s.ChampionMAE = 4, "xgboost", false, nan()
			s.ChampionNote, s.ChampionRecordedMAE = "feature schema 1, the dataset's is 2", 0.95
		}, true, []string{"promoted", "champion v4 (xgboost) could not be re-scored (feature schema 1, the dataset's is 2)", "beats its recorded test MAE 0.95"}},
		{"champion not re-scorable, recorded score not beaten", func(s *activities.GateScores) {
			s.ChampionVersion, s.ChampionName, s.ChampionRescored, s.ChampionMAE = 4, "xgboost", false, nan()
			s.ChampionNote, s.ChampionRecordedMAE = "load artifact: bad model", 0.9
		}, false, []string{"rejected", "could not be re-scored (load artifact: bad model)", "does not beat its recorded test MAE 0.9"}},
		{"champion not re-scorable, no recorded score", func(s *activities.GateScores) {
			s.ChampionVersion, s.ChampionRescored, s.ChampionNote = 4, false, "feature schema 1, the dataset's is 2"
		}, false, []string{"rejected", "no recorded test MAE"}},
		{"re-scored champion undefined", func(s *activities.GateScores) { s.ChampionMAE = nan() }, false, []string{"rejected", "undefined MAE"}},
		{"skill NaN", func(s *activities.GateScores) { s.Skill = nan() }, false, []string{"rejected", "undefined"}},
		{"CI NaN", func(s *activities.GateScores) { s.SkillLo, s.SkillHi = nan(), nan() }, false, []string{"rejected", "undefined"}},
		{"candidate NaN", func(s *activities.GateScores) { s.CandidateMAE = nan() }, false, []string{"rejected", "undefined"}},
		{"no rows", func(s *activities.GateScores) { s.Rows = 0 }, false, []string{"rejected", "no test rows"}},
		{"no baseline", func(s *activities.GateScores) { s.BestBaseline = "" }, false, []string{"rejected", "undefined"}},
		{"another product's metric", func(s *activities.GateScores) { s.Metric = "Brier" }, true, []string{"Brier 0.9 vs 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := passingScores()
			tc.edit(&s)
			pass, reason := Gate(s)
			if pass != tc.pass {
				t.Errorf("Gate = %v, %q; want %v", pass, reason, tc.pass)
			}
			for _, want := range tc.reason {
				if !strings.Contains(reason, want) {
					t.Errorf("reason %q lacks %q", reason, want)
				}
			}
		})
	}
}

// Scores recorded before the skill gate (no interval, no baseline name)
// still decode, and are rejected as undefined, never promoted.
func TestGateRejectsScoresRecordedBeforeTheSkillGate(t *testing.T) {
	old := `{"rows":8634,"test_from":"2025-05-31T13:00:00Z","test_to":"2025-06-03T00:00:00Z","candidate_mae":0.000278949,` +
		`"zero_mae":0.000279049,"champion_version":0,"champion_name":"zero-return","champion_mae":0.000279049}`
	var s activities.GateScores
	if err := json.Unmarshal([]byte(old), &s); err != nil {
		t.Fatal(err)
	}
	if s.CandidateMAE != 0.000278949 || s.ChampionMAE != 0.000279049 || s.SkillLo == s.SkillLo {
		t.Fatalf("decoded %+v", s)
	}
	if pass, reason := Gate(s); pass || !strings.Contains(reason, "undefined") {
		t.Errorf("Gate = %v, %q", pass, reason)
	}
}

// realCloses are the closes of a real 90-day Binance 1-minute file.
func realCloses(t *testing.T, rel, pair string) []float64 {
	t.Helper()
	candles, _, err := archive.ReadCandles(realdata.Path(t, rel), archive.BinanceKlines, pair)
	if err != nil {
		t.Fatal(err)
	}
	closes := make([]float64, len(candles))
	for i, c := range candles {
		closes[i] = c.Close
	}
	return closes
}

// The BTC/USDT h1 case of issue 12, rebuilt on the real BTC/USDT minutes:
// on the last 15% of the 90 days, a candidate that is zero-return plus a
// tiny perturbation of ±0.3 bp, on the realized side on just enough rows
// (drawn in a seeded random order) for a skill of +0.04% over zero-return.
// The old gate promoted it on the point estimate; its day-block interval
// includes 0 and the gate rejects it.
func TestGateRejectsTheBTCH1CaseOnRealData(t *testing.T) {
	const eps, skill = 3e-5, 0.0004
	closes := realCloses(t, realdata.BinanceBTC90d, "BTC/USDT")
	n := len(closes)
	y := ml.FutureReturn(closes, 1)[n*85/100 : n-1]
	zero, cand := make([]float64, len(y)), make([]float64, len(y))
	var zeroSum, candSum float64
	for i, r := range y {
		zero[i], cand[i] = math.Abs(r), math.Abs(r)+eps // every row on the wrong side
		zeroSum, candSum = zeroSum+zero[i], candSum+cand[i]
	}
	for _, i := range rand.New(rand.NewPCG(12, 1)).Perm(len(y)) { // the right side, row after row
		if candSum <= (1-skill)*zeroSum {
			break
		}
		candSum -= cand[i] - math.Abs(zero[i]-eps)
		cand[i] = math.Abs(zero[i] - eps)
	}
	g := training.LossGate{Block: training.DayRows(time.Minute, 1), Horizon: 1, Seed: 1}
	s, err := g.Score(cand, map[string][]float64{ml.BaselineZero: zero}, zero)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows: MAE %.9g vs zero-return %.9g, skill %+.3f%% [%+.3f%%, %+.3f%%], DM p %.2f",
		s.Rows, s.CandidateMAE, s.BestBaselineMAE, 100*s.Skill, 100*s.SkillLo, 100*s.SkillHi, s.DMP)
	if !(s.Skill > 0.0002 && s.Skill < 0.0006) || !(s.CandidateMAE < s.ChampionMAE) {
		t.Fatalf("not the case: skill %+.4f%%, MAE %v vs champion %v", 100*s.Skill, s.CandidateMAE, s.ChampionMAE)
	}
	if !(s.SkillLo < 0 && s.SkillHi > 0) || !(s.DMP > 0.05) {
		t.Errorf("CI [%v, %v], DM p %v: want an interval across 0", s.SkillLo, s.SkillHi, s.DMP)
	}
	if pass, reason := Gate(s); pass || !strings.Contains(reason, "not above 0") {
		t.Errorf("Gate = %v, %q", pass, reason)
	}
}

// A good challenger passes on real data: the HAR vol forecast against
// last-window realized vol at h = 5 on the real ETH/USDT minutes (HAR fitted
// on the first 70%, scored on the rest), fed to the same rule as candidate
// and baseline, the baseline serving as champion.
func TestGatePassesAGoodChallengerOnRealData(t *testing.T) {
	const h = 5
	closes := realCloses(t, realdata.BinanceETH90d, "ETH/USDT")
	c := ml.SquaredReturnSums(closes)
	n := len(closes)
	cut := n * 7 / 10
	har, err := ml.FitHAR(c, h, ml.HARWindows(h), 1440, cut-h+1)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := cut, n-h
	y := ml.FutureVol(c, h)[lo:hi]
	harLoss := ml.AbsErrors(har.Predict(c)[lo:hi], y)
	lastLoss := ml.AbsErrors(ml.LastWindowVol(c, h)[lo:hi], y)
	g := training.LossGate{Block: training.DayRows(time.Minute, h), Horizon: h, Seed: 1}
	s, err := g.Score(harLoss, map[string][]float64{ml.BaselineLastRV: lastLoss}, lastLoss)
	if err != nil {
		t.Fatal(err)
	}
	s.ChampionName = ml.BaselineLastRV
	pass, reason := Gate(s)
	t.Log(reason)
	if !pass || !(s.SkillLo > 0.1) || s.Block != 1440 || !(s.DMP < 0.01) {
		t.Errorf("Gate = %v; scores %+v", pass, s)
	}
}
