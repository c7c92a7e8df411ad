package predict

import (
	"testing"

	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
)

// TestRuleSpellings: ml.ProductRule (which cannot import registry) spells
// the products, the baselines' names and the climatology's param as the
// registry does, so every registered version reaches its rule.
func TestRuleSpellings(t *testing.T) {
	for _, c := range [][2]string{
		{ml.ProductVol, registry.ProductVol},
		{ml.ProductQuantiles, registry.ProductQuantiles},
		{ml.ProductPUp, registry.ProductPUp},
		{ml.BaselineZero, registry.BaselineName},
		{ml.BaselineLastRV, registry.BaselineVolName},
		{ml.BaselineLastRVGaussian, registry.BaselineQuantilesName},
		{ml.BaselineClimatology, registry.BaselinePUpName},
		{ml.ParamPUp, registry.ParamPUp},
	} {
		if c[0] != c[1] {
			t.Errorf("ml spells %q, registry %q", c[0], c[1])
		}
	}
	for _, p := range registry.Products {
		if _, err := ml.NewProductRule(productSpelling(p), registry.BaselineOf(p), 1,
			map[string]string{registry.ParamPUp: "0.5"}); err != nil {
			t.Errorf("%s baseline: %v", p, err)
		}
	}
}
