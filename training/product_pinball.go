package training

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/xgboost"
)

// The quantiles' second method: one booster per level fitted by the pinball
// loss through custom gradients (xgboost.Pinball), on the h-candle log
// return, early stopping on the validation rows' pinball loss. It runs when
// ProductsRequest.Pinball is set; the method with the lower mean validation
// pinball loss gives the quantiles, and both are recorded.

// pinballModel is the three boosters, one per ml.QuantileLevels.
type pinballModel struct {
	boosters []*xgboost.Booster
	rounds   []int
	seconds  float64
}

func (m *pinballModel) close() {
	for _, b := range m.boosters {
		b.Close()
	}
	m.boosters = nil
}

// fitPinball fits the three levels with the fixed candidate's parameters.
func fitPinball(ctx context.Context, ds ml.Dataset, pd productData, in ProductsRequest, train, valid []int) (pinballModel, error) {
	start := time.Now()
	ytr, yva := float32s(pick(pd.ret, train)), float32s(pick(pd.ret, valid))
	tm, err := rowsMatrix(ds, train, ytr)
	if err != nil {
		return pinballModel{}, err
	}
	defer tm.Close()
	vm, err := rowsMatrix(ds, valid, yva)
	if err != nil {
		return pinballModel{}, err
	}
	defer vm.Close()
	var m pinballModel
	for _, tau := range ml.QuantileLevels {
		obj, err := xgboost.NewPinball(tau, ytr)
		if err != nil {
			m.close()
			return pinballModel{}, invalid(err)
		}
		params := productCandidates(in.Params, in.Threads)[0].params // "fixed"
		b, tr, err := xgboost.TrainContext(ctx, params, tm, xgboost.TrainOptions{Rounds: cmp.Or(in.Rounds, defaultProductRounds),
			EarlyStoppingRounds: earlyStopping, Valid: vm, Nice: trainNice, Objective: obj})
		if err != nil {
			m.close()
			return pinballModel{}, fmt.Errorf("pinball %v fit: %w", tau, err)
		}
		m.boosters, m.rounds = append(m.boosters, b), append(m.rounds, tr.BestIteration+1)
	}
	m.seconds = time.Since(start).Seconds()
	return m, nil
}

// predict returns q[j][t] for rows, each row's levels sorted (no crossing).
func (m pinballModel) predict(ds ml.Dataset, rows []int) ([][]float64, error) {
	q := make([][]float64, len(m.boosters))
	for j, b := range m.boosters {
		p, err := predictRows(b, ds, rows)
		if err != nil {
			return nil, err
		}
		q[j] = p
	}
	v := make([]float64, len(q))
	for t := range rows {
		for j := range q {
			v[j] = q[j][t]
		}
		slices.Sort(v)
		for j := range q {
			q[j][t] = v[j]
		}
	}
	return q, nil
}

func float32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// validPinball is the mean pinball loss of q on the validation returns.
func validPinball(q [][]float64, realized []float64) float64 {
	rows, _ := ml.PinballLosses(q, realized, ml.QuantileLevels)
	return ml.Mean(rows)
}

// volZQuantiles are q[j][t] = z·σ[t], z the level-j z of σ[t]'s tercile:
// ml.VolZ.Quantiles, as ml.ProductRule serves them.
func volZQuantiles(sigma []float64, v ml.VolZ) [][]float64 {
	q := make([][]float64, len(ml.QuantileLevels))
	for j := range q {
		q[j] = make([]float64, len(sigma))
	}
	for t, s := range sigma {
		for j, x := range v.Quantiles(s) {
			q[j][t] = x
		}
	}
	return q
}
