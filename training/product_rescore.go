package training

import (
	"context"
	"fmt"
	"math"
	"strconv"

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
	pred, why, err := r.predict(ctx, reg, m)
	if why != "" || err != nil {
		return nil, why, err
	}
	for t, v := range pred[0] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Sprintf("no prediction at test row %d", r.rows[t]), nil
		}
	}
	switch m.Product {
	case registry.ProductVol:
		return ml.AbsErrors(pred[0], r.vol), "", nil
	case registry.ProductQuantiles:
		rows, _ := ml.PinballLosses(pred, r.ret, ml.QuantileLevels)
		return rows, "", nil
	case registry.ProductPUp:
		brier, _ := ml.DirLosses(pred[0], r.dir)
		return brier, "", nil
	}
	return nil, fmt.Sprintf("product %q has no product gate", m.Product), nil
}

// predict is version m's forecast of the rows the way predict serves it:
// vol — last-rv (the row's realized vol over h candles), a fitted HAR
// (ml.HARFromParams, PredictRow) or the ln-vol booster × vol_scale;
// quantiles — that vol (last-rv, the HAR, the booster) × z10/z50/z90
// (NormInv(q) for last-rv-gaussian); p_up — a climatology's constant or
// the logistic booster. pred[j][t] is level j's quantile at row t (one
// slice for vol and p_up).
func (r productRows) predict(ctx context.Context, reg *registry.Registry, m registry.Meta) ([][]float64, string, error) {
	var base []float64
	var why string
	var err error
	z := []float64{1}
	switch {
	case m.Product == registry.ProductVol && m.Name == registry.BaselineVolName,
		m.Product == registry.ProductQuantiles && m.Name == registry.BaselineQuantilesName:
		base, why = r.lastRV(m.Horizon)
		if m.Product == registry.ProductQuantiles {
			z = make([]float64, len(ml.QuantileLevels))
			for j, q := range ml.QuantileLevels {
				z[j] = ml.NormInv(q)
			}
		}
	case m.Product == registry.ProductVol && m.Name == ml.BaselineHAR,
		m.Product == registry.ProductQuantiles && m.Name == ml.BaselineHARGaussian:
		base, why = r.har(m)
		if why == "" && m.Product == registry.ProductQuantiles {
			z, why = readZ(m.Params)
		}
	case m.Product == registry.ProductVol && m.Name == modelName,
		m.Product == registry.ProductQuantiles && m.Name == ModelNameVolZ:
		var scale float64
		if scale, why = volScale(m.Params); why != "" {
			return nil, why, nil
		}
		if base, why, err = r.booster(ctx, reg, m); why != "" || err != nil {
			return nil, why, err
		}
		base = expAll(base, scale)
		if m.Product == registry.ProductQuantiles {
			z, why = readZ(m.Params)
		}
	case m.Product == registry.ProductPUp && m.Name == registry.BaselinePUpName:
		p, perr := strconv.ParseFloat(m.Params[registry.ParamPUp], 64)
		if perr != nil || !(p >= 0 && p <= 1) {
			return nil, fmt.Sprintf("climatology %s %q: not a probability", registry.ParamPUp, m.Params[registry.ParamPUp]), nil
		}
		base = make([]float64, len(r.rows))
		for t := range base {
			base[t] = p
		}
	case m.Product == registry.ProductPUp && m.Name == modelName:
		base, why, err = r.booster(ctx, reg, m)
	default:
		return nil, fmt.Sprintf("model %q of product %s: not a model this build serves", m.Name, registry.ProductName(m.Product)), nil
	}
	if why != "" || err != nil {
		return nil, why, err
	}
	if m.Product != registry.ProductQuantiles {
		return [][]float64{base}, "", nil
	}
	return volZQuantiles(base, z), "", nil
}

// lastRV is the rows' realized vol over the last h candles from the
// feature row (|ret_1| at h = 1), as last-rv serves it.
func (r productRows) lastRV(h int) ([]float64, string) {
	i, ok := ml.RVolFeature(h)
	if !ok {
		return nil, fmt.Sprintf("last-rv cannot serve horizon %d", h)
	}
	out := make([]float64, len(r.rows))
	for t, row := range r.rows {
		v := r.ds.Row(row)[i]
		if h == 1 {
			v = math.Abs(v)
		}
		out[t] = v
	}
	return out, ""
}

// har is a fitted HAR's vol forecast of the rows from their feature rows.
func (r productRows) har(m registry.Meta) ([]float64, string) {
	har, err := ml.HARFromParams(m.Params)
	if err != nil {
		return nil, err.Error()
	}
	if har.H != m.Horizon {
		return nil, fmt.Sprintf("HAR fitted for horizon %d, registered at %d", har.H, m.Horizon)
	}
	out := make([]float64, len(r.rows))
	for t, row := range r.rows {
		v, ok := har.PredictRow(r.ds.Row(row))
		if !ok {
			return nil, fmt.Sprintf("HAR: no forecast at test row %d", row)
		}
		out[t] = v
	}
	return out, ""
}

// booster is the output of version m's booster on the rows.
func (r productRows) booster(ctx context.Context, reg *registry.Registry, m registry.Meta) ([]float64, string, error) {
	b, why, err := loadBooster(ctx, reg, m)
	if b == nil {
		return nil, why, err
	}
	defer b.Close()
	out, err := predictRows(b, r.ds, r.rows)
	return out, "", err
}

// volScale reads a ln-vol booster's params: vol = exp(output) × vol_scale.
func volScale(p map[string]string) (float64, string) {
	if t := p[ParamVolTarget]; t != "log" {
		return 0, fmt.Sprintf("%s %q: not a ln-vol booster", ParamVolTarget, t)
	}
	s, ok := p[ParamVolScale]
	if !ok {
		return 1, ""
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Sprintf("%s %q: not a positive number", ParamVolScale, s)
	}
	return v, ""
}

// readZ reads the standardized quantiles z10, z50, z90, in order.
func readZ(p map[string]string) ([]float64, string) {
	z := make([]float64, 3)
	for i, k := range []string{"z10", "z50", "z90"} {
		v, err := strconv.ParseFloat(p[k], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Sprintf("quantile param %s %q: not a number", k, p[k])
		}
		z[i] = v
	}
	if !(z[0] <= z[1] && z[1] <= z[2]) {
		return nil, fmt.Sprintf("quantile params %v: not in order", z)
	}
	return z, ""
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
