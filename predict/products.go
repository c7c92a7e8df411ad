package predict

import (
	"math"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
)

// A prediction's figures (numQuantiles: ml.ProductRule.Eval's) and a
// modelSet's slots.
const (
	numQuantiles   = 3
	productsServed = 4 // return, vol, quantiles, p_up: a modelSet's slots
	slotReturn     = 0
)

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

// newSpec reads a version's product, name, horizon and params into the
// rule that evaluates it (ml.ProductRule, the one training's re-scoring
// uses); an error says why the version cannot serve (the caller falls
// back).
func newSpec(m registry.Meta) (ml.ProductRule, error) {
	return ml.NewProductRule(m.Product, m.Name, m.Horizon, m.Params)
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
