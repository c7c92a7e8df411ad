package training

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/xgboost"
)

// synthVol is n rows of 3 features whose realized vol is exp(x0)·1e-3
// (times noise), as the vol product's targets.
func synthVol(n int, seed uint64, shift float64) UpdateRows {
	rng := rand.New(rand.NewPCG(seed, 1))
	r := UpdateRows{Product: ProductVol, Cols: 3, X: make([]float32, 0, 3*n), Y: make([]float64, n)}
	for i := range n {
		x0 := rng.NormFloat64()
		r.X = append(r.X, float32(x0), float32(rng.NormFloat64()), float32(rng.NormFloat64()))
		r.Y[i] = 1e-3 * math.Exp(x0+shift+0.1*rng.NormFloat64())
	}
	return r
}

// synthParent trains the vol booster on rows as fitVolModel does (squared
// error on ln vol, base_score from the labels), early stopped when valid
// is given, and returns it as UBJ.
func synthParent(t *testing.T, rows, valid UpdateRows, rounds, patience int) []byte {
	t.Helper()
	x, y, _, err := trainingLabels(rows)
	if err != nil {
		t.Fatal(err)
	}
	p, err := xgboost.Params{"objective": "reg:squarederror", "eval_metric": "rmse", "max_depth": "3", "eta": "0.3",
		"nthread": "1", "min_child_weight": "1"}.WithBaseScore(y)
	if err != nil {
		t.Fatal(err)
	}
	m, err := labelledMatrix(x, y, len(y), rows.Cols)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	opt := xgboost.TrainOptions{Rounds: rounds}
	if valid.Len() > 0 {
		vx, vy, _, err := trainingLabels(valid)
		if err != nil {
			t.Fatal(err)
		}
		vm, err := labelledMatrix(vx, vy, len(vy), valid.Cols)
		if err != nil {
			t.Fatal(err)
		}
		defer vm.Close()
		opt.Valid, opt.EarlyStoppingRounds = vm, patience
	}
	b, _, err := xgboost.Train(p, m, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out, err := b.Save("ubj")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUpdateMethods(t *testing.T) {
	parent := synthParent(t, synthVol(2000, 1, 0), UpdateRows{}, 20, 0)
	// The regime moved: vol is 2.7 times higher on the newest rows.
	newer, next := synthVol(1000, 2, 1), synthVol(200, 3, 1)
	for _, p := range []UpdatePolicy{{Method: UpdateContinue, Trees: 10, Window: 800}, {Method: UpdateRefresh, Window: 800}} {
		child, st, err := Update(t.Context(), parent, newer, p)
		if err != nil {
			t.Fatal(err)
		}
		want := 20
		if p.Method == UpdateContinue {
			want = 30
		}
		if st.Rows != 800 || st.NaNLabels != 0 || st.RoundsBefore != 20 || st.RoundsAfter != want {
			t.Errorf("%s: stats %+v, want 800 rows, 20 → %d rounds", p.Method, st, want)
		}
		pass, f, err := ShadowGate(parent, child, next)
		if err != nil {
			t.Fatal(err)
		}
		// On ln vol labels the update learns the shift; on raw vol it could
		// not (trees of eta 0.3 move by ~1e-3 at most).
		if !pass || f.Metric != "mae" || f.Rows != 200 || !(f.Child < 0.7*f.Parent) {
			t.Errorf("%s: gate %v %+v, want the child's MAE well below the parent's", p.Method, pass, f)
		}
		if pass, _, _ := ShadowGate(child, parent, next); pass {
			t.Errorf("%s: the parent passed the gate against the better child", p.Method)
		}
	}
}

// TestUpdateContinueFromBest: continued boosting starts from the parent's
// best iteration, not after its unused trees.
func TestUpdateContinueFromBest(t *testing.T) {
	parent := synthParent(t, synthVol(1500, 4, 0), synthVol(300, 5, 0), 300, 5)
	b, err := xgboost.Load(parent)
	if err != nil {
		t.Fatal(err)
	}
	best := b.BestIteration()
	n, _ := b.Rounds()
	b.Close()
	if best < 0 || best+1 >= n {
		t.Fatalf("parent: best iteration %d of %d rounds: want early stopping", best, n)
	}
	_, st, err := Update(t.Context(), parent, synthVol(500, 6, 0), UpdatePolicy{Method: UpdateContinue, Trees: 3})
	if err != nil {
		t.Fatal(err)
	}
	if st.RoundsAfter != best+1+3 {
		t.Errorf("continue: %d rounds, want best %d + 1 + 3", st.RoundsAfter, best)
	}
}

func TestUpdateRefusals(t *testing.T) {
	parent := synthParent(t, synthVol(1000, 7, 0), UpdateRows{}, 10, 0)
	cont := UpdatePolicy{Method: UpdateContinue, Trees: 2}
	nan := synthVol(MinUpdateRows+100, 8, 0)
	for i := range 100 {
		nan.Y[i*2] = math.NaN()
	}
	if _, st, err := Update(t.Context(), parent, nan.Slice(0, MinUpdateRows+50), cont); !errors.Is(err, ErrUpdateSkipped) || st.NaNLabels != 100 {
		t.Errorf("100 NaN labels of %d: %v, stats %+v; want skipped, 100 counted", nan.Len(), err, st)
	}
	for i := range 40 {
		nan.Y[i*2] = 1e-3
	}
	nan.Y[1] = math.Inf(1)
	if _, st, err := Update(t.Context(), parent, nan, cont); err != nil || st.NaNLabels != 61 || st.Rows != nan.Len()-61 {
		t.Errorf("61 non-finite labels: %v, stats %+v", err, st)
	}
	corrupt := append([]byte{}, parent[:len(parent)/2]...)
	for _, c := range []struct {
		name   string
		model  []byte
		rows   UpdateRows
		policy UpdatePolicy
		want   error
	}{
		{"empty rows", parent, UpdateRows{Product: ProductVol, Cols: 3}, cont, ErrUpdateSkipped},
		{"too few rows", parent, synthVol(MinUpdateRows-1, 9, 0), cont, ErrUpdateSkipped},
		{"window too small", parent, synthVol(1000, 9, 0), UpdatePolicy{Method: UpdateRefresh, Window: 100}, ErrUpdateSkipped},
		{"ragged features", parent, UpdateRows{Product: ProductVol, Cols: 3, X: make([]float32, 5), Y: make([]float64, 2)}, cont, ErrUpdateSkipped},
		{"corrupt parent", corrupt, synthVol(500, 9, 0), cont, ErrParentModel},
		{"no parent", nil, synthVol(500, 9, 0), cont, ErrParentModel},
		{"other features", parent, UpdateRows{Product: ProductVol, Cols: 2, X: make([]float32, 1000), Y: synthVol(500, 9, 0).Y}, cont, ErrParentModel},
		{"method off", parent, synthVol(500, 9, 0), UpdatePolicy{}, market.ErrInvalid},
		{"no trees to add", parent, synthVol(500, 9, 0), UpdatePolicy{Method: UpdateContinue}, market.ErrInvalid},
		{"quantiles", parent, UpdateRows{Product: ProductQuantiles, Cols: 3, X: make([]float32, 3), Y: []float64{1}}, cont, market.ErrInvalid},
	} {
		if _, _, err := Update(t.Context(), c.model, c.rows, c.policy); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, _, err := ShadowGate(parent, corrupt, synthVol(60, 10, 0)); !errors.Is(err, ErrParentModel) {
		t.Errorf("gate of a corrupt child: %v", err)
	}
	none := synthVol(60, 10, 0)
	for i := range none.Y {
		none.Y[i] = math.NaN()
	}
	if _, _, err := ShadowGate(parent, parent, none); !errors.Is(err, ErrUpdateSkipped) {
		t.Errorf("gate on no labelled row: %v", err)
	}
}

// TestShadowGatePUp: p_up is gated by the Brier score, a tie passes, and
// rows without a direction are not scored.
func TestShadowGatePUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	n := 1000
	r := UpdateRows{Product: ProductPUp, Cols: 2, Y: make([]float64, n)}
	for i := range n {
		x := rng.NormFloat64()
		r.X = append(r.X, float32(x), float32(rng.NormFloat64()))
		if rng.Float64() < 1/(1+math.Exp(-2*x)) {
			r.Y[i] = 1
		}
		if i%10 == 0 {
			r.Y[i] = math.NaN() // unchanged close
		}
	}
	x, y, nan, err := trainingLabels(r)
	if err != nil || nan != n/10 {
		t.Fatalf("labels: %v, %d NaN", err, nan)
	}
	m, _ := labelledMatrix(x, y, len(y), 2)
	defer m.Close()
	b, _, err := xgboost.Train(xgboost.Params{"objective": "binary:logistic", "eval_metric": "logloss", "nthread": "1", "max_depth": "2"}, m, xgboost.TrainOptions{Rounds: 10})
	if err != nil {
		t.Fatal(err)
	}
	parent, _ := b.Save("ubj")
	b.Close()
	pass, f, err := ShadowGate(parent, parent, r)
	if err != nil || !pass || f.Metric != "brier" || f.Rows != n-n/10 || f.Parent != f.Child || !(f.Parent < 0.25) {
		t.Errorf("gate of the parent against itself: %v %+v %v", pass, f, err)
	}
	child, st, err := Update(t.Context(), parent, r, UpdatePolicy{Method: UpdateRefresh})
	if err != nil || st.NaNLabels != n/10 || st.RoundsAfter != 10 {
		t.Fatalf("refresh p_up: %v %+v", err, st)
	}
	if _, f, err := ShadowGate(parent, child, r); err != nil || !(f.Child < 0.25) {
		t.Errorf("refreshed p_up: %+v %v", f, err)
	}
}
