package xgboost

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestChooseGradientCall(t *testing.T) {
	for _, tc := range []struct {
		major int
		have  bool
		want  gradientCall
	}{
		{1, false, callBoostOneIter}, // 1.7: TrainOneIter does not exist
		{1, true, callBoostOneIter},  // a 1.x exporting it (none does): still the old call
		{2, true, callTrainOneIter},  // 2.0+: the new call (BoostOneIter warns from 2.1)
		{3, true, callTrainOneIter},
		{2, false, callBoostOneIter}, // a 2.x build without the symbol: the old call still exists
	} {
		if got := chooseGradientCall(tc.major, tc.have); got != tc.want {
			t.Errorf("chooseGradientCall(%d, %v) = %v, want %v", tc.major, tc.have, got, tc.want)
		}
	}
	if callBoostOneIter.String() != "XGBoosterBoostOneIter" || callTrainOneIter.String() != "XGBoosterTrainOneIter" {
		t.Error("call names")
	}
}

// TestGradientCallLinked: the run-time lookup finds what the linked library
// exports (BoostOneIter is in every version, TrainOneIter from 2.0) and the
// package picks the call for its version.
func TestGradientCallLinked(t *testing.T) {
	ma, mi, pa := Version()
	if xgbSymbol("XGBoosterBoostOneIter") == nil || xgbSymbol("XGBoostVersion") == nil {
		t.Fatal("dlsym does not find symbols the library exports")
	}
	if xgbSymbol("XGBoosterNoSuchCall") != nil {
		t.Fatal("dlsym finds a missing symbol")
	}
	if have := xgbSymbol("XGBoosterTrainOneIter") != nil; have != (ma >= 2) {
		t.Errorf("libxgboost %d.%d.%d: XGBoosterTrainOneIter found %v", ma, mi, pa, have)
	}
	want := "XGBoosterBoostOneIter"
	if ma >= 2 {
		want = "XGBoosterTrainOneIter"
	}
	if got := GradientCall(); got != want {
		t.Fatalf("libxgboost %d.%d.%d: GradientCall() = %s, want %s", ma, mi, pa, got, want)
	}
	t.Logf("libxgboost %d.%d.%d: custom objectives boost through %s", ma, mi, pa, GradientCall())
}

func TestPinballGradient(t *testing.T) {
	pred := []float32{1, 1, 1}
	y := []float32{2, 1, 0} // above, equal, below
	g, h := make([]float32, 3), make([]float32, 3)
	PinballGradient(0.1, 0, pred, y, g, h)
	if want := []float32{-0.1, 0.9, 0.9}; !slices.Equal(g, want) || !slices.Equal(h, []float32{1, 1, 1}) {
		t.Fatalf("gradient %v hessian %v, want %v and ones", g, h, want)
	}
	PinballGradient(0.9, 0.01, pred, y, g, h)
	if want := []float32{-0.009, 0.001, 0.001}; !slices.EqualFunc(g, want, func(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-9 }) {
		t.Fatalf("scaled gradient %v, want %v", g, want)
	}
	if got := PinballLoss(0.1, pred, y); math.Abs(got-(0.1*1+0.9*1)/3) > 1e-12 {
		t.Fatalf("loss %v", got)
	}
	if _, err := NewPinball(1, y); !errors.Is(err, ErrInvalid) {
		t.Fatalf("alpha 1: %v", err)
	}
	p, err := NewPinball(0.9, []float32{1, 2, 3, 4, 10})
	if err != nil || p.Scale != (2+1+0+1+7)/5.0 || p.Name() != "pinball:0.9" {
		t.Fatalf("NewPinball: %+v %v", p, err)
	}
}

// squared is reg:squarederror as a custom objective.
type squared struct{}

func (squared) Name() string { return "squared" }
func (squared) Gradient(pred, y, g, h []float32) {
	for i := range pred {
		g[i], h[i] = pred[i]-y[i], 1
	}
}
func (squared) Loss(pred, y []float32) float64 { return mae(pred, y) }
func (squared) BaseScore(y []float32) float64  { return mean(y) }

