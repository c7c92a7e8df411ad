package xgboost

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// trained fits a small model on real data; the caller owns the booster.
func trained(t *testing.T, rows, cols, es int) (*Booster, TrainResult, dataset) {
	t.Helper()
	tr, va, te := realSplits(t, rows, cols)
	b, res, err := Train(testParams("hist"), tr.matrix(t), TrainOptions{Rounds: 300, EarlyStoppingRounds: es, Valid: va.matrix(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, res, te
}

// TestPredictConcurrent proves XGBoost's claim that tree prediction is
// thread-safe: 16 goroutines predicting one row at a time (each through its
// own matrix, as the API serves requests) and through one shared matrix get
// exactly the serial predictions, also right after Load when the first
// predictions race to configure the learner. Run it with -race.
func TestPredictConcurrent(t *testing.T) {
	b0, _, te := trained(t, 20000, 10, 50)
	buf, err := b0.Save("ubj")
	if err != nil {
		t.Fatal(err)
	}
	for _, nthread := range []string{"1", "0"} { // one OpenMP thread per call, and all cores
		t.Run("nthread="+nthread, func(t *testing.T) {
			b, err := Load(buf) // fresh learner: its first Predict configures it
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := b.SetParam("nthread", nthread); err != nil {
				t.Fatal(err)
			}
			predictConcurrently(t, b0, b, te)
		})
	}
}

func predictConcurrently(t *testing.T, b0, b *Booster, te dataset) {
	shared := te.matrix(t)

	const workers, rows = 16, 500
	got := make([][]float32, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			out := make([]float32, rows)
			for k := range rows {
				i := (k*7 + w*31) % rows // each worker in its own order
				p, err := b.PredictDense(te.X[i*te.Cols:(i+1)*te.Cols], 1, te.Cols)
				if err != nil {
					t.Error(err)
					return
				}
				out[i] = p[0]
				if k%100 == 0 { // interleave whole-matrix predictions on a shared matrix
					all, err := b.Predict(shared)
					if err != nil || len(all) != te.Rows {
						t.Error(len(all), err)
						return
					}
					got[w] = append(got[w][:0], all[:rows]...)
				}
			}
			if !slices.Equal(got[w], out) {
				t.Errorf("worker %d: one-row predictions differ from the shared-matrix ones", w)
			}
		})
	}
	wg.Wait()

	serial, err := b0.Predict(shared)
	if err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		if !slices.Equal(got[w], serial[:rows]) {
			t.Fatalf("worker %d: concurrent predictions differ from serial ones", w)
		}
	}
	if allSame(serial[:rows]) {
		t.Fatal("the model predicts a constant: the check would be vacuous")
	}
}

func allSame(v []float32) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return true
}

