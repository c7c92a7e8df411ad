package ml

import (
	"errors"
	"math"
	"testing"

	"github.com/tickcast/tickcast/market"
)

func TestHARParamsRoundTrip(t *testing.T) {
	m := HAR{H: 5, Windows: HARWindows(5), Coef: []float64{1e-5, 0.3, 0.2, 0.25, 0.15}}
	got, err := HARFromParams(m.Params())
	if err != nil {
		t.Fatal(err)
	}
	if got.H != m.H || len(got.Windows) != len(m.Windows) || len(got.Coef) != len(m.Coef) {
		t.Fatalf("round trip: %+v, want %+v", got, m)
	}
	for i := range m.Coef {
		if got.Coef[i] != m.Coef[i] {
			t.Fatalf("coef %d: %v, want %v", i, got.Coef[i], m.Coef[i])
		}
	}
}

func TestHARFromParamsInvalid(t *testing.T) {
	ok := HAR{H: 5, Windows: []int{5, 60}, Coef: []float64{0, 1, 1}}.Params()
	for name, edit := range map[string]func(map[string]string){
		"horizon":         func(p map[string]string) { p[ParamHARHorizon] = "0" },
		"window":          func(p map[string]string) { p[ParamHARWindows] = "5,x" },
		"no feature":      func(p map[string]string) { p[ParamHARWindows] = "5,7" },
		"coefficient NaN": func(p map[string]string) { p[ParamHARCoef] = "0,NaN,1" },
		"coef count":      func(p map[string]string) { p[ParamHARCoef] = "0,1" },
		"missing":         func(p map[string]string) { delete(p, ParamHARCoef) },
	} {
		p := map[string]string{}
		for k, v := range ok {
			p[k] = v
		}
		edit(p)
		if _, err := HARFromParams(p); !errors.Is(err, market.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

// The row prediction equals Predict over the close series when the row's
// realized-vol features are computed from the same closes (hand-made
// fixture: a zig-zag of closes).
func TestHARPredictRowMatchesSeries(t *testing.T) {
	closes := make([]float64, 1600)
	for i := range closes {
		closes[i] = 100 * math.Exp(0.001*math.Sin(float64(i)*0.7)+0.0005*float64(i%3))
	}
	m := HAR{H: 5, Windows: HARWindows(5), Coef: []float64{1e-5, 0.4, 0.3, 0.2, 0.1}}
	series := m.Predict(SquaredReturnSums(closes))
	tt := len(closes) - 1
	values := make([]float64, market.NumFeatures)
	for _, w := range m.Windows {
		i, _ := RVolFeature(w)
		values[i] = PastVol(SquaredReturnSums(closes), w)[tt]
	}
	got, ok := m.PredictRow(values)
	if !ok || math.Abs(got-series[tt]) > 1e-12 {
		t.Fatalf("PredictRow %v (ok %v), series %v", got, ok, series[tt])
	}
	values[market.FRVol1440] = math.NaN()
	if _, ok := m.PredictRow(values); ok {
		t.Fatal("a missing window must not predict")
	}
}
