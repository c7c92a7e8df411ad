package ml

import (
	"fmt"
	"math"
	"strconv"

	"github.com/tickcast/tickcast/market"
)

// Products as the registry spells them in a version's Product (the return
// product is ""): ProductRule's product argument.
const (
	ProductReturn    = ""
	ProductVol       = "vol"
	ProductQuantiles = "quantiles"
	ProductPUp       = "p_up"
)

// The names and params of the products' versions ProductRule serves: the
// artifact contract training registers against and predict serves.
const (
	ModelXGBoost           = "xgboost"          // return, vol (ln-vol booster), p_up (binary:logistic)
	ModelXGBoostVolZ       = "xgboost-vol-z"    // quantiles: the vol booster × z
	BaselineLastRVGaussian = "last-rv-gaussian" // quantiles: NormInv(q)·σ, σ the last-rv vol
	ParamVolTarget         = "vol_target"       // "log": the booster predicts ln vol
	ParamVolScale          = "vol_scale"        // vol = exp(output) × vol_scale
	ParamPUp               = "p_up"             // a climatology's up-rate
	VolTargetLog           = "log"

	// ModelXGBoostVolZTerciles is the vol booster × z per tercile of that
	// vol (Mondrian calibration): params vol_cut1, vol_cut2 and z10_1 …
	// z90_3 (TercileZParam). A name of its own rather than optional params
	// on xgboost-vol-z: a version of xgboost-vol-z keeps meaning three z's
	// whatever it holds, and a build that predates the terciles refuses the
	// version (unknown name, its fallback serves) instead of serving it with
	// one z.
	ModelXGBoostVolZTerciles = "xgboost-vol-z-terciles"
)

// ZParams are the params of the standardized quantiles q = z·σ of the
// quantile models, at QuantileLevels.
var ZParams = [3]string{"z10", "z50", "z90"}

// The cut points of the vol σ between the terciles of an
// xgboost-vol-z-terciles version, in served units (after vol_scale).
const (
	ParamVolCut1 = "vol_cut1"
	ParamVolCut2 = "vol_cut2"
)

// TercileZParam is the param of tercile g's (0 the calmest) z at level
// QuantileLevels[j]: "z10_1" … "z90_3".
func TercileZParam(j, g int) string { return ZParams[j] + "_" + strconv.Itoa(g+1) }

// VolZ are the standardized quantiles of a quantile rule q_j = z_j·σ: one
// z per level at QuantileLevels, or one per level per tercile of σ (the
// terciles cut at Cut). Training's scoring and ProductRule both turn a σ
// into quantiles with it.
type VolZ struct {
	Cut [2]float64    // σ ≤ Cut[0]: tercile 0; ≤ Cut[1]: tercile 1; above: 2
	Z   [3][3]float64 // Z[g][j]: tercile g's z at QuantileLevels[j]
}

// GlobalVolZ is one z per level for every σ.
func GlobalVolZ(z [3]float64) VolZ {
	return VolZ{Cut: [2]float64{math.Inf(1), math.Inf(1)}, Z: [3][3]float64{z, z, z}}
}

// Tercile is σ's tercile: a σ at a cut goes to the lower one (as
// TercileCoverage cuts), NaN to the top one.
func (v VolZ) Tercile(sigma float64) int {
	switch {
	case sigma <= v.Cut[0]:
		return 0
	case sigma <= v.Cut[1]:
		return 1
	}
	return 2
}

// Quantiles are z_j·σ with the z's of σ's tercile.
func (v VolZ) Quantiles(sigma float64) (q [3]float64) {
	z := v.Z[v.Tercile(sigma)]
	for j := range q {
		q[j] = z[j] * sigma
	}
	return q
}

// TercileParams are v's cut points and z's as an xgboost-vol-z-terciles
// version's params.
func (v VolZ) TercileParams() map[string]string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	p := map[string]string{ParamVolCut1: f(v.Cut[0]), ParamVolCut2: f(v.Cut[1])}
	for g, z := range v.Z {
		for j, x := range z {
			p[TercileZParam(j, g)] = f(x)
		}
	}
	return p
}

