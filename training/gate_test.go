package training

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
)

func register(t *testing.T, reg *registry.Registry, model []byte) int {
	t.Helper()
	if _, err := reg.EnsureBaseline(t.Context(), "ETH/USDT", 1); err != nil {
		t.Fatal(err)
	}
	m, err := reg.Register(t.Context(), registry.Meta{Pair: "ETH/USDT", Horizon: 1, Name: modelName}, model)
	if err != nil {
		t.Fatal(err)
	}
	return m.Version
}

// The gate's scores on the real week: the baseline champion scores exactly
// zero-return's MAE, a model that predicts a 1% rise every minute is far
// worse (its skill interval below 0), and once it is champion it is
// re-scored from its artifact to the same MAE it had as a candidate.
func TestScoreGateOnRealWeek(t *testing.T) {
	dir, info, ds, sp := weekDataset(t)
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	test := info.Final.Test
	zero := returnsMAE(make([]float64, test.Len()), ds.Y[test.Lo:test.Hi])
	shifted := register(t, reg, trainModel(t, ds, info.Final.Train.Lo, info.Final.Train.Hi, 50, 0.01))
	s, err := ScoreGate(t.Context(), reg, ds, sp, GateRequest{Pair: "ETH/USDT", Horizon: 1, Version: shifted})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != test.Len() || !s.TestFrom.Equal(info.TestFrom) || !s.TestTo.Equal(info.TestTo) || s.ZeroMAE != zero ||
		s.ChampionVersion != 0 || s.ChampionName != registry.BaselineName || s.ChampionMAE != zero || !s.ChampionRescored ||
		!(s.CandidateMAE > 10*zero) || s.Block != 1440 || !(s.BestBaselineMAE <= zero) || !(s.SkillHi < 0) || !(s.DMP < 0.01) {
		t.Fatalf("scores %+v, zero-return MAE %v", s, zero)
	}
	if err := reg.SetAlias(t.Context(), "ETH/USDT", 1, registry.Champion, shifted, "test"); err != nil {
		t.Fatal(err)
	}
	good := register(t, reg, trainModel(t, ds, test.Lo, test.Hi, 20, 0))
	s2, err := ScoreGate(t.Context(), reg, ds, sp, GateRequest{Pair: "ETH/USDT", Horizon: 1, Version: good})
	if err != nil || s2.ChampionVersion != shifted || s2.ChampionMAE != s.CandidateMAE || !s2.ChampionRescored ||
		s2.ChampionRecordedMAE == s2.ChampionRecordedMAE || !(s2.CandidateMAE < s2.ZeroMAE) || !(s2.SkillLo > 0) {
		t.Errorf("in-sample candidate against the shifted champion: %+v, %v", s2, err)
	}
	if _, err := ScoreGate(t.Context(), reg, ds, sp, GateRequest{Pair: "ETH/USDT", Horizon: 1, Version: 99}); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("unknown candidate: %v, want code invalid", err)
	}
}

// Register adds a version once per report folder, and names the files the
// report folder holds.
func TestRegisterOncePerReportFolder(t *testing.T) {
	dir, info, ds, _ := weekDataset(t)
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(t.TempDir(), modelFile)
	if err := os.WriteFile(model, trainModel(t, ds, info.Final.Train.Lo, info.Final.Train.Hi, 5, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	in := RegisterRequest{Pair: "ETH/USDT", Horizon: 1, ModelPath: model, ReportDir: ReportDir(dir, "ETH/USDT", 1, "run-1"),
		Metrics: map[string]float64{"model_mae": 0.001}, Dataset: info}
	first, err := Register(t.Context(), reg, in)
	if err != nil || first.Version != 1 || first.BaselineVersion != 0 {
		t.Fatalf("first = %+v, %v", first, err)
	}
	if again, err := Register(t.Context(), reg, in); err != nil || again != first {
		t.Errorf("retry = %+v, %v; want %+v", again, err, first)
	}
	m, err := reg.Get(t.Context(), "ETH/USDT", 1, "1")
	if err != nil || m.Name != modelName || m.ReportDir != in.ReportDir || !m.TestFrom.Equal(info.TestFrom) || m.Metrics["model_mae"] != 0.001 {
		t.Errorf("registered %+v, %v", m, err)
	}
	in.ReportDir, in.ModelPath = ReportDir(dir, "ETH/USDT", 1, "run-2"), filepath.Join(t.TempDir(), "missing.ubj")
	if _, err := Register(t.Context(), reg, in); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("missing model: %v, want code invalid", err)
	}
}

// The gate's metric is the mean absolute error, NaN without rows, equal to
// the report's MAE to the last bit.
func TestReturnsMAE(t *testing.T) {
	if got := returnsMAE([]float64{0.5, -0.25, 0}, []float64{0, 0, 0.75}); got != 0.5 {
		t.Errorf("MAE %v", got)
	}
	if got := returnsMAE(nil, nil); got == got {
		t.Errorf("MAE of no rows %v, want NaN", got)
	}
	pred, realized := []float64{0.3, -0.1, 0.2, 0}, []float64{0.1, 0.1, -0.3, 0.7}
	if m := (ml.Eval{Horizon: 1}).Evaluate(pred, realized, nil, nil); returnsMAE(pred, realized) != m.MAE {
		t.Errorf("MAE %v, the report's %v", returnsMAE(pred, realized), m.MAE)
	}
}
