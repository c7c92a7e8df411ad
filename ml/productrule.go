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
)

// ZParams are the params of the standardized quantiles q = z·σ of the
// quantile models, at QuantileLevels.
var ZParams = [3]string{"z10", "z50", "z90"}

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
// last-rv-gaussian, har-gaussian, xgboost-vol-z (z10/z50/z90 × that vol);
// p_up — climatology (Params p_up), xgboost (binary:logistic).
type ProductRule struct {
	product string
	src     int
	konst   float64
	rvW     int // srcRV: the window RowVol reads
	har     HAR
	logVol  bool    // vol from a booster: exp(output)·scale
	scale   float64 // vol from a booster
	z       [3]float64
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
			for i, q := range QuantileLevels {
				r.z[i] = NormInv(q)
			}
			return r, err
		case BaselineHARGaussian:
			err = r.fitHAR(horizon, params)
		case ModelXGBoostVolZ:
			err = r.volBooster(params)
		default:
			return r, unknownName(product, name, BaselineLastRVGaussian, BaselineHARGaussian, ModelXGBoostVolZ)
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
	for i, k := range ZParams {
		z, err := strconv.ParseFloat(params[k], 64)
		if err != nil || math.IsNaN(z) || math.IsInf(z, 0) {
			return fmt.Errorf("quantile param %s %q: want a number: %w", k, params[k], market.ErrInvalid)
		}
		r.z[i] = z
	}
	if !(r.z[0] <= r.z[1] && r.z[1] <= r.z[2]) {
		return fmt.Errorf("quantile params z10 %g, z50 %g, z90 %g: want them in order: %w", r.z[0], r.z[1], r.z[2], market.ErrInvalid)
	}
	return nil
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
		for i, z := range r.z {
			out[i] = z * v
		}
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
