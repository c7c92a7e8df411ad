package ml

import (
	"errors"
	"math"
	"testing"

	"github.com/tickcast/tickcast/market"
)

// The fixtures here are hand-made: a feature row of 0.01 everywhere
// (ret_1 −0.03), a hand-written HAR, boosters' raw outputs chosen so the
// figures are easy to check by hand.

func ruleRow() []float64 {
	v := make([]float64, market.NumFeatures)
	for i := range v {
		v[i] = 0.01
	}
	v[market.FRet1] = -0.03
	return v
}

func withValue(i int, x float64) []float64 {
	v := ruleRow()
	v[i] = x
	return v
}

func TestProductRuleEval(t *testing.T) {
	har := HAR{H: 5, Windows: HARWindows(5), Coef: []float64{0.001, 0.5, 0.1, 0, 0}}
	x, sc := 0.01, 0.02 // variables: the figures computed as Eval does, not constant-folded
	harVol := 0.001 + 0.5*x*math.Sqrt(1) + 0.1*x*math.Sqrt(5.0/60) + 0*x*math.Sqrt(5.0/240) + 0*x*math.Sqrt(5.0/1440)
	harZ := map[string]string{"z10": "-1.2", "z50": "0", "z90": "1.3"}
	for k, v := range har.Params() {
		harZ[k] = v
	}
	volZ := map[string]string{ParamVolTarget: "log", ParamVolScale: "0.02", "z10": "-1.2", "z50": "0.1", "z90": "1.3"}
	nan := math.NaN()
	tests := []struct {
		name, product, model string
		h                    int
		params               map[string]string
		values               []float64
		raw                  float64
		booster              bool
		want                 [3]float64
		ok                   bool
	}{
		{"zero-return", ProductReturn, BaselineZero, 5, nil, ruleRow(), nan, false, [3]float64{0, 0, 0}, true},
		{"return booster", ProductReturn, ModelXGBoost, 5, nil, ruleRow(), 0.001, true, [3]float64{0.001, 0, 0}, true},
		{"return booster NaN", ProductReturn, ModelXGBoost, 5, nil, ruleRow(), nan, true, [3]float64{}, false},
		{"last-rv h1 is |ret_1|", ProductVol, BaselineLastRV, 1, nil, ruleRow(), nan, false, [3]float64{0.03, 0, 0}, true},
		{"last-rv h5", ProductVol, BaselineLastRV, 5, nil, ruleRow(), nan, false, [3]float64{0.01, 0, 0}, true},
		{"last-rv feature missing", ProductVol, BaselineLastRV, 5, nil, withValue(market.FRVol5, nan), nan, false, [3]float64{}, false},
		{"har-rv", ProductVol, BaselineHAR, 5, har.Params(), ruleRow(), nan, false, [3]float64{harVol, 0, 0}, true},
		{"har-rv window missing", ProductVol, BaselineHAR, 5, har.Params(), withValue(market.FRVol60, nan), nan, false, [3]float64{}, false},
		{"xgboost vol", ProductVol, ModelXGBoost, 5, map[string]string{ParamVolTarget: "log", ParamVolScale: "1.5"}, ruleRow(), math.Log(0.02), true,
			[3]float64{math.Exp(math.Log(0.02)) * 1.5, 0, 0}, true},
		{"xgboost vol, no scale", ProductVol, ModelXGBoost, 5, map[string]string{ParamVolTarget: "log"}, ruleRow(), 0, true, [3]float64{1, 0, 0}, true},
		{"xgboost vol NaN output", ProductVol, ModelXGBoost, 5, map[string]string{ParamVolTarget: "log"}, ruleRow(), nan, true, [3]float64{}, false},
		{"last-rv-gaussian", ProductQuantiles, BaselineLastRVGaussian, 5, nil, ruleRow(), nan, false,
			[3]float64{NormInv(0.1) * 0.01, NormInv(0.5) * 0.01, NormInv(0.9) * 0.01}, true},
		{"har-gaussian", ProductQuantiles, BaselineHARGaussian, 5, harZ, ruleRow(), nan, false, [3]float64{-1.2 * harVol, 0, 1.3 * harVol}, true},
		{"xgboost-vol-z", ProductQuantiles, ModelXGBoostVolZ, 5, volZ, ruleRow(), 0, true, [3]float64{-1.2 * sc, 0.1 * sc, 1.3 * sc}, true},
		{"xgboost-vol-z overflow", ProductQuantiles, ModelXGBoostVolZ, 5, volZ, ruleRow(), 1000, true, [3]float64{}, false},
		{"climatology", ProductPUp, BaselineClimatology, 5, map[string]string{ParamPUp: "0.55"}, ruleRow(), nan, false, [3]float64{0.55, 0, 0}, true},
		{"p_up booster", ProductPUp, ModelXGBoost, 5, nil, ruleRow(), 0.7, true, [3]float64{0.7, 0, 0}, true},
		{"p_up booster above 1", ProductPUp, ModelXGBoost, 5, nil, ruleRow(), 1.2, true, [3]float64{}, false},
		{"p_up booster NaN", ProductPUp, ModelXGBoost, 5, nil, ruleRow(), nan, true, [3]float64{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewProductRule(tc.product, tc.model, tc.h, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if r.Product() != tc.product || r.Booster() != tc.booster {
				t.Errorf("product %q booster %v, want %q %v", r.Product(), r.Booster(), tc.product, tc.booster)
			}
			got, ok := r.Eval(tc.values, tc.raw)
			if ok != tc.ok {
				t.Fatalf("Eval = %v, %v; want ok %v", got, ok, tc.ok)
			}
			if ok && got != tc.want {
				t.Errorf("Eval = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewProductRuleErrors(t *testing.T) {
	har := HAR{H: 5, Windows: HARWindows(5), Coef: []float64{0.001, 0.5, 0.1, 0, 0}}
	z := func(z10, z50, z90 string) map[string]string {
		return map[string]string{ParamVolTarget: "log", "z10": z10, "z50": z50, "z90": z90}
	}
	tests := []struct {
		name, product, model string
		h                    int
		params               map[string]string
	}{
		{"unknown product", "spread", ModelXGBoost, 5, nil},
		{"unknown vol name", ProductVol, "ewma", 5, nil},
		{"unknown quantiles name", ProductQuantiles, "xgboost-pinball", 5, nil},
		{"unknown p_up name", ProductPUp, "coin", 5, nil},
		{"last-rv without a feature", ProductVol, BaselineLastRV, 7, nil},
		{"last-rv-gaussian without a feature", ProductQuantiles, BaselineLastRVGaussian, 7, nil},
		{"har params missing", ProductVol, BaselineHAR, 5, nil},
		{"har at another horizon", ProductVol, BaselineHAR, 15, har.Params()},
		{"vol target missing", ProductVol, ModelXGBoost, 5, map[string]string{}},
		{"vol target not log", ProductVol, ModelXGBoost, 5, map[string]string{ParamVolTarget: "level"}},
		{"vol scale zero", ProductVol, ModelXGBoost, 5, map[string]string{ParamVolTarget: "log", ParamVolScale: "0"}},
		{"vol scale negative", ProductVol, ModelXGBoost, 5, map[string]string{ParamVolTarget: "log", ParamVolScale: "-1"}},
		{"vol scale Inf", ProductVol, ModelXGBoost, 5, map[string]string{ParamVolTarget: "log", ParamVolScale: "+Inf"}},
		{"vol scale not a number", ProductVol, ModelXGBoost, 5, map[string]string{ParamVolTarget: "log", ParamVolScale: "x"}},
		{"z missing", ProductQuantiles, ModelXGBoostVolZ, 5, map[string]string{ParamVolTarget: "log"}},
		{"z NaN", ProductQuantiles, ModelXGBoostVolZ, 5, z("NaN", "0", "1")},
		{"z out of order", ProductQuantiles, ModelXGBoostVolZ, 5, z("1", "0", "-1")},
		{"har-gaussian without z", ProductQuantiles, BaselineHARGaussian, 5, har.Params()},
		{"climatology without a rate", ProductPUp, BaselineClimatology, 5, nil},
		{"climatology above 1", ProductPUp, BaselineClimatology, 5, map[string]string{ParamPUp: "1.5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewProductRule(tc.product, tc.model, tc.h, tc.params)
			if !errors.Is(err, market.ErrInvalid) {
				t.Fatalf("err = %v, want market.ErrInvalid", err)
			}
		})
	}
}
