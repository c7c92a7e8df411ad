package xgboost

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fixture is a hand-made data set (not market data): cols features uniform
// in [0, 1), labels from label(x, rng). Deterministic for a seed.
func fixture(rows, cols int, seed uint64, label func(x []float32, rng *rand.Rand) float32) dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := dataset{Rows: rows, Cols: cols}
	for range rows {
		x := make([]float32, cols)
		for k := range x {
			x[k] = rng.Float32()
		}
		d.X = append(d.X, x...)
		d.Y = append(d.Y, label(x, rng))
	}
	return d
}

// smallTarget is a regression target near 1e-3, like a volatility or an
// absolute return: 1e-3·(1 + x0) plus noise of sd 2e-4.
func smallTarget(x []float32, rng *rand.Rand) float32 {
	return float32(1e-3*(1+float64(x[0])) + 2e-4*rng.NormFloat64())
}

// coin is a 0/1 label with P(1) = sigmoid(4·(x0 − 0.5)).
func coin(x []float32, rng *rand.Rand) float32 {
	if rng.Float64() < 1/(1+math.Exp(-4*(float64(x[0])-0.5))) {
		return 1
	}
	return 0
}

func objParams(objective, metric string) Params {
	p := testParams("hist")
	p["objective"], p["eval_metric"] = objective, metric
	if metric == "" {
		delete(p, "eval_metric")
	}
	delete(p, "base_score")
	return p
}

func TestBaseScore(t *testing.T) {
	y := []float32{1, 2, 3, 10}
	for _, tc := range []struct {
		objective string
		labels    []float32
		want      float64
		err       error
	}{
		{"reg:squarederror", y, 4, nil},
		{"", y, 4, nil},
		{"reg:absoluteerror", y, 2.5, nil},
		{"reg:pseudohubererror", y, 2.5, nil},
		{"binary:logistic", []float32{0, 1, 1, 1}, 0.75, nil}, // a probability, not log-odds
		{"binary:logistic", []float32{0, 0}, 0, ErrInvalid},
		{"binary:logistic", []float32{0, 0.5}, 0, ErrInvalid},
		{"reg:squarederror", nil, 0, ErrInvalid},
		{"reg:squarederror", []float32{1, nan32()}, 0, ErrInvalid},
		{"multi:softmax", y, 0, ErrInvalid},
	} {
		got, err := BaseScore(tc.objective, tc.labels)
		if !errors.Is(err, tc.err) || (tc.err == nil && math.Abs(got-tc.want) > 1e-12) {
			t.Errorf("BaseScore(%q, %v) = %v, %v; want %v, %v", tc.objective, tc.labels, got, err, tc.want, tc.err)
		}
	}
	p := Params{"objective": "reg:absoluteerror", "eta": "0.1"}
	q, err := p.WithBaseScore(y)
	if err != nil || q["base_score"] != "2.5" || q["eta"] != "0.1" || p["base_score"] != "" {
		t.Fatalf("WithBaseScore: %v %v (original %v)", q, err, p)
	}
	if got := Quantile([]float32{4, 1, 3, 2}, 0.1); math.Abs(got-1.3) > 1e-12 {
		t.Fatalf("Quantile 10%% = %v, want 1.3", got)
	}
}

// TestObjectivesBaseScore: the model stores base_score as given, and with
// eta 0 it predicts it, which shows the units XGBoost 1.7 reads it in: a
// label value for the regressions, a probability for binary:logistic
// (predicted as one, not as log-odds). reg:absoluteerror is left out of the
// eta-0 check: 1.7.4 sets its leaves to the residuals' medians without eta
// (TestAbsoluteErrorBaseScore). Hand-made fixtures.
func TestObjectivesBaseScore(t *testing.T) {
	for _, tc := range []struct {
		objective string
		label     func([]float32, *rand.Rand) float32
	}{
		{"reg:squarederror", smallTarget},
		{"reg:absoluteerror", smallTarget},
		{"reg:pseudohubererror", smallTarget},
		{"binary:logistic", coin},
	} {
		d := fixture(500, 3, 1, tc.label)
		p, err := objParams(tc.objective, "").WithBaseScore(d.Y)
		if err != nil {
			t.Fatal(err)
		}
		p["eta"] = "0"
		b, _, err := Train(p, d.matrix(t), TrainOptions{Rounds: 1})
		if err != nil {
			t.Fatalf("%s: %v", tc.objective, err)
		}
		want, _ := strconv.ParseFloat(p["base_score"], 64)
		if got := modelBaseScore(t, b); math.Abs(got-want) > 1e-6*want {
			t.Errorf("%s: model base_score %v, set %v", tc.objective, got, want)
		}
		pred, err := b.PredictDense(d.X[:d.Cols], 1, d.Cols)
		b.Close()
		if tc.objective == "reg:absoluteerror" {
			continue
		}
		if err != nil || math.Abs(float64(pred[0])-want) > 1e-6*want {
			t.Errorf("%s: predicts %v (%v), base_score %v", tc.objective, pred, err, want)
		}
	}
}

