package ml

import (
	"errors"
	"maps"
	"math"
	"testing"

	"github.com/tickcast/tickcast/market"
)

// The fixtures here are hand-made: a feature row of 0.01 everywhere
// (ret_1 −0.03), a hand-written HAR, hand-written tercile cut points and
// z's, boosters' raw outputs chosen so the figures are easy to check by
// hand.

// tercileParams is a hand-written xgboost-vol-z-terciles fixture: vol
// scale 0.02, cuts at vol 0.01 and 0.03, z's widening with the tercile.
func tercileParams() map[string]string {
	return map[string]string{ParamVolTarget: "log", ParamVolScale: "0.02", ParamVolCut1: "0.01", ParamVolCut2: "0.03",
		"z10_1": "-1", "z50_1": "0", "z90_1": "1", "z10_2": "-1.2", "z50_2": "0.1", "z90_2": "1.3", "z10_3": "-1.5", "z50_3": "-0.1", "z90_3": "1.6"}
}

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
	terc := tercileParams()
	lo, mid, hi := 0.5*sc, 1*sc, 2*sc // vol 0.01 (at cut1: tercile 1), 0.02, 0.04
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
		{"xgboost-vol-z ignores tercile params", ProductQuantiles, ModelXGBoostVolZ, 5, merge(volZ, terc), ruleRow(), 0, true,
			[3]float64{-1.2 * sc, 0.1 * sc, 1.3 * sc}, true},
		{"terciles: vol at cut1 is tercile 1", ProductQuantiles, ModelXGBoostVolZTerciles, 5, terc, ruleRow(), math.Log(0.5), true,
			[3]float64{-1 * lo, 0 * lo, 1 * lo}, true},
		{"terciles: middle", ProductQuantiles, ModelXGBoostVolZTerciles, 5, terc, ruleRow(), 0, true,
			[3]float64{-1.2 * mid, 0.1 * mid, 1.3 * mid}, true},
		{"terciles: above cut2", ProductQuantiles, ModelXGBoostVolZTerciles, 5, terc, ruleRow(), math.Log(2), true,
			[3]float64{-1.5 * hi, -0.1 * hi, 1.6 * hi}, true},
		{"terciles: NaN output", ProductQuantiles, ModelXGBoostVolZTerciles, 5, terc, ruleRow(), nan, true, [3]float64{}, false},
		{"terciles: overflow", ProductQuantiles, ModelXGBoostVolZTerciles, 5, terc, ruleRow(), 1000, true, [3]float64{}, false},
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
		{"terciles: old vol-z params only", ProductQuantiles, ModelXGBoostVolZTerciles, 5, z("-1", "0", "1")},
		{"terciles: cut missing", ProductQuantiles, ModelXGBoostVolZTerciles, 5, without(tercileParams(), ParamVolCut2)},
		{"terciles: cuts out of order", ProductQuantiles, ModelXGBoostVolZTerciles, 5, merge(tercileParams(), map[string]string{ParamVolCut1: "0.05"})},
		{"terciles: cut Inf", ProductQuantiles, ModelXGBoostVolZTerciles, 5, merge(tercileParams(), map[string]string{ParamVolCut2: "+Inf"})},
		{"terciles: a z missing", ProductQuantiles, ModelXGBoostVolZTerciles, 5, without(tercileParams(), "z50_3")},
		{"terciles: z out of order", ProductQuantiles, ModelXGBoostVolZTerciles, 5, merge(tercileParams(), map[string]string{"z10_2": "0.2"})},
		{"terciles: vol target missing", ProductQuantiles, ModelXGBoostVolZTerciles, 5, without(tercileParams(), ParamVolTarget)},
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

func merge(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func without(p map[string]string, k string) map[string]string {
	p = maps.Clone(p)
	delete(p, k)
	return p
}

// A VolZ written as params reads back into the same rule: the cut points
// and z's round-trip exactly (the figures training scored are the ones
// served); GlobalVolZ puts every vol in one tercile.
func TestVolZTercileParams(t *testing.T) {
	v := VolZ{Cut: [2]float64{0.1 / 3, 2.0 / 3}, Z: [3][3]float64{{-1.1, 0.01, 1.2}, {-1.3, 0, 1.25}, {-1.7, -0.02, 1.9}}} // fixture
	p := v.TercileParams()
	if len(p) != 11 || p["z90_3"] != "1.9" || p[ParamVolCut1] == "" {
		t.Fatalf("params %v", p)
	}
	p[ParamVolTarget] = VolTargetLog
	r, err := NewProductRule(ProductQuantiles, ModelXGBoostVolZTerciles, 5, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.vz != v {
		t.Errorf("read back %+v, want %+v", r.vz, v)
	}
	for _, sigma := range []float64{0.01, v.Cut[0], 0.5, v.Cut[1], 3} {
		got, ok := r.Eval(ruleRow(), math.Log(sigma))
		if want := v.Quantiles(math.Exp(math.Log(sigma))); !ok || got != want {
			t.Errorf("σ %v: Eval %v %v, want %v", sigma, got, ok, want)
		}
	}
	g := GlobalVolZ([3]float64{-1, 0, 1})
	if g.Tercile(1e300) != 0 || g.Quantiles(2) != [3]float64{-2, 0, 2} {
		t.Errorf("global: tercile %d, quantiles %v", g.Tercile(1e300), g.Quantiles(2))
	}
}
