package ml

import (
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

func TestSampleParams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var etas, mcws []float64
	depths := map[int]int{}
	for range 10000 {
		p := SampleParams(rng)
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		etas, mcws = append(etas, p.Eta), append(mcws, p.MinChildWeight)
		depths[p.MaxDepth]++
	}
	// Log-uniform: the median is the geometric mean of the bounds.
	sort.Float64s(etas)
	sort.Float64s(mcws)
	if med := etas[len(etas)/2]; math.Abs(math.Log(med/math.Sqrt(MinEta*MaxEta))) > 0.1 {
		t.Errorf("eta median %v, want about %v", med, math.Sqrt(MinEta*MaxEta))
	}
	if med := mcws[len(mcws)/2]; math.Abs(math.Log(med/math.Sqrt(MinMinChildWeight*MaxMinChildWeight))) > 0.1 {
		t.Errorf("min_child_weight median %v", med)
	}
	if len(depths) != MaxMaxDepth-MinMaxDepth+1 {
		t.Errorf("depths drawn %v, want every value of 2–8", depths)
	}
	a, b := SampleParams(rand.New(rand.NewPCG(9, 9))), SampleParams(rand.New(rand.NewPCG(9, 9)))
	if a != b {
		t.Error("same seed, different params")
	}
}

func TestXGBParams(t *testing.T) {
	// Hand-written fixture.
	p := TrialParams{MaxDepth: 4, Eta: 0.05, Subsample: 0.8, ColsampleBytree: 0.6, MinChildWeight: 12.5, Lambda: 1, Alpha: 0, Seed: 77}
	want := map[string]string{
		"objective": "reg:absoluteerror", "eval_metric": "mae", "base_score": "0", "tree_method": "hist", "nthread": "1",
		"max_depth": "4", "eta": "0.05", "subsample": "0.8", "colsample_bytree": "0.6", "min_child_weight": "12.5",
		"lambda": "1", "alpha": "0", "seed": "77",
	}
	if got := p.XGB(); !maps.Equal(got, want) {
		t.Errorf("XGB() = %v, want %v", got, want)
	}
	if err := (TrialParams{MaxDepth: 9, Eta: 0.05, Subsample: 0.8, ColsampleBytree: 0.6, MinChildWeight: 1}).Validate(); err == nil {
		t.Error("max_depth 9 accepted")
	}
}

func TestSuccessiveHalving(t *testing.T) {
	tests := []struct {
		n, eta int
		want   []Rung
	}{
		{50, 3, []Rung{{50, 1.0 / 9}, {16, 1.0 / 3}, {5, 1}}},
		{27, 3, []Rung{{27, 1.0 / 9}, {9, 1.0 / 3}, {3, 1}}},
		{8, 2, []Rung{{8, 0.25}, {4, 0.5}, {2, 1}}},
		{9, 3, []Rung{{9, 1.0 / 3}, {3, 1}}},
		{2, 3, []Rung{{2, 1}}},
		{10, 1, []Rung{{10, 1}}},
		{0, 3, nil},
	}
	for _, tt := range tests {
		got := SuccessiveHalving(tt.n, tt.eta)
		if !slices.EqualFunc(got, tt.want, func(a, b Rung) bool { return a.Trials == b.Trials && near(a.Budget, b.Budget, 1e-15) }) {
			t.Errorf("SuccessiveHalving(%d, %d) = %v, want %v", tt.n, tt.eta, got, tt.want)
		}
	}
	if r := (Rung{Budget: 1.0 / 9}).Rounds(1000); r != 111 {
		t.Errorf("1/9 of 1000 rounds = %d", r)
	}
	if r := (Rung{Budget: 0.001}).Rounds(100); r != 1 {
		t.Errorf("a tiny budget gives %d rounds, want at least 1", r)
	}
}

func TestTopK(t *testing.T) {
	// Hand-written fixture.
	rs := []TrialResult{
		{ID: 1, Score: 0.5}, {ID: 2, Score: 0.3}, {ID: 3, Score: math.NaN()}, {ID: 4, Score: 0.1, Err: "boom"},
		{ID: 5, Score: 0.3}, {ID: 6, Score: math.Inf(-1)}, {ID: 7, Score: 0.2},
	}
	var ids []int
	for _, r := range TopK(rs, 3) {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []int{7, 2, 5}) {
		t.Errorf("TopK = %v, want [7 2 5]", ids)
	}
	if got := TopK(rs, 100); len(got) != 4 {
		t.Errorf("TopK(100) kept %d, want the 4 successful", len(got))
	}
	if got := TopK(rs, -1); len(got) != 0 {
		t.Error("TopK(-1) not empty")
	}
	if MeanScore([]float64{1, 2, 6}) != 3 || !math.IsNaN(MeanScore(nil)) {
		t.Error("MeanScore")
	}
}

func TestTrialResultJSON(t *testing.T) {
	r := TrialResult{ID: 3, Rung: 1, Params: SampleParams(rand.New(rand.NewPCG(2, 2))), Scores: []float64{0.1, math.NaN()},
		Score: math.NaN(), Rounds: 40, Duration: 1500 * time.Millisecond, Err: "fold 2: diverged"}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got TrialResult
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != 3 || got.Rung != 1 || got.Params != r.Params || got.Scores[0] != 0.1 || !math.IsNaN(got.Scores[1]) ||
		!math.IsNaN(got.Score) || got.Rounds != 40 || got.Duration != r.Duration || got.Err != r.Err {
		t.Errorf("round trip %+v, want %+v (%s)", got, r, b)
	}
}
