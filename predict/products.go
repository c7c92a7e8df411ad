package predict

import (
	"fmt"
	"math"
	"strconv"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
)

// The registry's names and params of the products' versions: the artifact
// contract training registers against.
const (
	nameXGBoost     = "xgboost"       // return, vol (ln-vol booster), p_up (binary:logistic)
	nameVolZ        = "xgboost-vol-z" // quantiles: the vol booster × z
	paramVolTarget  = "vol_target"    // "log": the booster predicts ln vol
	paramVolScale   = "vol_scale"     // vol = exp(output) × vol_scale
	volTargetLog    = "log"
	numQuantiles    = 3
	productsServed  = 4 // return, vol, quantiles, p_up: a modelSet's slots
	slotReturn      = 0
	defaultVolScale = 1.0
)

// zParams are the standardized quantiles q = z·σ of the quantile models.
var zParams = [numQuantiles]string{"z10", "z50", "z90"}

// quantileLevels are the levels zParams stand for (and the Gaussian ones).
var quantileLevels = [numQuantiles]float64{0.1, 0.5, 0.9}

// slot is a product's index in a modelSet, registry spelling in, as
// registry.Products orders them.
func slot(product string) int {
	switch product {
	case registry.ProductVol:
		return 1
	case registry.ProductQuantiles:
		return 2
	case registry.ProductPUp:
		return 3
	}
	return slotReturn
}

// Sources of a spec's base value.
const (
	srcConst   = iota // a constant: zero-return's 0, climatology's rate
	srcRV             // the row's realized vol over the last h candles (last-rv)
	srcHAR            // a fitted HAR over the row's realized-vol features
	srcBooster        // the booster's output
)

// spec is how a loaded version turns a feature row into its product's
// figures: a base value (a constant, a feature, a HAR, the booster), then
// the product's transform (vol from ln vol, quantiles z·σ).
type spec struct {
	product string // registry spelling: "" is return
	src     int
	konst   float64
	rvFeat  int // srcRV: feature index; at h = 1, |ret_1|
	rvAbs   bool
	har     ml.HAR
	logVol  bool    // vol from a booster: exp(output)·scale
	scale   float64 // vol from a booster
	z       [numQuantiles]float64
}

// booster reports whether the spec needs the version's artifact.
func (sp spec) booster() bool { return sp.src == srcBooster }

// newSpec reads a version's name and params into its spec; an error says
// why the version cannot serve (the caller falls back).
func newSpec(m registry.Meta) (spec, error) {
	sp := spec{product: m.Product}
	switch m.Product {
	case "":
		if m.Name == registry.BaselineName {
			return sp, nil // the zero-return baseline: konst 0
		}
		sp.src = srcBooster // any trained return model
		return sp, nil
	case registry.ProductVol:
		return sp.vol(m)
	case registry.ProductQuantiles:
		return sp.quantiles(m)
	case registry.ProductPUp:
		return sp.pUp(m)
	}
	return sp, fmt.Errorf("product %q: this build serves %v: %w", m.Product, registry.Products, market.ErrInvalid)
}

func (sp spec) vol(m registry.Meta) (spec, error) {
	var err error
	switch m.Name {
	case registry.BaselineVolName:
		err = sp.lastRV(m.Horizon)
	case ml.BaselineHAR:
		err = sp.fitHAR(m)
	case nameXGBoost:
		err = sp.volBooster(m)
	default:
		err = unknownName(m, registry.BaselineVolName, ml.BaselineHAR, nameXGBoost)
	}
	return sp, err
}

func (sp spec) quantiles(m registry.Meta) (spec, error) {
	var err error
	switch m.Name {
	case registry.BaselineQuantilesName:
		err = sp.lastRV(m.Horizon)
		for i, q := range quantileLevels {
			sp.z[i] = ml.NormInv(q)
		}
		return sp, err
	case ml.BaselineHARGaussian:
		err = sp.fitHAR(m)
	case nameVolZ:
		err = sp.volBooster(m)
	default:
		return sp, unknownName(m, registry.BaselineQuantilesName, ml.BaselineHARGaussian, nameVolZ)
	}
	if err == nil {
		err = sp.readZ(m.Params)
	}
	return sp, err
}

