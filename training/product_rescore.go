package training

import (
	"context"
	"fmt"
	"math"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
)

// ProductData are what re-scoring a product series' versions needs: the
// run's dataset and splits and the pair's candles (ReadCandles), from which
// the products' test rows and targets are rebuilt as TrainProducts built
// them.
type ProductData struct {
	Dataset ml.Dataset
	Splits  Splits
	Candles []market.Candle
}

// productRows are the products' scored test rows (every target and
// baseline defined: the rows the candidate's figures are on) with their
// targets.
type productRows struct {
	ds   ml.Dataset
	rows []int
	vol  []float64 // realized vol
	ret  []float64 // realized log return
	dir  []ml.Dir
}

// newProductRows rebuilds the products' test rows of d; an error says why
// they cannot be (the caller falls back to recorded scores).
func newProductRows(d ProductData) (productRows, error) {
	f := d.Splits.Final
	if err := f.check(d.Dataset.Len()); err != nil {
		return productRows{}, err
	}
	pd, err := buildProductData(d.Dataset, d.Candles, f.Train)
	if err != nil {
		return productRows{}, err
	}
	test := pd.scored(f.Test)
	if len(test) == 0 {
		return productRows{}, invalidf("products %s h%d: no scored test rows", d.Dataset.Pair, d.Dataset.Horizon)
	}
	return productRows{ds: d.Dataset, rows: test, vol: pick(pd.vol, test), ret: pick(pd.ret, test), dir: pick(pd.dir, test)}, nil
}

// losses are version m's per-row losses on its product's gate metric on
// the rows (vol: absolute error; quantiles: mean pinball over the three
// levels; p_up: Brier on the rows whose close moved), or why m cannot be
// re-scored (an older feature schema, an artifact missing, corrupt or
// failing to load, a name or params this build does not serve, a
// prediction undefined). Other failures are errors.
func (r productRows) losses(ctx context.Context, reg *registry.Registry, m registry.Meta) ([]float64, string, error) {
	switch m.Product {
	case registry.ProductVol, registry.ProductQuantiles, registry.ProductPUp:
	default:
		return nil, fmt.Sprintf("product %q has no product gate", m.Product), nil
	}
	pred, why, err := r.predict(ctx, reg, m)
	if why != "" || err != nil {
		return nil, why, err
	}
	switch m.Product {
	case registry.ProductVol:
		return ml.AbsErrors(pred[0], r.vol), "", nil
	case registry.ProductQuantiles:
		rows, _ := ml.PinballLosses(pred, r.ret, ml.QuantileLevels)
		return rows, "", nil
	default: // registry.ProductPUp
		brier, _ := ml.DirLosses(pred[0], r.dir)
		return brier, "", nil
	}
}

// predict is version m's forecast of the rows the way predict serves it:
// the same ml.ProductRule evaluates each row's feature values and, for a
// version with a booster, the booster's output on the row. pred[j][t] is
// level j's quantile at row t (one slice for vol and p_up).
func (r productRows) predict(ctx context.Context, reg *registry.Registry, m registry.Meta) ([][]float64, string, error) {
	rule, err := ml.NewProductRule(m.Product, m.Name, m.Horizon, m.Params)
	if err != nil {
		return nil, err.Error(), nil
	}
	var raw []float64
	if rule.Booster() {
		var why string
		if raw, why, err = r.booster(ctx, reg, m); why != "" || err != nil {
			return nil, why, err
		}
	}
	n := 1
	if m.Product == registry.ProductQuantiles {
		n = len(ml.QuantileLevels)
	}
	pred := make([][]float64, n)
	for j := range pred {
		pred[j] = make([]float64, len(r.rows))
	}
	for t, row := range r.rows {
		b := math.NaN()
		if raw != nil {
			b = raw[t]
		}
		out, ok := rule.Eval(r.ds.Row(row), b)
		if !ok {
			return nil, fmt.Sprintf("no prediction at test row %d", row), nil
		}
		for j := range pred {
			pred[j][t] = out[j]
		}
	}
	return pred, "", nil
}

// booster is the output of version m's booster on the rows.
func (r productRows) booster(ctx context.Context, reg *registry.Registry, m registry.Meta) ([]float64, string, error) {
	b, why, err := loadBooster(ctx, reg, m)
	if b == nil {
		return nil, why, err
	}
	defer b.Close()
	out, err := predictRows(b, r.ds, r.rows)
	if err == nil && len(out) != len(r.rows) {
		err = fmt.Errorf("booster v%d: %d outputs for %d rows", m.Version, len(out), len(r.rows))
	}
	return out, "", err
}

// rescore scores the candidate (version cand), the run's fitted baseline
// (version base) and the current champion with the same code on the same
// rows (LossGate.Score); why says what could not be re-scored.
func (r *productRows) rescore(ctx context.Context, reg *registry.Registry, s registry.Series, p ProductOutcome, cand, base int, champ registry.Meta) (GateScores, string, error) {
	var scores [2][]float64
	for i, v := range []int{cand, base} {
		m, err := reg.VersionIn(ctx, s, v)
		if err != nil {
			return GateScores{}, "", err
		}
		l, why, err := r.losses(ctx, reg, m)
		if why != "" || err != nil {
			return GateScores{}, fmt.Sprintf("v%d (%s): %s", v, m.Name, why), err
		}
		scores[i] = l
	}
	champLoss, why, err := r.losses(ctx, reg, champ)
	if why != "" || err != nil {
		return GateScores{}, why, err
	}
	h := r.ds.Horizon
	g := LossGate{Metric: p.Gate.Metric, Block: DayRows(r.ds.Interval, h), Horizon: h, Seed: gateSeed}
	sc, err := g.Score(scores[0], map[string][]float64{p.Baseline: scores[1]}, champLoss)
	if err != nil {
		return GateScores{}, err.Error(), nil
	}
	return sc, "", nil
}
