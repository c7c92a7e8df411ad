package training

import (
	"testing"

	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
)

// Registering a products run: per product, the model and its fitted
// baseline are versions of the product's series, the champion is the model
// when the gate passed and the baseline otherwise, and a retry adds nothing.
func TestRegisterProducts(t *testing.T) {
	dir, info, ds, sp := weekDataset(t)
	candles, err := ReadCandles(dir, ds)
	if err != nil {
		t.Fatal(err)
	}
	report := ReportDir(dir, ds.Pair, ds.Horizon, "reg")
	res, err := TrainProducts(t.Context(), ds, sp, candles, ProductsRequest{ReportDir: report, Params: sampleParams(), Rounds: 40, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	// One product passes and one fails whatever the week's figures: the rule is tested, not the data.
	res.Products[0].Gate.Pass, res.Products[2].Gate.Pass = true, false
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	in := RegisterProductsRequest{Pair: ds.Pair, Horizon: ds.Horizon, ReportDir: report, Dataset: info, Products: res.Products}
	got, err := RegisterProducts(t.Context(), reg, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := RegisterProducts(t.Context(), reg, in)
	if err != nil || len(got) != 3 || len(again) != 3 {
		t.Fatalf("registered %+v, again %+v (%v)", got, again, err)
	}
	for i, p := range got {
		s := registry.Series{Pair: ds.Pair, Horizon: ds.Horizon, Product: p.Product}
		vs, err := reg.ListIn(t.Context(), s)
		if err != nil || len(vs) != 3 || again[i] != p {
			t.Fatalf("%s: versions %+v (%v), again %+v", p.Product, vs, err, again[i])
		}
		champ, err := reg.GetIn(t.Context(), s, registry.Champion)
		if err != nil || champ.Version != p.Champion {
			t.Fatalf("%s: champion %+v (%v), want v%d", p.Product, champ, err, p.Champion)
		}
		base, err := reg.VersionIn(t.Context(), s, p.BaselineVersion)
		if err != nil || base.Name != res.Products[i].Baseline || base.Params == nil || base.Artifact != "" {
			t.Errorf("%s: baseline %+v (%v)", p.Product, base, err)
		}
		model, err := reg.VersionIn(t.Context(), s, p.Version)
		if err != nil || model.Name != res.Products[i].Name || model.Artifact == "" || model.Metrics[metricModelLoss] == 0 {
			t.Errorf("%s: model %+v (%v)", p.Product, model, err)
		}
	}
	if !got[0].Promoted || got[0].Champion != got[0].Version || got[2].Promoted || got[2].Champion != got[2].BaselineVersion {
		t.Errorf("promotions %+v", got)
	}
	if _, err := ml.HARFromParams(mustVersion(t, reg, ds.Pair, ds.Horizon, ProductVol, got[0].BaselineVersion).Params); err != nil {
		t.Errorf("the HAR baseline's params do not decode: %v", err)
	}
}

func mustVersion(t *testing.T, reg *registry.Registry, pair string, h int, product string, v int) registry.Meta {
	t.Helper()
	m, err := reg.VersionIn(t.Context(), registry.Series{Pair: pair, Horizon: h, Product: product}, v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A passing product is still held back by a fitted champion whose recorded
// test loss is lower; a baseline champion, or this run's own version, is
// not compared.
func TestProductGateChampion(t *testing.T) {
	p := ProductOutcome{Product: ProductVol, Name: modelName, Baseline: ml.BaselineHAR, Gate: GateDecision{Pass: true, Metric: "mae", Reason: "beats har-rv"},
		Metrics: map[string]float64{metricModelLoss: 2}}
	fitted := registry.Meta{Version: 4, Name: "xgboost", ReportDir: "/r/old", Metrics: map[string]float64{metricModelLoss: 1}}
	if pass, reason := productGate(p, fitted, "/r/new", GateScores{}, "no test rows given"); pass || reason == "" {
		t.Errorf("passed against a better recorded champion: %q", reason)
	}
	if pass, _ := productGate(p, fitted, "/r/old", GateScores{}, "no test rows given"); !pass {
		t.Error("a retry compared the model with itself")
	}
	if pass, _ := productGate(p, registry.Meta{Name: ml.BaselineHAR, Metrics: map[string]float64{metricModelLoss: 1}}, "/r/new", GateScores{}, "no test rows given"); !pass {
		t.Error("compared with a baseline champion's recorded loss")
	}
	fitted.Metrics[metricModelLoss] = 3
	if pass, _ := productGate(p, fitted, "/r/new", GateScores{}, "no test rows given"); !pass {
		t.Error("rejected against a worse recorded champion")
	}
	p.Gate.Pass = false
	if pass, _ := productGate(p, registry.Meta{Name: "last-rv"}, "/r/new", GateScores{}, "no test rows given"); pass {
		t.Error("a failing gate passed")
	}
}