func (sp spec) pUp(m registry.Meta) (spec, error) {
	switch m.Name {
	case registry.BaselinePUpName:
		sp.src = srcConst
		p, err := strconv.ParseFloat(m.Params[registry.ParamPUp], 64)
		if err != nil || !(p >= 0 && p <= 1) {
			return sp, fmt.Errorf("climatology: %s %q: want a probability: %w", registry.ParamPUp, m.Params[registry.ParamPUp], market.ErrInvalid)
		}
		sp.konst = p
	case nameXGBoost:
		sp.src = srcBooster // binary:logistic: the output is the probability
	default:
		return sp, unknownName(m, registry.BaselinePUpName, nameXGBoost)
	}
	return sp, nil
}

func unknownName(m registry.Meta, want ...string) error {
	return fmt.Errorf("model %q of product %s: this build serves %v: %w", m.Name, registry.ProductName(m.Product), want, market.ErrInvalid)
}

// lastRV reads the realized vol of the last h candles from the row: the
// rvol_<h> feature (|ret_1| at h = 1). Horizons without such a feature
// cannot be served by last-rv.
func (sp *spec) lastRV(h int) error {
	i, ok := ml.RVolFeature(h)
	if !ok {
		return fmt.Errorf("last-rv cannot serve horizon %d: the feature row has no realized vol over %d candles", h, h)
	}
	sp.src, sp.rvFeat, sp.rvAbs = srcRV, i, h == 1
	return nil
}

func (sp *spec) fitHAR(m registry.Meta) error {
	har, err := ml.HARFromParams(m.Params)
	if err != nil {
		return err
	}
	if har.H != m.Horizon {
		return fmt.Errorf("HAR fitted for horizon %d, registered at %d: %w", har.H, m.Horizon, market.ErrInvalid)
	}
	sp.src, sp.har = srcHAR, har
	return nil
}

func (sp *spec) volBooster(m registry.Meta) error {
	if t := m.Params[paramVolTarget]; t != volTargetLog {
		return fmt.Errorf("%s %q: this build serves %q (ln-vol boosters): %w", paramVolTarget, t, volTargetLog, market.ErrInvalid)
	}
	sp.src, sp.logVol, sp.scale = srcBooster, true, defaultVolScale
	if s, ok := m.Params[paramVolScale]; ok {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%s %q: want a positive number: %w", paramVolScale, s, market.ErrInvalid)
		}
		sp.scale = v
	}
	return nil
}

func (sp *spec) readZ(p map[string]string) error {
	for i, k := range zParams {
		z, err := strconv.ParseFloat(p[k], 64)
		if err != nil || math.IsNaN(z) || math.IsInf(z, 0) {
			return fmt.Errorf("quantile param %s %q: want a number: %w", k, p[k], market.ErrInvalid)
		}
		sp.z[i] = z
	}
	if !(sp.z[0] <= sp.z[1] && sp.z[1] <= sp.z[2]) {
		return fmt.Errorf("quantile params z10 %g, z50 %g, z90 %g: want them in order: %w", sp.z[0], sp.z[1], sp.z[2], market.ErrInvalid)
	}
	return nil
}

// eval turns the row (and the booster's output, for booster specs) into
// the product's figures: out[0] the return, the vol or the probability;
// out[0..2] the quantiles as log returns. ok is false when they are not
// all finite (a HAR window's feature missing, say).
func (sp spec) eval(values []float64, raw float64) (out [numQuantiles]float64, ok bool) {
	var v float64
	switch sp.src {
	case srcConst:
		v = sp.konst
	case srcRV:
		v = values[sp.rvFeat]
		if sp.rvAbs {
			v = math.Abs(v)
		}
	case srcHAR:
		v, ok = sp.har.PredictRow(values)
		if !ok {
			return out, false
		}
	case srcBooster:
		v = raw
		if sp.logVol {
			v = math.Exp(v) * sp.scale
		}
	}
	out[0] = v
	switch sp.product {
	case registry.ProductQuantiles:
		for i, z := range sp.z {
			out[i] = z * v
		}
	case registry.ProductPUp:
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

// badFeature finds the first value of a row no model may see: ±Inf
// anywhere, NaN in a feature market.FeatureMayBeMissing does not allow.
// Missing-by-design NaNs pass (XGBoost's missing value).
func badFeature(row *market.FeatureRow) (int, bool) {
	for i, v := range row.Values {
		if math.IsInf(v, 0) || (math.IsNaN(v) && !market.FeatureMayBeMissing[i]) {
			return i, true
		}
	}
	return 0, false
}
