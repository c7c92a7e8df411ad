package ml

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/tickcast/tickcast/market"
)

// Missing values (hand-written fixture): NaN in a feature that may be
// missing keeps the row (XGBoost takes NaN as missing) and is counted per
// feature; NaN in any other feature, and ±Inf anywhere, drops the row.
func TestBuildMissingFeatures(t *testing.T) {
	rows, candles := fxData([]float64{100, 101, 102, 100, 99, 105, 104})
	rows[0].Values[market.FImbalance] = math.NaN()    // kept
	rows[0].Values[market.FRVol1440] = math.NaN()     // kept
	rows[1].Values[market.FRVol1440] = math.NaN()     // kept
	rows[2].Values[market.FRVol5] = math.NaN()        // dropped: required
	rows[3].Values[market.FImbalance] = math.Inf(1)   // dropped: Inf
	rows[4].Values[market.FTradeCount] = math.Inf(-1) // dropped: Inf
	d, err := Build(rows, candles, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := BuildStats{Rows: 7, Kept: 2, NonFinite: 3, NoFuture: 2}
	want.Missing[market.FImbalance], want.Missing[market.FRVol1440] = 1, 2
	if d.Stats != want {
		t.Errorf("stats %+v, want %+v", d.Stats, want)
	}
	if x := d.Row(0); !math.IsNaN(x[market.FImbalance]) || !math.IsNaN(x[market.FRVol1440]) || x[market.FRet1] != 0 {
		t.Errorf("row 0 = %v: want its NaNs kept", x)
	}
	b, err := json.Marshal(d.Stats)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"rows":7,"kept":2,"not_warm":0,"non_finite":3,"no_candle":0,"no_future":2,"missing":{"imbalance":1,"rvol_1440":2}}`
	if string(b) != wantJSON {
		t.Errorf("JSON %s\nwant %s", b, wantJSON)
	}
	var back BuildStats
	if err := json.Unmarshal(b, &back); err != nil || back != d.Stats {
		t.Errorf("JSON round trip: %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"missing":{"no_such_feature":1}}`), &back); err == nil {
		t.Error("an unknown feature name in missing: want an error")
	}
	if s := d.Stats.Missing.String(); s != "{imbalance=1 rvol_1440=2}" {
		t.Errorf("String() = %q", s)
	}
}

// Every feature the market may leave missing is one Build keeps.
func TestMissingFeaturesAreDeclared(t *testing.T) {
	n := 0
	for f, may := range market.FeatureMayBeMissing {
		var v [market.NumFeatures]float64
		v[f] = math.NaN()
		if usable(v[:]) != may {
			t.Errorf("%s: usable with NaN = %v, FeatureMayBeMissing %v", market.FeatureNames[f], !may, may)
		}
		if may {
			n++
		}
	}
	if n == 0 {
		t.Error("no feature may be missing")
	}
}
