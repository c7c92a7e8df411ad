package xgboost

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// incremental trains a 40-round model on the older real rows and returns
// it saved, with newer rows to update it on and test rows after them.
func incremental(t *testing.T, params Params) (model []byte, older, newer, test dataset) {
	t.Helper()
	d := lagged(loadCloses(t, 12000), 5)
	older, newer, test = d.slice(0, 8000), d.slice(8001, 10000), d.slice(10001, d.Rows)
	b, _, err := Train(params, older.matrix(t), TrainOptions{Rounds: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if model, err = b.Save("ubj"); err != nil {
		t.Fatal(err)
	}
	return model, older, newer, test
}

func trees(t *testing.T, b *Booster) []string {
	t.Helper()
	js, err := b.Save("json")
	if err != nil {
		t.Fatal(err)
	}
	return readTreesBytes(t, js)
}

// TestContinueIncremental is issue #13's continued boosting: a loaded
// champion gets k more trees on newer real rows; its old trees and stored
// params are kept, and its predictions change.
func TestContinueIncremental(t *testing.T) {
	model, _, newer, test := incremental(t, testParams("hist"))
	b, err := Load(model)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	oldTrees := trees(t, b)
	oldParams, _, _ := b.Attr(AttrParams)
	before, err := b.PredictDense(test.X, test.Rows, test.Cols)
	if err != nil {
		t.Fatal(err)
	}
	const k = 5
	res, err := b.ContinueContext(context.Background(), newer.matrix(t), k, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := b.PredictDense(test.X, test.Rows, test.Cols)
	if err != nil {
		t.Fatal(err)
	}
	newTrees := trees(t, b)
	params, _, _ := b.Attr(AttrParams)
	if n, _ := b.Rounds(); n != 40+k || len(newTrees) != 40+k || res.BestIteration != 40+k-1 {
		t.Fatalf("%d rounds, %d trees, best %d; want %d", n, len(newTrees), res.BestIteration, 40+k)
	}
	if !slices.Equal(newTrees[:40], oldTrees) || params != oldParams {
		t.Fatal("continued boosting changed the old trees or the stored params")
	}
	if slices.Equal(before, after) {
		t.Fatal("predictions unchanged")
	}
	t.Logf("continued with %d trees on %d newer rows: test MAE %.6g → %.6g", k, newer.Rows, mae(before, test.Y), mae(after, test.Y))
}

// TestRefresh is issue #13's leaf refresh: the trees keep their number and
// splits, their leaves are re-estimated on newer real rows, predictions
// change, and the refreshed model still continues (with new trees).
func TestRefresh(t *testing.T) {
	model, _, newer, test := incremental(t, testParams("hist"))
	b, err := Load(model)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	oldTrees := trees(t, b)
	best := b.BestIteration()
	before, err := b.PredictDense(test.X, test.Rows, test.Cols)
	if err != nil {
		t.Fatal(err)
	}
	dnewer := newer.matrix(t)
	if err := b.RefreshContext(context.Background(), dnewer, nil); err != nil {
		t.Fatal(err)
	}
	after, err := b.PredictDense(test.X, test.Rows, test.Cols)
	if err != nil {
		t.Fatal(err)
	}
	newTrees := trees(t, b)
	if n, _ := b.Rounds(); n != 40 || len(newTrees) != 40 || b.BestIteration() != best {
		t.Fatalf("%d rounds, %d trees, best %d; want 40 and best %d", n, len(newTrees), b.BestIteration(), best)
	}
	changed := 0
	for i := range oldTrees {
		if splits(t, oldTrees[i]) != splits(t, newTrees[i]) {
			t.Fatalf("tree %d: splits changed", i)
		}
		if oldTrees[i] != newTrees[i] {
			changed++
		}
	}
	if changed == 0 || slices.Equal(before, after) {
		t.Fatalf("%d trees changed; predictions equal %v", changed, slices.Equal(before, after))
	}
	// Refreshed on those rows, the model fits them better.
	pn, err := b.PredictDense(newer.X, newer.Rows, newer.Cols)
	if err != nil {
		t.Fatal(err)
	}
	old, err := Load(model)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	po, err := old.PredictDense(newer.X, newer.Rows, newer.Cols)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("refreshed %d of 40 trees on %d newer rows: their MAE %.6g → %.6g; test MAE %.6g → %.6g",
		changed, newer.Rows, mae(po, newer.Y), mae(pn, newer.Y), mae(before, test.Y), mae(after, test.Y))
	if rmse(pn, newer.Y) >= rmse(po, newer.Y) {
		t.Fatal("refresh did not fit its own rows better (squared error)")
	}
	// process_type=update stayed in the refreshing learner: continuing adds trees.
	if _, err := b.Continue(dnewer, 3, TrainOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Rounds(); n != 43 {
		t.Fatalf("continued after refresh: %d rounds, want 43", n)
	}
}

func rmse(p, y []float32) float64 {
	s := 0.0
	for i := range p {
		d := float64(p[i]) - float64(y[i])
		s += d * d
	}
	return s / float64(len(p))
}

// splits describes a tree's structure and split conditions, without its
// leaf values (which the JSON keeps in split_conditions too) and statistics.
func splits(t *testing.T, tree string) string {
	t.Helper()
	var tr struct {
		Left       []int     `json:"left_children"`
		Right      []int     `json:"right_children"`
		Index      []int     `json:"split_indices"`
		Conditions []float64 `json:"split_conditions"`
	}
	if err := json.Unmarshal([]byte(tree), &tr); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, l := range tr.Left {
		if l < 0 {
			fmt.Fprintf(&b, "%d:leaf ", i)
			continue
		}
		fmt.Fprintf(&b, "%d:f%d<%v?%d:%d ", i, tr.Index[i], tr.Conditions[i], l, tr.Right[i])
	}
	return b.String()
}

// TestRefreshPinball refreshes a q90 model boosted with a custom objective
// through its gradients, on newer rows whose labels moved up by 5e-4 (the
// fixture's noise sd is 1e-4–1e-3): the refreshed quantile follows them.
// The built-in objective is refused for such a model.
func TestRefreshPinball(t *testing.T) {
	shifted := func(x []float32, rng *rand.Rand) float32 { return heteroscedastic(x, rng) + 5e-4 }
	nw := fixture(2000, 3, 32, shifted)
	b, obj := pinballQ90(t)
	defer b.Close()
	dnew := nw.matrix(t)
	if err := b.Refresh(dnew, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("refresh a pinball model without its objective: %v", err)
	}
	before, _ := b.Predict(dnew)
	if err := b.Refresh(dnew, obj); err != nil {
		t.Fatal(err)
	}
	after, _ := b.Predict(dnew)
	if n, _ := b.Rounds(); n != 100 || slices.Equal(before, after) {
		t.Fatalf("%d rounds; predictions equal %v", n, slices.Equal(before, after))
	}
	cover := func(q []float32) float64 {
		n := 0
		for i, y := range nw.Y {
			if y <= q[i] {
				n++
			}
		}
		return float64(n) / float64(nw.Rows)
	}
	t.Logf("q90 on the refresh rows: pinball %.4g → %.4g, share below %.3f → %.3f",
		PinballLoss(0.9, before, nw.Y), PinballLoss(0.9, after, nw.Y), cover(before), cover(after))
	if PinballLoss(0.9, after, nw.Y) > 0.9*PinballLoss(0.9, before, nw.Y) || math.Abs(cover(after)-0.9) > math.Abs(cover(before)-0.9)/2 {
		t.Fatal("the refreshed quantile did not follow the shifted rows")
	}
}

// pinballQ90 is a q90 model boosted 100 rounds with the Pinball objective
// on the heteroscedastic fixture (seed 31), and that objective.
func pinballQ90(t *testing.T) (*Booster, Pinball) {
	t.Helper()
	tr := fixture(2000, 3, 31, heteroscedastic)
	obj, err := NewPinball(0.9, tr.Y)
	if err != nil {
		t.Fatal(err)
	}
	p := testParams("hist")
	delete(p, "eval_metric")
	delete(p, "base_score")
	b, _, err := Train(p, tr.matrix(t), TrainOptions{Rounds: 100, Objective: obj})
	if err != nil {
		t.Fatal(err)
	}
	return b, obj
}

// TestIncrementalErrors: corrupt, empty, unlabelled or mismatched input is a
// clear error, and a failed refresh leaves the model as it was.
func TestIncrementalErrors(t *testing.T) {
	model, _, newer, test := incremental(t, testParams("hist"))
	for name, buf := range map[string][]byte{"empty": nil, "corrupt": []byte("{\"learner\": 42}"), "truncated": model[:len(model)/3]} {
		if b, err := Load(buf); err == nil || b != nil {
			t.Errorf("load %s model: %v", name, err)
		} else {
			t.Logf("load %s model: %v", name, err)
		}
	}
	if _, err := NewMatrix(nil, 0, newer.Cols, nan32()); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty matrix: %v", err)
	}
	b, err := Load(model)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want, _ := b.PredictDense(test.X, test.Rows, test.Cols)
	other := dataset{X: newer.X[:4*100], Y: newer.Y[:100], Rows: 100, Cols: 4}
	for _, tc := range []struct {
		name string
		m    *Matrix
		want error
		text string
	}{
		{"nil matrix", nil, ErrInvalid, "nil"},
		{"unlabelled", unlabelled(t, newer), ErrXGBoost, "label"},
		{"other columns", other.matrix(t), ErrInvalid, "columns"},
	} {
		if err := b.Refresh(tc.m, nil); !errors.Is(err, tc.want) || !strings.Contains(strings.ToLower(err.Error()), tc.text) {
			t.Errorf("refresh, %s: %v, want %v mentioning %q", tc.name, err, tc.want, tc.text)
		}
		if tc.m != nil {
			if _, err := b.Continue(tc.m, 2, TrainOptions{}); !errors.Is(err, tc.want) {
				t.Errorf("continue, %s: %v, want %v", tc.name, err, tc.want)
			}
		}
	}
	if _, err := b.Continue(newer.matrix(t), 0, TrainOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("continue 0 rounds: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.RefreshContext(ctx, newer.matrix(t), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("refresh, cancelled: %v", err)
	}
	got, err := b.PredictDense(test.X, test.Rows, test.Cols)
	if n, _ := b.Rounds(); err != nil || !slices.Equal(got, want) || n != 40 {
		t.Fatalf("the model changed after failed updates (%d rounds, %v)", n, err)
	}

	abs := testParams("hist")
	abs["objective"] = "reg:absoluteerror"
	ab, _, err := Train(abs, newer.matrix(t), TrainOptions{Rounds: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer ab.Close()
	if err := ab.Refresh(newer.matrix(t), nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "reg:absoluteerror") {
		t.Errorf("refresh reg:absoluteerror: %v", err)
	}
	_ = b.Close()
	if err := b.Refresh(newer.matrix(t), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("refresh a closed booster: %v", err)
	}
}

// TestRefreshPythonCrossCheck: Refresh predicts what Python's xgboost
// predicts after refreshing the same model on the same rows the documented
// way (xgb.train with process_type=update, updater=refresh, refresh_leaf=1,
// xgb_model), for a built-in objective on real returns and for Pinball on
// the hand-made fixture. XGBOOST_PYTHON names another interpreter (e.g. a
// venv with a 2.x wheel, run beside LD_LIBRARY_PATH pointing at its lib).
func TestRefreshPythonCrossCheck(t *testing.T) {
	py := cmp.Or(os.Getenv("XGBOOST_PYTHON"), python)
	if out, err := exec.Command(py, "-c", "import xgboost").CombinedOutput(); err != nil {
		t.Skipf("refresh cross-check skipped: %s cannot import xgboost (apt-get install python3-xgboost): %v: %s", py, err, out)
	}
	t.Run("squarederror", func(t *testing.T) {
		model, _, newer, _ := incremental(t, testParams("hist"))
		refreshCrossCheck(t, py, model, newer, nil)
	})
	t.Run("pinball", func(t *testing.T) {
		nw := fixture(2000, 3, 32, heteroscedastic)
		b, obj := pinballQ90(t)
		defer b.Close()
		model, err := b.Save("ubj")
		if err != nil {
			t.Fatal(err)
		}
		refreshCrossCheck(t, py, model, nw, &obj)
	})
}

func refreshCrossCheck(t *testing.T, py string, model []byte, d dataset, obj *Pinball) {
	b, err := Load(model)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	params, _, err := b.Attr(AttrParams)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	meta := map[string]any{"params": json.RawMessage(params), "rows": d.Rows, "cols": d.Cols}
	var o Objective
	if obj != nil {
		meta["alpha"], meta["scale"], o = obj.Alpha, obj.Scale, *obj
	}
	js, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"model.ubj": model, "meta.json": js, "x.f32": f32Bytes(d.X), "y.f32": f32Bytes(d.Y)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(py, "testdata/refresh.py", dir).CombinedOutput(); err != nil {
		t.Fatalf("refresh.py: %v\n%s", err, out)
	}
	before, err := b.PredictDense(d.X, d.Rows, d.Cols)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(d.matrix(t), o); err != nil {
		t.Fatal(err)
	}
	got, err := b.PredictDense(d.X, d.Rows, d.Cols)
	if err != nil {
		t.Fatal(err)
	}
	want := readF32(t, filepath.Join(dir, "pred.f32"), d.Rows)
	version, _ := os.ReadFile(filepath.Join(dir, "version.txt"))
	diff := compare(t, "Go vs Python refresh", want, got, 1e-7)
	t.Logf("Python xgboost %s: %d rows, max |Go−Python| %g (refresh moved predictions by up to %g)",
		version, d.Rows, diff, compare(t, "before vs after", before, got, math.Inf(1)))
}