// TestCustomMatchesBuiltin: squared error through GradientCall's C function
// grows the same trees as the built-in reg:squarederror (real returns, the
// deterministic test params).
func TestCustomMatchesBuiltin(t *testing.T) {
	tr, _, te := realSplits(t, 5000, 5)
	dtrain := tr.matrix(t)
	p := testParams("hist")
	delete(p, "eval_metric")
	builtin, _, err := Train(p, dtrain, TrainOptions{Rounds: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer builtin.Close()
	custom, res, err := Train(p, dtrain, TrainOptions{Rounds: 20, Objective: squared{}})
	if err != nil {
		t.Fatal(err)
	}
	defer custom.Close()
	if res.BestIteration != 19 {
		t.Fatalf("best iteration %d", res.BestIteration)
	}
	want, err := builtin.PredictDense(te.X, te.Rows, te.Cols)
	if err != nil {
		t.Fatal(err)
	}
	got, err := custom.PredictDense(te.X, te.Rows, te.Cols)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "custom squared error vs reg:squarederror", want, got, 1e-9)
	if s, ok, _ := custom.Attr(AttrObjective); !ok || s != "squared" {
		t.Fatalf("objective attribute %q %v", s, ok)
	}
}

// heteroscedastic is a hand-made fixture: y = 0.002·x0 + noise whose sd grows
// tenfold with x1, 1e-4·(1 + 9·x1); x2 is noise.
func heteroscedastic(x []float32, rng *rand.Rand) float32 {
	return float32(0.002*float64(x[0]) + 1e-4*(1+9*float64(x[1]))*rng.NormFloat64())
}

// TestPinballQuantiles fits the 10% and 90% quantiles of a heteroscedastic
// hand-made fixture with early stopping on the pinball loss: the band covers
// about 80% of held-out rows, each quantile about its level, and the band is
// wider where the noise is.
func TestPinballQuantiles(t *testing.T) {
	tr, va, te := fixture(4000, 3, 11, heteroscedastic), fixture(1500, 3, 12, heteroscedastic), fixture(4000, 3, 13, heteroscedastic)
	dtrain, dvalid := tr.matrix(t), va.matrix(t)
	p := testParams("hist")
	delete(p, "eval_metric")
	delete(p, "base_score") // the objective's: the training quantile
	p["max_depth"] = "3"
	predict := func(alpha float64) []float32 {
		obj, err := NewPinball(alpha, tr.Y)
		if err != nil {
			t.Fatal(err)
		}
		b, res, err := Train(p, dtrain, TrainOptions{Rounds: 1000, EarlyStoppingRounds: 20, Valid: dvalid, Objective: obj})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if res.BestScore != slices.Min(res.History) || b.BestIteration() != res.BestIteration {
			t.Fatalf("best %d score %v, history min %v", res.BestIteration, res.BestScore, slices.Min(res.History))
		}
		pv, err := b.Predict(dvalid)
		if err != nil {
			t.Fatal(err)
		}
		if got := PinballLoss(alpha, pv, va.Y); math.Abs(got-res.BestScore) > 1e-9 {
			t.Fatalf("valid loss of Predict %v, reported best %v", got, res.BestScore)
		}
		pt, err := b.PredictDense(te.X, te.Rows, te.Cols)
		if err != nil {
			t.Fatal(err)
		}
		constant := slices.Repeat([]float32{float32(Quantile(tr.Y, alpha))}, te.Rows)
		t.Logf("q%.0f: scale %.3g, best iteration %d; test pinball %.4g vs unconditional quantile %.4g",
			100*alpha, obj.Scale, res.BestIteration, PinballLoss(alpha, pt, te.Y), PinballLoss(alpha, constant, te.Y))
		if PinballLoss(alpha, pt, te.Y) > 0.8*PinballLoss(alpha, constant, te.Y) {
			t.Fatalf("q%v does not beat the unconditional quantile by 20%%", alpha)
		}
		return pt
	}
	lo, hi := predict(0.1), predict(0.9)
	var below, above, inside int
	var narrow, wide, nn, nw float64
	for i, y := range te.Y {
		switch {
		case y < lo[i]:
			below++
		case y > hi[i]:
			above++
		default:
			inside++
		}
		if x1 := te.X[i*te.Cols+1]; x1 < 1.0/3 {
			narrow, nn = narrow+float64(hi[i]-lo[i]), nn+1
		} else if x1 > 2.0/3 {
			wide, nw = wide+float64(hi[i]-lo[i]), nw+1
		}
	}
	n := float64(te.Rows)
	t.Logf("held-out: %.1f%% inside the 10–90%% band, %.1f%% below, %.1f%% above; mean width %.3g (low noise) vs %.3g (high)",
		100*float64(inside)/n, 100*float64(below)/n, 100*float64(above)/n, narrow/nn, wide/nw)
	if c := float64(inside) / n; math.Abs(c-0.8) > 0.04 {
		t.Errorf("coverage %.3f, want 0.80 ± 0.04", c)
	}
	for name, c := range map[string]float64{"below": float64(below) / n, "above": float64(above) / n} {
		if math.Abs(c-0.1) > 0.03 {
			t.Errorf("%s the band: %.3f, want 0.10 ± 0.03", name, c)
		}
	}
	if wide/nw < 1.8*narrow/nn { // the true ratio is 3.4 (sd 8.5e-4 vs 2.5e-4 on average)
		t.Errorf("the band is not wider where the noise is")
	}
}

// TestCustomErrors: bad custom-objective options and calls are errors.
func TestCustomErrors(t *testing.T) {
	tr := fixture(300, 3, 21, heteroscedastic)
	dtrain := tr.matrix(t)
	obj := Pinball{Alpha: 0.5}
	for _, tc := range []struct {
		name   string
		params Params
		train  *Matrix
		text   string
	}{
		{"other objective", Params{"objective": "reg:absoluteerror", "nthread": "1"}, dtrain, "objective"},
		{"eval metric", Params{"eval_metric": "mae", "nthread": "1"}, dtrain, "eval_metric"},
		{"no labels", Params{"nthread": "1"}, unlabelled(t, tr), "labels"},
	} {
		b, _, err := Train(tc.params, tc.train, TrainOptions{Rounds: 2, Objective: obj})
		if !errors.Is(err, ErrInvalid) || b != nil || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want ErrInvalid mentioning %q", tc.name, err, tc.text)
		}
	}
	b, _, err := Train(Params{"nthread": "1"}, dtrain, TrainOptions{Rounds: 3, Objective: obj})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Continue(dtrain, 1, TrainOptions{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "pinball:0.5") {
		t.Errorf("continue a pinball model with the built-in objective: %v", err)
	}
	if _, err := b.Continue(dtrain, 1, TrainOptions{Objective: Pinball{Alpha: 0.9}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("continue a pinball:0.5 model with pinball:0.9: %v", err)
	}
	if _, err := b.Continue(dtrain, 2, TrainOptions{Objective: obj}); err != nil {
		t.Errorf("continue with its objective: %v", err)
	}
	if n, err := b.Rounds(); n != 5 || err != nil {
		t.Errorf("rounds %d (%v), want 5", n, err)
	}
	g := make([]float32, tr.Rows)
	if err := b.BoostOneIter(dtrain, 5, g[:1], g); !errors.Is(err, ErrInvalid) {
		t.Errorf("one gradient for %d rows: %v", tr.Rows, err)
	}
	if err := b.BoostOneIter(nil, 5, g, g); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil matrix: %v", err)
	}
	other := fixture(10, 2, 22, func([]float32, *rand.Rand) float32 { return 0 })
	if err := b.BoostOneIter(other.matrix(t), 5, g[:10], g[:10]); !errors.Is(err, ErrInvalid) {
		t.Errorf("2 columns for a 3-feature model: %v", err)
	}
	h := slices.Repeat([]float32{1}, tr.Rows)
	for i := range g {
		g[i] = 1 // every row pushed down by eta/(1+λ/n)
	}
	if err := b.BoostOneIter(dtrain, 5, g, h); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Rounds(); n != 6 || err != nil {
		t.Errorf("rounds after BoostOneIter %d (%v), want 6", n, err)
	}
	_ = b.Close()
	if err := b.BoostOneIter(dtrain, 6, g, h); !errors.Is(err, ErrClosed) {
		t.Errorf("closed booster: %v", err)
	}
}

// TestPinballReal fits the 10% and 90% quantiles of the next 5-minute real
// ETH/USDT log return from the absolute 1-minute returns of the last 10
// minutes (volatility clusters, so the band should widen with them), with
// early stopping on the validation rows.
func TestPinballReal(t *testing.T) {
	closes := loadCloses(t, 20000)
	r := make([]float64, len(closes))
	for i := 1; i < len(closes); i++ {
		r[i] = math.Log(closes[i] / closes[i-1])
	}
	const lags, h = 10, 5
	d := dataset{Cols: lags}
	for t0 := lags; t0+h < len(r); t0++ {
		for k := range lags {
			d.X = append(d.X, float32(math.Abs(r[t0-k])))
		}
		d.Y = append(d.Y, float32(math.Log(closes[t0+h]/closes[t0])))
		d.Rows++
	}
	a, c := d.Rows*70/100, d.Rows*85/100
	tr, va, te := d.slice(0, a), d.slice(a+h, c), d.slice(c+h, d.Rows)
	dtrain, dvalid := tr.matrix(t), va.matrix(t)
	p := testParams("hist")
	delete(p, "eval_metric")
	delete(p, "base_score")
	band := map[float64][]float32{}
	for _, alpha := range []float64{0.1, 0.9} {
		obj, err := NewPinball(alpha, tr.Y)
		if err != nil {
			t.Fatal(err)
		}
		b, res, err := Train(p, dtrain, TrainOptions{Rounds: 1000, EarlyStoppingRounds: 20, Valid: dvalid, Objective: obj})
		if err != nil {
			t.Fatal(err)
		}
		pt, err := b.PredictDense(te.X, te.Rows, te.Cols)
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		constant := slices.Repeat([]float32{float32(Quantile(tr.Y, alpha))}, te.Rows)
		model, uncond := PinballLoss(alpha, pt, te.Y), PinballLoss(alpha, constant, te.Y)
		t.Logf("q%.0f: best iteration %d; test pinball %.4g vs unconditional %.4g (skill %+.1f%%)",
			100*alpha, res.BestIteration, model, uncond, 100*(1-model/uncond))
		if model >= uncond {
			t.Errorf("q%.0f does not beat the unconditional quantile", 100*alpha)
		}
		band[alpha] = pt
	}
	inside := 0
	for i, y := range te.Y {
		if y >= band[0.1][i] && y <= band[0.9][i] {
			inside++
		}
	}
	cov := float64(inside) / float64(te.Rows)
	t.Logf("real test rows: %.1f%% inside the 10–90%% band (%d rows)", 100*cov, te.Rows)
	if math.Abs(cov-0.8) > 0.08 {
		t.Errorf("coverage %.3f, want 0.80 ± 0.08 on real data", cov)
	}
}

// TestCustomConcurrent: custom-objective training runs beside another on
// shared matrices (each booster on its own thread, the matrices one call at
// a time) and gives exactly the serial model. Run it with -race.
func TestCustomConcurrent(t *testing.T) {
	tr, va := fixture(1000, 3, 41, heteroscedastic), fixture(500, 3, 42, heteroscedastic)
	dtrain, dvalid := tr.matrix(t), va.matrix(t)
	p := Params{"nthread": "1", "max_depth": "3", "seed": "1"}
	fit := func(alpha float64) []float32 {
		obj, err := NewPinball(alpha, tr.Y)
		if err != nil {
			t.Error(err)
			return nil
		}
		b, _, err := Train(p, dtrain, TrainOptions{Rounds: 30, EarlyStoppingRounds: 5, Valid: dvalid, Objective: obj})
		if err != nil {
			t.Error(err)
			return nil
		}
		defer b.Close()
		out, err := b.PredictDense(va.X, va.Rows, va.Cols)
		if err != nil {
			t.Error(err)
		}
		return out
	}
	want := [2][]float32{fit(0.1), fit(0.9)}
	var got [2][]float32
	var wg sync.WaitGroup
	for i, alpha := range []float64{0.1, 0.9} {
		wg.Go(func() { got[i] = fit(alpha) })
	}
	wg.Wait()
	for i := range got {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("model %d trained concurrently differs from the serial one", i)
		}
	}
}