// modelBaseScore reads learner_model_param.base_score from the saved model.
func modelBaseScore(t *testing.T, b *Booster) float64 {
	t.Helper()
	js, err := b.Save("json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Learner struct {
			Param struct {
				BaseScore string `json:"base_score"`
			} `json:"learner_model_param"`
		} `json:"learner"`
	}
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseFloat(strings.Trim(m.Learner.Param.BaseScore, "[]"), 64) // 3.x: "[0.5]", one per target
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestObjectives fits each objective on a hand-made fixture with base_score
// from the labels: it beats the constant base_score on held-out rows, and
// binary:logistic predicts probabilities (in (0, 1), the same through
// Predict and PredictDense).
func TestObjectives(t *testing.T) {
	for _, tc := range []struct {
		objective, metric string
		label             func([]float32, *rand.Rand) float32
		extra             Params
	}{
		{"reg:squarederror", "rmse", smallTarget, nil},
		{"reg:absoluteerror", "mae", smallTarget, nil},
		{"reg:pseudohubererror", "mphe", smallTarget, Params{"huber_slope": "3e-4"}},
		{"binary:logistic", "logloss", coin, nil},
	} {
		t.Run(tc.objective, func(t *testing.T) {
			tr, te := fixture(2000, 3, 2, tc.label), fixture(1000, 3, 3, tc.label)
			p, err := objParams(tc.objective, tc.metric).WithBaseScore(tr.Y)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.extra {
				p[k] = v
			}
			b, res, err := Train(p, tr.matrix(t), TrainOptions{Rounds: 200, EarlyStoppingRounds: 10, Valid: te.matrix(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			pred, err := b.Predict(te.matrix(t))
			if err != nil {
				t.Fatal(err)
			}
			dense, err := b.PredictDense(te.X, te.Rows, te.Cols)
			if err != nil || !slices.Equal(pred, dense) {
				t.Fatalf("Predict and PredictDense differ (%v)", err)
			}
			base, _ := strconv.ParseFloat(p["base_score"], 64)
			constant := slices.Repeat([]float32{float32(base)}, te.Rows)
			var model, baseline float64
			if tc.objective == "binary:logistic" {
				for _, v := range pred {
					if !(v > 0 && v < 1) {
						t.Fatalf("prediction %v is not a probability", v)
					}
				}
				model, baseline = logloss(pred, te.Y), logloss(constant, te.Y)
			} else {
				model, baseline = mae(pred, te.Y), mae(constant, te.Y)
			}
			t.Logf("%s: best iteration %d, valid %s %.4g; held-out model %.4g vs constant base_score %.4g",
				tc.objective, res.BestIteration, tc.metric, res.BestScore, model, baseline)
			if model > 0.9*baseline {
				t.Fatalf("model %.4g does not beat the constant %.4g by 10%%", model, baseline)
			}
		})
	}
}

func logloss(p, y []float32) float64 {
	s := 0.0
	for i := range p {
		q := min(max(float64(p[i]), 1e-15), 1-1e-15)
		if y[i] == 1 {
			s -= math.Log(q)
		} else {
			s -= math.Log(1 - q)
		}
	}
	return s / float64(len(p))
}

// TestAbsoluteErrorBaseScore pins down what 1.7.4 does with
// reg:absoluteerror on targets near 1e-3 (issue #12 reported that the
// default base_score 0.5 fails there), on a hand-made fixture:
//   - left unset, base_score is not 0.5 for this objective: 1.7.4 already
//     estimates it as the labels' median (as 2.x does; it stays 0.5 for the
//     other objectives, Python's xgboost 1.7.4 shows the same);
//   - set to 0.5 explicitly, every gradient has one sign, so the first tree
//     cannot split: it is one leaf, −(0.5 − median). 1.7 sets this
//     objective's leaves to the residuals' medians without the learning rate
//     (eta 0.1 and 0.3 grow identical models), so that stump costs one
//     round here; 2.0 applies eta, and 0.5 would then take ~60 rounds at eta
//     0.1 to decay to 1e-3;
//   - WithBaseScore (the median) lets the first tree split, on any version.
//
// The failure was not reproduced on this fixture; setting base_score from
// the labels makes every version start from the same place regardless.
func TestAbsoluteErrorBaseScore(t *testing.T) {
	tr, te := fixture(2000, 3, 4, smallTarget), fixture(1000, 3, 5, smallTarget)
	fit := func(p Params) (first string, model []float32, base float64) {
		b, _, err := Train(p, tr.matrix(t), TrainOptions{Rounds: 50})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		pred, err := b.Predict(te.matrix(t))
		if err != nil {
			t.Fatal(err)
		}
		js, err := b.Save("json")
		if err != nil {
			t.Fatal(err)
		}
		return readTreesBytes(t, js)[0], pred, modelBaseScore(t, b)
	}
	median := Quantile(tr.Y, 0.5)
	p := objParams("reg:absoluteerror", "mae")
	_, unset, base := fit(p)
	if math.Abs(base-median) > 1e-6*median {
		t.Errorf("unset base_score became %v, median %v", base, median)
	}
	p["base_score"] = "0.5"
	stump, half, _ := fit(p)
	p["eta"] = "0.3"
	_, halfEta3, _ := fit(p)
	p["eta"] = "0.1"
	p, err := p.WithBaseScore(tr.Y)
	if err != nil {
		t.Fatal(err)
	}
	split, withMedian, _ := fit(p)
	constant := mae(slices.Repeat([]float32{float32(median)}, te.Rows), te.Y)
	t.Logf("held-out MAE after 50 rounds: base_score unset %.4g, 0.5 %.4g, median %.4g; constant median %.4g",
		mae(unset, te.Y), mae(half, te.Y), mae(withMedian, te.Y), constant)
	if !strings.Contains(stump, `"left_children":[-1]`) {
		t.Errorf("base_score 0.5: first tree is not a single leaf: %.120s", stump)
	}
	if strings.Contains(split, `"left_children":[-1]`) {
		t.Errorf("base_score median: first tree did not split")
	}
	if mae(withMedian, te.Y) > 0.8*constant {
		t.Errorf("base_score median does not fit")
	}
	if ma, _, _ := Version(); ma < 2 && !slices.Equal(half, halfEta3) {
		t.Errorf("1.x: eta changed reg:absoluteerror's model (adaptive leaves ignore it in 1.7.4)")
	}
}

// TestAbsoluteErrorReal is the same on real data: the realized volatility
// of the next 5 real ETH/USDT minutes (√Σr², ~1e-3) from the absolute
// returns of the last 10, reg:absoluteerror with base_score the median.
func TestAbsoluteErrorReal(t *testing.T) {
	closes := loadCloses(t, 20000)
	r := make([]float64, len(closes))
	for i := 1; i < len(closes); i++ {
		r[i] = math.Log(closes[i] / closes[i-1])
	}
	const lags, h = 10, 5
	var d dataset
	d.Cols = lags
	for t0 := lags; t0+h < len(r); t0++ {
		for k := range lags {
			d.X = append(d.X, float32(math.Abs(r[t0-k])))
		}
		s := 0.0
		for k := 1; k <= h; k++ {
			s += r[t0+k] * r[t0+k]
		}
		d.Y = append(d.Y, float32(math.Sqrt(s)))
		d.Rows++
	}
	a, c := d.Rows*70/100, d.Rows*85/100
	tr, va, te := d.slice(0, a), d.slice(a+h, c), d.slice(c+h, d.Rows) // h rows apart: labels overlap
	p, err := objParams("reg:absoluteerror", "mae").WithBaseScore(tr.Y)
	if err != nil {
		t.Fatal(err)
	}
	b, res, err := Train(p, tr.matrix(t), TrainOptions{Rounds: 300, EarlyStoppingRounds: 20, Valid: va.matrix(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pred, err := b.Predict(te.matrix(t))
	if err != nil {
		t.Fatal(err)
	}
	median := mae(slices.Repeat([]float32{float32(Quantile(tr.Y, 0.5))}, te.Rows), te.Y)
	t.Logf("real 5-minute RV (median %.3g): best iteration %d; test MAE %.4g vs constant median %.4g (%d rows)",
		Quantile(tr.Y, 0.5), res.BestIteration, mae(pred, te.Y), median, te.Rows)
	if mae(pred, te.Y) > 0.95*median {
		t.Fatal("reg:absoluteerror did not learn the real volatility")
	}
}