// TestSaveLoad round-trips the model through bytes and files in JSON and
// UBJ: the loaded model predicts exactly as the original, with the same best
// iteration.
func TestSaveLoad(t *testing.T) {
	b, res, te := trained(t, 20000, 10, 50)
	want, err := b.PredictDense(te.X, te.Rows, te.Cols)
	if err != nil {
		t.Fatal(err)
	}
	viaMatrix, err := b.Predict(te.matrix(t))
	if err != nil || !slices.Equal(viaMatrix, want) {
		t.Fatalf("Predict and PredictDense differ (%v)", err)
	}
	// Trees beyond the best one are in the model: a loader that forgot the
	// best iteration would predict differently.
	if n, _ := b.Rounds(); n <= res.BestIteration+1 {
		t.Fatalf("no trees after the best iteration (%d rounds, best %d)", n, res.BestIteration)
	}
	dir := t.TempDir()
	for _, format := range []string{"json", "ubj"} {
		buf, err := b.Save(format)
		if err != nil {
			t.Fatal(err)
		}
		if isJSON := buf[0] == '{' && buf[1] == '"'; isJSON != (format == "json") {
			t.Fatalf("%s model starts %q", format, buf[:2])
		}
		path := filepath.Join(dir, "model."+format)
		if err := b.SaveFile(path); err != nil {
			t.Fatal(err)
		}
		onDisk, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(onDisk, buf) {
			t.Fatalf("%s file differs from Save bytes (%v)", format, err)
		}
		fromBytes, err := Load(buf)
		if err != nil {
			t.Fatal(err)
		}
		fromFile, err := LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for name, l := range map[string]*Booster{"bytes": fromBytes, "file": fromFile} {
			got, err := l.PredictDense(te.X, te.Rows, te.Cols)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) || l.BestIteration() != res.BestIteration {
				t.Fatalf("%s from %s: predictions equal %v, best %d want %d", format, name, slices.Equal(got, want), l.BestIteration(), res.BestIteration)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

// TestContinue: 40 rounds, saved, loaded and continued for 40 more equals 80
// uninterrupted rounds (deterministic params: one thread, no sampling).
func TestContinue(t *testing.T) {
	tr, _, te := realSplits(t, 20000, 10)
	dtrain := tr.matrix(t)
	full, _, err := Train(testParams("hist"), dtrain, TrainOptions{Rounds: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	half, _, err := Train(testParams("hist"), dtrain, TrainOptions{Rounds: 40})
	if err != nil {
		t.Fatal(err)
	}
	buf, err := half.Save("ubj")
	half.Close()
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := Load(buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	res, err := resumed.Continue(dtrain, 40, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.BestIteration != 79 {
		t.Fatalf("best iteration %d, want 79", res.BestIteration)
	}
	want, err := full.PredictDense(te.X, te.Rows, te.Cols)
	if err != nil {
		t.Fatal(err)
	}
	got, err := resumed.PredictDense(te.X, te.Rows, te.Cols)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "continued vs uninterrupted", want, got, 0)
	a, _ := full.Save("json")
	b, _ := resumed.Save("json")
	if !slices.Equal(readTreesBytes(t, a), readTreesBytes(t, b)) {
		t.Fatal("continued model's trees differ from the uninterrupted model's")
	}
}

// TestContinueEarlyStopping: iterations keep counting from the model's
// first tree, and the stored best iteration moves to the new best.
func TestContinueEarlyStopping(t *testing.T) {
	b, res, _ := trained(t, 20000, 10, 0) // 300 rounds, no early stopping
	if res.BestIteration != 299 {
		t.Fatalf("best %d", res.BestIteration)
	}
	tr, va, _ := realSplits(t, 20000, 10)
	res2, err := b.Continue(tr.matrix(t), 100, TrainOptions{EarlyStoppingRounds: 5, Valid: va.matrix(t)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := b.Rounds()
	if err != nil || res2.BestIteration < 300 || n != 300+len(res2.History) || b.BestIteration() != res2.BestIteration {
		t.Fatalf("rounds %d (%v), best %d, history %d", n, err, res2.BestIteration, len(res2.History))
	}
}

func readTreesBytes(t *testing.T, model []byte) []string {
	path := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tr := range readTrees(t, path) {
		out = append(out, jsonString(t, tr))
	}
	if len(out) == 0 {
		t.Fatal("no trees")
	}
	return out
}

// TestFeatureImportance names the gain of every feature; unused ones are 0.
func TestFeatureImportance(t *testing.T) {
	b, _, _ := trained(t, 20000, 10, 50)
	names := []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}
	imp, err := b.FeatureImportance("gain", names)
	if err != nil {
		t.Fatal(err)
	}
	if len(imp) != len(names) {
		t.Fatalf("importance %v", imp)
	}
	total := 0.0
	for _, n := range names {
		if imp[n] < 0 || math.IsNaN(imp[n]) {
			t.Fatalf("%s gain %v", n, imp[n])
		}
		total += imp[n]
	}
	if total <= 0 {
		t.Fatalf("no gain at all: %v", imp)
	}
	t.Logf("gain: %v", imp)
	def, err := b.FeatureImportance("weight", nil)
	if err != nil || len(def) != 10 || def["f0"]+def["f5"]+def["f9"] == 0 {
		t.Fatalf("default names: %v %v", def, err)
	}
	if _, err := b.FeatureImportance("gain", names[:3]); !errors.Is(err, ErrInvalid) {
		t.Fatalf("3 names for 10 features: %v", err)
	}
	if _, err := b.FeatureImportance("bogus", nil); !errors.Is(err, ErrXGBoost) {
		t.Fatalf("bogus kind: %v", err)
	}

	// One stump splits on one feature: the other nine are present with 0.
	tr, _, _ := realSplits(t, 5000, 10)
	p := testParams("hist")
	p["max_depth"] = "1"
	stump, _, err := Train(p, tr.matrix(t), TrainOptions{Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer stump.Close()
	imp, err = stump.FeatureImportance("total_gain", names)
	if err != nil {
		t.Fatal(err)
	}
	used := 0
	for _, v := range imp {
		if v != 0 {
			used++
		}
	}
	if len(imp) != 10 || used != 1 {
		t.Fatalf("stump importance %v", imp)
	}
}

func jsonString(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