// Sources of a rule's base value.
const (
	srcConst   = iota // a constant: zero-return's 0, climatology's rate
	srcRV             // the row's realized vol over the last h candles (last-rv)
	srcHAR            // a fitted HAR over the row's realized-vol features
	srcBooster        // the booster's output
)

// ProductRule is how a registered version of a product turns one feature
// row (and its booster's raw output, for the versions that have one) into
// the product's figures: a base value (a constant, a feature, a fitted HAR,
// the booster), then the product's transform (vol = exp(output)·vol_scale
// for ln-vol boosters, quantiles z·σ). Serving and the products' gate
// re-scoring both evaluate versions with it. It is immutable and pure.
//
// The names served: return — zero-return (0) or any trained model (the
// booster's output); vol — last-rv, har-rv, xgboost (ln-vol); quantiles —
// last-rv-gaussian, har-gaussian, xgboost-vol-z (z10/z50/z90 × that vol),
// xgboost-vol-z-terciles (z10_g/z50_g/z90_g × that vol, g its tercile by
// vol_cut1/vol_cut2);
// p_up — climatology (Params p_up), xgboost (binary:logistic).
type ProductRule struct {
	product string
	src     int
	konst   float64
	rvW     int // srcRV: the window RowVol reads
	har     HAR
	logVol  bool    // vol from a booster: exp(output)·scale
	scale   float64 // vol from a booster
	vz      VolZ    // quantiles: q = z·vol
}

// NewProductRule reads a version's product, name, horizon and params into
// its rule; an error (market.ErrInvalid) says why the version cannot be
// evaluated by this build: an unknown product or name, params missing or
// malformed, a horizon the rule cannot serve.
func NewProductRule(product, name string, horizon int, params map[string]string) (ProductRule, error) {
	r := ProductRule{product: product}
	var err error
	switch product {
	case ProductReturn:
		if name != BaselineZero {
			r.src = srcBooster // any trained return model
		}
	case ProductVol:
		switch name {
		case BaselineLastRV:
			err = r.lastRV(horizon)
		case BaselineHAR:
			err = r.fitHAR(horizon, params)
		case ModelXGBoost:
			err = r.volBooster(params)
		default:
			err = unknownName(product, name, BaselineLastRV, BaselineHAR, ModelXGBoost)
		}
	case ProductQuantiles:
		switch name {
		case BaselineLastRVGaussian:
			err = r.lastRV(horizon)
			var z [3]float64
			for i, q := range QuantileLevels {
				z[i] = NormInv(q)
			}
			r.vz = GlobalVolZ(z)
			return r, err
		case BaselineHARGaussian:
			err = r.fitHAR(horizon, params)
		case ModelXGBoostVolZ:
			err = r.volBooster(params)
		case ModelXGBoostVolZTerciles:
			if err = r.volBooster(params); err == nil {
				err = r.readTercileZ(params)
			}
			return r, err
		default:
			return r, unknownName(product, name, BaselineLastRVGaussian, BaselineHARGaussian, ModelXGBoostVolZ, ModelXGBoostVolZTerciles)
		}
		if err == nil {
			err = r.readZ(params)
		}
	case ProductPUp:
		switch name {
		case BaselineClimatology:
			p, perr := strconv.ParseFloat(params[ParamPUp], 64)
			if perr != nil || !(p >= 0 && p <= 1) {
				return r, fmt.Errorf("%s: %s %q: want a probability: %w", BaselineClimatology, ParamPUp, params[ParamPUp], market.ErrInvalid)
			}
			r.konst = p
		case ModelXGBoost:
			r.src = srcBooster // binary:logistic: the output is the probability
		default:
			err = unknownName(product, name, BaselineClimatology, ModelXGBoost)
		}
	default:
		err = fmt.Errorf("product %q: this build serves return, %s, %s, %s: %w", product, ProductVol, ProductQuantiles, ProductPUp, market.ErrInvalid)
	}
	return r, err
}

func unknownName(product, name string, want ...string) error {
	if product == ProductReturn {
		product = "return"
	}
	return fmt.Errorf("model %q of product %s: this build serves %v: %w", name, product, want, market.ErrInvalid)
}

// Product is the rule's product, as the registry spells it.
func (r ProductRule) Product() string { return r.product }

// Booster reports whether the rule reads a booster's output (the version's
// artifact must be loaded and run on the row).
func (r ProductRule) Booster() bool { return r.src == srcBooster }

