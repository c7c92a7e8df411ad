package registry

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tickcast/tickcast/market"
)

// Products: what the versions of a series forecast. The return product is
// the registry's first; it is spelled "" in Meta.Product and Series.Product
// (so metas written before products, which have none, are returns), and
// "return" wherever people read it (ProductName).
const (
	ProductReturn    = "return"    // expected h-candle log return (predicted_return)
	ProductVol       = "vol"       // realized volatility over the next h candles
	ProductQuantiles = "quantiles" // 10/50/90% quantiles of the h-candle log return
	ProductPUp       = "p_up"      // probability that the close h candles ahead is above the last
)

// Products lists every product in the order listings use.
var Products = []string{ProductReturn, ProductVol, ProductQuantiles, ProductPUp}

// Baseline names: the Name of version 0 of each product (EnsureBaseline).
// They are ml's names for the same forecasts (ml.BaselineLastRV, …).
const (
	BaselineName          = "zero-return"      // return: a zero log return (the last price persists)
	BaselineVolName       = "last-rv"          // vol: the realized vol of the last h candles
	BaselineQuantilesName = "last-rv-gaussian" // quantiles: NormInv(q)·σ, σ the last-rv vol
	BaselinePUpName       = "climatology"      // p_up: a constant rate, Params["p_up"]
)

// ParamPUp is the Params key of a climatology's up-rate.
const ParamPUp = "p_up"

// baselines are version 0 of each product, as EnsureBaseline writes it.
var baselines = map[string]struct {
	name, reason string
	params       map[string]string
}{
	"":               {BaselineName, "baseline: predicts a zero log return (the last price persists)", nil},
	ProductVol:       {BaselineVolName, "baseline: predicts the realized volatility of the last h candles", nil},
	ProductQuantiles: {BaselineQuantilesName, "baseline: Gaussian quantiles scaled by the last h candles' realized volatility", nil},
	ProductPUp:       {BaselinePUpName, "baseline: predicts an up-move probability of 0.5", map[string]string{ParamPUp: "0.5"}},
}

// BaselineOf is the Name of version 0 of product (any spelling NormalizeProduct accepts).
func BaselineOf(product string) string {
	p, err := NormalizeProduct(product)
	if err != nil {
		return ""
	}
	return baselines[p].name
}

// NormalizeProduct returns the stored spelling of a product: "" for the
// return product ("" or "return"), the name itself for the others.
func NormalizeProduct(p string) (string, error) {
	switch p = strings.ToLower(strings.TrimSpace(p)); p {
	case "", ProductReturn:
		return "", nil
	case ProductVol, ProductQuantiles, ProductPUp:
		return p, nil
	}
	return "", fmt.Errorf("product %q: want one of %s: %w", p, strings.Join(Products, ", "), market.ErrInvalid)
}

// ProductName is how people read a stored product: "return" for "".
func ProductName(p string) string {
	if p == "" {
		return ProductReturn
	}
	return p
}

// productOrder sorts products as Products lists them.
func productOrder(p string) int { return slices.Index(Products, ProductName(p)) }
