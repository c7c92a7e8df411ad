package training

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/xgboost"
)

// VolFloor is the smallest realized vol taken before the log of the vol
// model's label: 0.1 bp, below one price tick of the pairs served. A zero
// realized vol (h unchanged closes, common at h = 1) would otherwise be
// ln 0 = −Inf.
const VolFloor = 1e-5

// productFit is a product's model: the booster kept and every candidate
// parameter set's validation score.
type productFit struct {
	booster    *xgboost.Booster
	params     xgboost.Params
	best       int // best iteration
	candidates []candidateScore
}

type candidateScore struct {
	Name      string  `json:"name"` // "tuned" (the return model's) or "fixed"
	Rounds    int     `json:"rounds"`
	ValidLoss jnum    `json:"valid_loss"` // the product's gate metric on the validation rows
	TestLoss  jnum    `json:"test_loss,omitempty"`
	Seconds   float64 `json:"seconds"`
}

// productCandidates are the parameter sets each product tries, scored on
// the validation rows: the return model's tuned ones and one fixed set of
// moderate trees (a small grid keeps products cheap beside the tuning).
func productCandidates(tuned ml.TrialParams, threads int) []struct {
	name   string
	params xgboost.Params
} {
	fixed := xgboost.Params{"tree_method": "hist", "max_depth": "6", "eta": "0.1", "subsample": "0.8",
		"colsample_bytree": "0.8", "min_child_weight": "100", "lambda": "1", "alpha": "0", "seed": strconv.FormatInt(tuned.Seed, 10)}
	out := []struct {
		name   string
		params xgboost.Params
	}{{"fixed", fixed}}
	if tuned.Validate() == nil {
		out = append(out, struct {
			name   string
			params xgboost.Params
		}{"tuned", xgboost.Params(tuned.XGB())})
	}
	for _, c := range out {
		c.params["nthread"] = strconv.Itoa(max(1, threads))
		delete(c.params, "base_score")
	}
	return out
}

// fitCandidates trains every candidate with objective, early stopping on
// the validation rows, base_score from the training labels, and keeps the
// one whose score (lower is better) on the validation rows is lowest.
func fitCandidates(ctx context.Context, ds ml.Dataset, in ProductsRequest, objective, metric string,
	train, valid []int, ytr, yva []float32, score func(b *xgboost.Booster) (float64, error)) (productFit, error) {
	var best productFit
	bestLoss := math.Inf(1)
	for _, c := range productCandidates(in.Params, in.Threads) {
		c.params["objective"], c.params["eval_metric"] = objective, metric
		p, err := c.params.WithBaseScore(ytr)
		if err != nil {
			return productFit{}, invalidf("%s base score: %v", objective, err)
		}
		b, tr, secs, err := fitRows(ctx, ds, p, train, valid, ytr, yva, cmp.Or(in.Rounds, defaultProductRounds))
		if err != nil {
			best.close()
			return productFit{}, fmt.Errorf("%s fit (%s): %w", objective, c.name, err)
		}
		loss, err := score(b)
		if err != nil {
			b.Close()
			best.close()
			return productFit{}, err
		}
		best.candidates = append(best.candidates, candidateScore{Name: c.name, Rounds: tr.BestIteration + 1, ValidLoss: jnum(loss), Seconds: secs})
		if loss < bestLoss || best.booster == nil {
			best.close()
			best.booster, best.params, best.best, bestLoss = b, p, tr.BestIteration, loss
			continue
		}
		b.Close()
	}
	return best, nil
}

const defaultProductRounds = 400

func (f *productFit) close() {
	if f.booster != nil {
		f.booster.Close()
		f.booster = nil
	}
}

// fitRows trains on dataset rows train (labels ytr), early stopping on rows
// valid (labels yva).
func fitRows(ctx context.Context, ds ml.Dataset, params xgboost.Params, train, valid []int, ytr, yva []float32, rounds int) (*xgboost.Booster, xgboost.TrainResult, float64, error) {
	start := time.Now()
	tm, err := rowsMatrix(ds, train, ytr)
	if err != nil {
		return nil, xgboost.TrainResult{}, 0, err
	}
	defer tm.Close()
	vm, err := rowsMatrix(ds, valid, yva)
	if err != nil {
		return nil, xgboost.TrainResult{}, 0, err
	}
	defer vm.Close()
	b, tr, err := xgboost.TrainContext(ctx, params, tm, xgboost.TrainOptions{Rounds: rounds, EarlyStoppingRounds: earlyStopping,
		Valid: vm, Nice: trainNice})
	return b, tr, time.Since(start).Seconds(), err
}

// rowsFloat32 are the features of dataset rows, row-major.
func rowsFloat32(ds ml.Dataset, rows []int) []float32 {
	x := make([]float32, 0, len(rows)*ds.Cols)
	for _, i := range rows {
		for _, v := range ds.Row(i) {
			x = append(x, float32(v))
		}
	}
	return x
}

func rowsMatrix(ds ml.Dataset, rows []int, y []float32) (*xgboost.Matrix, error) {
	return labelledMatrix(rowsFloat32(ds, rows), y, len(rows), ds.Cols)
}

// predictRows is the booster's prediction (at its best iteration) of rows.
func predictRows(b *xgboost.Booster, ds ml.Dataset, rows []int) ([]float64, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	p, err := b.PredictDense(rowsFloat32(ds, rows), len(rows), ds.Cols)
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	return float64s(p), nil
}

// logVolLabels are ln(max(vol, VolFloor)) of rows.
func logVolLabels(vol []float64, rows []int) []float32 {
	out := make([]float32, len(rows))
	for j, i := range rows {
		out[j] = float32(math.Log(max(vol[i], VolFloor)))
	}
	return out
}

// expAll returns scale·exp(v) for each v.
func expAll(v []float64, scale float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = scale * math.Exp(x)
	}
	return out
}

// MAEScale is the s minimizing Σ|s·pred − y|: Σ pred·|s − y/pred| is
// minimized by the pred-weighted median of the ratios y/pred. It calibrates
// exp(log-vol prediction) — a geometric mean, biased low for MAE — on
// validation rows; 1 when no prediction is positive.
func MAEScale(pred, y []float64) float64 {
	type rw struct{ r, w float64 }
	var v []rw
	var total float64
	for i, p := range pred {
		if p > 0 && finite(y[i]) {
			v = append(v, rw{y[i] / p, p})
			total += p
		}
	}
	if len(v) == 0 {
		return 1
	}
	slices.SortFunc(v, func(a, b rw) int { return cmp.Compare(a.r, b.r) })
	acc := 0.0
	for _, x := range v {
		acc += x.w
		if acc >= total/2 {
			return x.r
		}
	}
	return v[len(v)-1].r
}