// lastRV reads the realized vol of the last h candles from the row: the
// rvol_<h> feature (|ret_1| at h = 1). Horizons without such a feature
// cannot be served by last-rv.
func (r *ProductRule) lastRV(h int) error {
	if _, ok := RVolFeature(h); !ok {
		return fmt.Errorf("last-rv cannot serve horizon %d: the feature row has no realized vol over %d candles: %w", h, h, market.ErrInvalid)
	}
	r.src, r.rvW = srcRV, h
	return nil
}

func (r *ProductRule) fitHAR(h int, params map[string]string) error {
	har, err := HARFromParams(params)
	if err != nil {
		return err
	}
	if har.H != h {
		return fmt.Errorf("HAR fitted for horizon %d, registered at %d: %w", har.H, h, market.ErrInvalid)
	}
	r.src, r.har = srcHAR, har
	return nil
}

func (r *ProductRule) volBooster(params map[string]string) error {
	if t := params[ParamVolTarget]; t != VolTargetLog {
		return fmt.Errorf("%s %q: this build serves %q (ln-vol boosters): %w", ParamVolTarget, t, VolTargetLog, market.ErrInvalid)
	}
	r.src, r.logVol, r.scale = srcBooster, true, 1
	if s, ok := params[ParamVolScale]; ok {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%s %q: want a positive number: %w", ParamVolScale, s, market.ErrInvalid)
		}
		r.scale = v
	}
	return nil
}

func (r *ProductRule) readZ(params map[string]string) error {
	z, err := readZs(params, ZParams[:])
	r.vz = GlobalVolZ(z)
	return err
}

// readTercileZ reads the cut points (finite, in order) and the terciles'
// z's.
func (r *ProductRule) readTercileZ(params map[string]string) error {
	cut, err := readZs(params, []string{ParamVolCut1, ParamVolCut2})
	if err != nil {
		return err
	}
	r.vz.Cut = [2]float64{cut[0], cut[1]}
	for g := range r.vz.Z {
		keys := []string{TercileZParam(0, g), TercileZParam(1, g), TercileZParam(2, g)}
		if r.vz.Z[g], err = readZs(params, keys); err != nil {
			return err
		}
	}
	return nil
}

// readZs reads the params keys (two or three) as finite numbers in
// ascending order.
func readZs(params map[string]string, keys []string) (z [3]float64, err error) {
	for i, k := range keys {
		z[i], err = strconv.ParseFloat(params[k], 64)
		if err != nil || math.IsNaN(z[i]) || math.IsInf(z[i], 0) {
			return z, fmt.Errorf("quantile param %s %q: want a number: %w", k, params[k], market.ErrInvalid)
		}
		if i > 0 && !(z[i-1] <= z[i]) {
			return z, fmt.Errorf("quantile params %v = %v: want them in order: %w", keys, z[:len(keys)], market.ErrInvalid)
		}
	}
	return z, nil
}

// Eval turns one feature row's values (market.FeatureRow order) and, for
// a rule with a booster, the booster's raw output on the row (ignored
// otherwise: pass NaN) into the product's figures: out[0] the return, the
// vol or the probability; out[0..2] the quantiles at QuantileLevels as log
// returns. ok is false when an input is missing or the figures are not all
// finite (a feature the rule reads NaN, a booster's output NaN or, for
// p_up, outside [0, 1]).
func (r ProductRule) Eval(values []float64, raw float64) (out [3]float64, ok bool) {
	var v float64
	switch r.src {
	case srcConst:
		v = r.konst
	case srcRV:
		v, ok = RowVol(values, r.rvW)
		if !ok {
			return out, false
		}
	case srcHAR:
		v, ok = r.har.PredictRow(values)
		if !ok {
			return out, false
		}
	case srcBooster:
		v = raw
		if r.logVol {
			v = math.Exp(v) * r.scale
		}
	}
	out[0] = v
	switch r.product {
	case ProductQuantiles:
		out = r.vz.Quantiles(v)
	case ProductPUp:
		if !(v >= 0 && v <= 1) {
			return out, false
		}
	}
	for _, x := range out {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return out, false
		}
	}
	return out, true
}
