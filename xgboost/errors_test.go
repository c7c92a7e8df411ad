package xgboost

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestMatrixErrors: bad shapes and values are errors, never crashes.
func TestMatrixErrors(t *testing.T) {
	tr, _, _ := realSplits(t, 2000, 4)
	x := tr.X[:8] // 2 rows × 4 real values
	for _, tc := range []struct {
		name       string
		data       []float32
		rows, cols int
		want       error
	}{
		{"too few values", x[:7], 2, 4, ErrInvalid},
		{"too many values", x, 1, 4, ErrInvalid},
		{"zero rows", nil, 0, 4, ErrInvalid},
		{"negative cols", x, 2, -4, ErrInvalid},
		{"overflow", x, math.MaxInt/2 + 1, 4, ErrInvalid},
		{"infinity", []float32{1, float32(math.Inf(1))}, 1, 2, ErrXGBoost},
	} {
		m, err := NewMatrix(tc.data, tc.rows, tc.cols, nan32())
		if !errors.Is(err, tc.want) || m != nil {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	m, err := NewMatrix(x, 2, 4, nan32())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.SetLabels([]float32{1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("1 label for 2 rows: %v", err)
	}
	if err := m.SetLabels([]float32{1, float32(math.NaN())}); !errors.Is(err, ErrXGBoost) {
		t.Errorf("NaN label: %v", err)
	} else {
		t.Logf("NaN label: %v", err) // the message is XGBGetLastError's
	}
}

// TestMissingValues: NaN cells, and cells equal to missing, are missing
// values (each split's default branch), in training and in prediction.
func TestMissingValues(t *testing.T) {
	tr, _, _ := realSplits(t, 5000, 5)
	holes := dataset{X: append([]float32(nil), tr.X...), Y: tr.Y, Rows: tr.Rows, Cols: tr.Cols}
	for i := 0; i < len(holes.X); i += 7 {
		holes.X[i] = nan32()
	}
	hb, _, err := Train(testParams("hist"), holes.matrix(t), TrainOptions{Rounds: 5})
	if err != nil {
		t.Fatalf("train with NaN cells: %v", err)
	}
	hb.Close()

	b, _, te := trained(t, 20000, 10, 50)
	row := te.X[:te.Cols]
	nanRow := make([]float32, te.Cols)
	for i := range nanRow {
		nanRow[i] = nan32()
	}
	sentinelRow := make([]float32, te.Cols)
	for i := range sentinelRow {
		sentinelRow[i] = -999
	}
	pNaN, err := b.PredictDense(nanRow, 1, te.Cols)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatrix(sentinelRow, 1, te.Cols, -999)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pSentinel, err := b.Predict(m)
	if err != nil {
		t.Fatal(err)
	}
	pRow, err := b.PredictDense(row, 1, te.Cols)
	if err != nil {
		t.Fatal(err)
	}
	if pNaN[0] != pSentinel[0] || math.IsNaN(float64(pNaN[0])) {
		t.Fatalf("all-missing row: NaN %v, sentinel %v", pNaN[0], pSentinel[0])
	}
	t.Logf("all-missing row predicts %v; a real row %v", pNaN[0], pRow[0])
}

// TestTrainErrors: bad params and options are errors naming the cause.
func TestTrainErrors(t *testing.T) {
	tr, va, _ := realSplits(t, 3000, 5)
	dtrain, dvalid := tr.matrix(t), va.matrix(t)
	three := dataset{X: tr.X[:3*3], Y: tr.Y[:3], Rows: 3, Cols: 3}.matrix(t)
	for _, tc := range []struct {
		name   string
		params Params
		train  *Matrix
		opt    TrainOptions
		want   error
		text   string
	}{
		{"bad int", Params{"max_depth": "deep"}, dtrain, TrainOptions{Rounds: 2}, ErrXGBoost, "max_depth"},
		{"bad objective", Params{"objective": "reg:nope"}, dtrain, TrainOptions{Rounds: 2}, ErrXGBoost, "reg:nope"},
		{"bad metric", Params{"eval_metric": "nope"}, dtrain, TrainOptions{Rounds: 2, Valid: dvalid}, ErrXGBoost, "nope"},
		{"negative eta", Params{"eta": "-1"}, dtrain, TrainOptions{Rounds: 2}, ErrXGBoost, "learning_rate"},
		{"no rounds", nil, dtrain, TrainOptions{}, ErrInvalid, "rounds"},
		{"early stopping without valid", nil, dtrain, TrainOptions{Rounds: 2, EarlyStoppingRounds: 3}, ErrInvalid, "validation"},
		{"valid without metric", nil, dtrain, TrainOptions{Rounds: 2, Valid: dvalid}, ErrInvalid, "eval_metric"},
		{"two metrics", Params{"eval_metric": "mae,rmse"}, dtrain, TrainOptions{Rounds: 2, Valid: dvalid}, ErrInvalid, "one metric"},
		{"nil train", nil, nil, TrainOptions{Rounds: 2}, ErrInvalid, "nil"},
		{"no labels", nil, unlabelled(t, tr), TrainOptions{Rounds: 2}, ErrXGBoost, "label"},
		{"valid with other columns", Params{"eval_metric": "mae"}, dtrain, TrainOptions{Rounds: 2, Valid: three}, ErrInvalid, "columns"},
	} {
		b, _, err := Train(tc.params, tc.train, tc.opt)
		if !errors.Is(err, tc.want) || b != nil || !strings.Contains(strings.ToLower(err.Error()), tc.text) {
			t.Errorf("%s: %v, want %v mentioning %q", tc.name, err, tc.want, tc.text)
		}
	}
}

func unlabelled(t *testing.T, d dataset) *Matrix {
	m, err := NewMatrix(d.X, d.Rows, d.Cols, nan32())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestPredictErrors: wrong shapes and bad models are errors.
func TestPredictErrors(t *testing.T) {
	b, _, te := trained(t, 5000, 10, 5)
	for _, cols := range []int{5, 11} {
		if _, err := b.PredictDense(te.X[:cols], 1, cols); !errors.Is(err, ErrInvalid) {
			t.Errorf("%d columns for a 10-feature model: %v", cols, err)
		}
	}
	if _, err := b.Continue(dataset{X: te.X[:5], Y: te.Y[:1], Rows: 1, Cols: 5}.matrix(t), 1, TrainOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("continue with 5 columns: %v", err)
	}
	if _, err := b.PredictDense(te.X[:10], 2, 10); !errors.Is(err, ErrInvalid) {
		t.Errorf("10 values as 2×10: %v", err)
	}
	if _, err := b.Predict(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil matrix: %v", err)
	}
	if _, err := b.Save("xml"); !errors.Is(err, ErrInvalid) {
		t.Errorf("save xml: %v", err)
	}
	if err := b.SaveFile(filepath.Join(t.TempDir(), "model.bin")); !errors.Is(err, ErrInvalid) {
		t.Errorf("save .bin: %v", err)
	}
	if err := b.SaveFile(filepath.Join(t.TempDir(), "no", "such", "model.json")); err == nil {
		t.Error("save into a missing folder succeeded")
	}
	for name, buf := range map[string][]byte{"empty": nil, "garbage": []byte("not a model"), "truncated json": []byte(`{"learner":`)} {
		if l, err := Load(buf); err == nil || l != nil {
			t.Errorf("load %s: %v", name, err)
		}
	}
	good, err := b.Save("ubj")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(good[:len(good)/2]); !errors.Is(err, ErrXGBoost) {
		t.Errorf("load half a UBJ model: %v", err)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.ubj")); err == nil {
		t.Error("load a missing file succeeded")
	}
}

// TestUseAfterClose: closed handles give ErrClosed, Close is idempotent,
// and a booster outlives the matrices it was trained on.
func TestUseAfterClose(t *testing.T) {
	tr, va, te := realSplits(t, 3000, 5)
	dtrain, dvalid, dtest := tr.matrix(t), va.matrix(t), te.matrix(t)
	b, _, err := Train(testParams("hist"), dtrain, TrainOptions{Rounds: 5, Valid: dvalid})
	if err != nil {
		t.Fatal(err)
	}
	if err := dtrain.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dvalid.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Predict(dtest); err != nil {
		t.Fatalf("predict after the training matrices closed: %v", err)
	}
	if err := dtrain.SetLabels(tr.Y); !errors.Is(err, ErrClosed) {
		t.Errorf("labels on a closed matrix: %v", err)
	}
	if _, err := b.Predict(dtrain); !errors.Is(err, ErrClosed) {
		t.Errorf("predict a closed matrix: %v", err)
	}
	if _, err := b.Continue(dtrain, 1, TrainOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("continue on a closed matrix: %v", err)
	}
	if _, _, err := Train(nil, dtrain, TrainOptions{Rounds: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("train on a closed matrix: %v", err)
	}
	for range 2 {
		if err := b.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if err := dtrain.Close(); err != nil {
			t.Fatalf("matrix close: %v", err)
		}
	}
	checks := map[string]error{}
	_, checks["predict"] = b.Predict(dtest)
	_, checks["predict dense"] = b.PredictDense(te.X[:5], 1, 5)
	_, checks["save"] = b.Save("json")
	checks["save file"] = b.SaveFile(filepath.Join(t.TempDir(), "m.json"))
	_, checks["continue"] = b.Continue(dtest, 1, TrainOptions{})
	_, checks["importance"] = b.FeatureImportance("gain", nil)
	_, _, checks["attr"] = b.Attr(AttrBestIteration)
	checks["set attr"] = b.SetAttr("k", "v")
	checks["set param"] = b.SetParam("nthread", "1")
	_, checks["rounds"] = b.Rounds()
	_, checks["features"] = b.NumFeatures()
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s on a closed booster: %v", name, err)
		}
	}
}
