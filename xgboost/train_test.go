package xgboost

import (
	"context"
	"errors"
	"math"
	"testing"
)

func TestVersion(t *testing.T) {
	ma, mi, pa := Version()
	t.Logf("libxgboost %d.%d.%d", ma, mi, pa)
	if ma < 1 || (ma == 1 && mi < 7) {
		t.Fatalf("libxgboost %d.%d.%d: need 1.7 or newer", ma, mi, pa)
	}
}

func TestParseEval(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want float64
		ok   bool
	}{
		{"[0]\tvalid-mae:0.00123", 0.00123, true},
		{"[12]\tvalid-rmse:1e-05\tvalid-mae:0.5", 0.5, true}, // last metric wins, as in Python
		{"[3]\ttrain-mae:0.1\tvalid-mae:0.2", 0.2, true},
		{"[3]\ttrain-mae:0.1", 0, false},
		{"[3]\tvalid-mae:abc", 0, false},
		{"", 0, false},
	} {
		got, err := parseEval(tc.msg, "valid")
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseEval(%q) = %v, %v; want %v ok=%v", tc.msg, got, err, tc.want, tc.ok)
		}
	}
}

func TestStopper(t *testing.T) {
	for _, tc := range []struct {
		name      string
		patience  int
		maximize  bool
		scores    []float64
		stopAt    int // index of the round that stops, -1 none
		best      int
		bestScore float64
	}{
		{"improves", 2, false, []float64{3, 2, 1}, -1, 2, 1},
		{"stops after patience", 2, false, []float64{3, 1, 2, 1, 5}, 3, 1, 1}, // equal is no improvement
		{"maximize", 1, true, []float64{0.5, 0.7, 0.6}, 2, 1, 0.7},
		{"no patience never stops", 0, false, []float64{1, 2, 3, 4}, -1, 0, 1},
		{"nan never improves", 2, false, []float64{1, math.NaN(), math.NaN()}, 2, 0, 1},
	} {
		s := newStopper(tc.patience, tc.maximize)
		stopped := -1
		for i, v := range tc.scores {
			if s.update(i, v) {
				stopped = i
				break
			}
		}
		if stopped != tc.stopAt || s.best != tc.best || s.score != tc.bestScore {
			t.Errorf("%s: stopped %d best %d score %v; want %d %d %v", tc.name, stopped, s.best, s.score, tc.stopAt, tc.best, tc.bestScore)
		}
	}
}

func TestMaximizes(t *testing.T) {
	for m, want := range map[string]bool{"mae": false, "rmse": false, "mape": false, "auc": true, "aucpr": true, "ndcg@5": true, "map": true, "logloss": false} {
		if got := maximizes(m); got != want {
			t.Errorf("maximizes(%q) = %v", m, got)
		}
	}
}

// TestTrainEarlyStoppingReal trains on real ETH/USDT returns and checks
// early stopping against the validation history it reports.
func TestTrainEarlyStoppingReal(t *testing.T) {
	tr, va, te := realSplits(t, 20000, 10)
	dtrain, dvalid, dtest := tr.matrix(t), va.matrix(t), te.matrix(t)
	const es = 10
	b, res, err := Train(testParams("hist"), dtrain, TrainOptions{Rounds: 500, EarlyStoppingRounds: es, Valid: dvalid})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t.Logf("rows train/valid/test %d/%d/%d; best iteration %d of %d rounds, valid MAE %.6g (round 0: %.6g)",
		tr.Rows, va.Rows, te.Rows, res.BestIteration, len(res.History), res.BestScore, res.History[0])

	// The stop came es rounds after the best, which is the history minimum.
	if len(res.History) != res.BestIteration+es+1 && len(res.History) != 500 {
		t.Fatalf("history %d rounds, best %d, patience %d", len(res.History), res.BestIteration, es)
	}
	for i, v := range res.History {
		if v < res.BestScore || (v == res.BestScore && i < res.BestIteration) {
			t.Fatalf("round %d score %v beats best %d (%v)", i, v, res.BestIteration, res.BestScore)
		}
	}
	if got := b.BestIteration(); got != res.BestIteration {
		t.Fatalf("BestIteration() = %d, want %d", got, res.BestIteration)
	}
	if s, ok, err := b.Attr(AttrBestIteration); err != nil || !ok || s == "" {
		t.Fatalf("best_iteration attribute %q %v %v", s, ok, err)
	}
	if n, err := b.Rounds(); err != nil || n != len(res.History) {
		t.Fatalf("Rounds() = %d, %v; want %d", n, err, len(res.History))
	}

	// Predictions use trees [0, best]: their MAE on valid is BestScore.
	pv, err := b.Predict(dvalid)
	if err != nil {
		t.Fatal(err)
	}
	if got := mae(pv, va.Y); math.Abs(got-res.BestScore) > 1e-6*res.BestScore+1e-9 {
		t.Fatalf("valid MAE of Predict %v, reported best %v", got, res.BestScore)
	}

	// Honest numbers on the untouched test window, beside the zero-return baseline.
	pt, err := b.Predict(dtest)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]float32, len(te.Y))
	t.Logf("test MAE model %.6g vs zero-return %.6g (%d rows)", mae(pt, te.Y), mae(zero, te.Y), te.Rows)
}

func mae(p, y []float32) float64 {
	s := 0.0
	for i := range p {
		s += math.Abs(float64(p[i]) - float64(y[i]))
	}
	return s / float64(len(p))
}

func TestTrainWithoutValid(t *testing.T) {
	tr, _, _ := realSplits(t, 3000, 5)
	b, res, err := Train(testParams("hist"), tr.matrix(t), TrainOptions{Rounds: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if res.BestIteration != 6 || res.History != nil || !math.IsNaN(res.BestScore) {
		t.Fatalf("result %+v", res)
	}
}

func TestTrainContextCancel(t *testing.T) {
	tr, _, _ := realSplits(t, 3000, 5)
	ctx, cancel := context.WithCancel(context.Background())
	rounds := 0
	_, _, err := TrainContext(ctx, testParams("hist"), tr.matrix(t), TrainOptions{Rounds: 100, Progress: func(int, float64) {
		if rounds++; rounds == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || rounds != 3 {
		t.Fatalf("err %v after %d rounds", err, rounds)
	}
}
