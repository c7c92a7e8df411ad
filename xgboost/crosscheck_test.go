package xgboost

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

const python = "/usr/bin/python3"

// requirePython skips t unless python3 with the xgboost module is installed.
func requirePython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("Python cross-check skipped: %s not found (apt-get install python3-xgboost)", python)
	}
	out, err := exec.Command(python, "-c", "import xgboost; print(xgboost.__version__)").CombinedOutput()
	if err != nil {
		t.Skipf("Python cross-check skipped: %s cannot import xgboost (apt-get install python3-xgboost): %v: %s", python, err, out)
	}
	ma, mi, pa := Version()
	t.Logf("Python xgboost %s, Go libxgboost %d.%d.%d", out[:len(out)-1], ma, mi, pa)
}

// TestPythonCrossCheck trains the same real data with the same params in Go
// and in Python's xgboost, and requires the same early stopping, the same
// predictions, and that each side's saved models predict identically on the
// other side.
func TestPythonCrossCheck(t *testing.T) {
	requirePython(t)
	tr, va, te := realSplits(t, 20000, 10)
	for _, method := range []string{"hist", "exact"} {
		t.Run(method, func(t *testing.T) { crossCheck(t, method, tr, va, te) })
	}
}

func crossCheck(t *testing.T, method string, tr, va, te dataset) {
	const rounds, es = 300, 50
	params := testParams(method)
	b, res, err := Train(params, tr.matrix(t), TrainOptions{Rounds: rounds, EarlyStoppingRounds: es, Valid: va.matrix(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dtest := te.matrix(t)
	goPred, err := b.Predict(dtest)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	writeCrossCheckInput(t, dir, params, rounds, es, tr, va, te)
	for _, f := range []string{"json", "ubj"} {
		if err := b.SaveFile(filepath.Join(dir, "model_go."+f)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(python, "testdata/crosscheck.py", dir).CombinedOutput(); err != nil {
		t.Fatalf("crosscheck.py: %v\n%s", err, out)
	}
	var py struct {
		BestIteration int       `json:"best_iteration"`
		BestScore     float64   `json:"best_score"`
		Rounds        int       `json:"rounds"`
		History       []float64 `json:"history"`
	}
	readJSON(t, filepath.Join(dir, "result.json"), &py)
	t.Logf("%s: Go best %d of %d rounds (valid MAE %.6g); Python best %d of %d (%.6g)",
		method, res.BestIteration, len(res.History), res.BestScore, py.BestIteration, py.Rounds, py.BestScore)
	if py.BestIteration != res.BestIteration || py.Rounds != len(res.History) || py.BestScore != res.BestScore {
		t.Fatalf("early stopping differs: Go best %d/%d rounds %v, Python %d/%d %v",
			res.BestIteration, len(res.History), res.BestScore, py.BestIteration, py.Rounds, py.BestScore)
	}
	for i := range py.History {
		if py.History[i] != res.History[i] {
			t.Fatalf("round %d valid MAE: Go %v, Python %v", i, res.History[i], py.History[i])
		}
	}

	// Every tree, not only those up to the best iteration, must be the same.
	goTrees, pyTrees := readTrees(t, filepath.Join(dir, "model_go.json")), readTrees(t, filepath.Join(dir, "model_py.json"))
	if len(goTrees) != len(res.History) || !reflect.DeepEqual(goTrees, pyTrees) {
		t.Fatalf("%s: the trees of the Go (%d) and Python (%d) models differ", method, len(goTrees), len(pyTrees))
	}

	pyPred := readF32(t, filepath.Join(dir, "pred_py.f32"), te.Rows)
	maxDiff := compare(t, "Go vs Python training", goPred, pyPred, 1e-6)
	t.Logf("%s: %d test predictions, max |Go-Python| = %g", method, len(goPred), maxDiff)
	for _, f := range []string{"json", "ubj"} {
		compare(t, "Go "+f+" model in Python", goPred, readF32(t, filepath.Join(dir, "pred_go_"+f+"_in_py.f32"), te.Rows), 0)
		pb, err := LoadFile(filepath.Join(dir, "model_py."+f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := pb.Predict(dtest)
		pb.Close()
		if err != nil {
			t.Fatal(err)
		}
		compare(t, "Python "+f+" model in Go", pyPred, got, 0)
	}
}

func writeCrossCheckInput(t *testing.T, dir string, params Params, rounds, es int, tr, va, te dataset) {
	t.Helper()
	meta := map[string]any{
		"params": params, "rounds": rounds, "early_stopping_rounds": es, "cols": tr.Cols,
		"rows": map[string]int{"train": tr.Rows, "valid": va.Rows, "test": te.Rows},
	}
	buf, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string][]float32{
		"train_x.f32": tr.X, "train_y.f32": tr.Y, "valid_x.f32": va.X, "valid_y.f32": va.Y, "test_x.f32": te.X,
	}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, name), f32Bytes(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readTrees returns the trees of a JSON model file.
func readTrees(t *testing.T, path string) []any {
	var m struct {
		Learner struct {
			GradientBooster struct {
				Model struct {
					Trees []any `json:"trees"`
				} `json:"model"`
			} `json:"gradient_booster"`
		} `json:"learner"`
	}
	readJSON(t, path, &m)
	return m.Learner.GradientBooster.Model.Trees
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func readF32(t *testing.T, path string, n int) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4*n {
		t.Fatalf("%s: %d bytes, want %d floats", path, len(b), n)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// compare fails t unless a and b agree within tol and returns the largest
// absolute difference.
func compare(t *testing.T, what string, a, b []float32, tol float64) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d predictions", what, len(a), len(b))
	}
	maxDiff := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if d > tol || math.IsNaN(d) {
			t.Fatalf("%s: row %d: %s vs %s", what, i, f32s(a[i]), f32s(b[i]))
		}
		maxDiff = max(maxDiff, d)
	}
	return maxDiff
}

func f32s(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }
