package training

import (
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
)

// rescoreFixture is a products run on the real week, what re-scoring needs,
// and a fresh registry per case.
type rescoreFixture struct {
	info DatasetInfo
	res  ProductsResult
	data *ProductData
}

func newRescoreFixture(t *testing.T) rescoreFixture {
	t.Helper()
	dir, info, ds, sp := weekDataset(t)
	candles, err := ReadCandles(dir, ds)
	if err != nil {
		t.Fatal(err)
	}
	res, err := TrainProducts(t.Context(), ds, sp, candles, ProductsRequest{ReportDir: ReportDir(dir, ds.Pair, ds.Horizon, "champ"),
		Params: sampleParams(), Rounds: 40, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return rescoreFixture{info: info, res: res, data: &ProductData{Dataset: ds, Splits: sp, Candles: candles}}
}

// champion registers product outcome p of the fixture's run as the
// champion of a fresh registry's series, with recorded loss rec and
// feature schema schema.
func (f rescoreFixture) champion(t *testing.T, p ProductOutcome, rec float64, schema int) (*registry.Registry, registry.Meta) {
	t.Helper()
	reg, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	art, err := os.ReadFile(p.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := reg.Register(t.Context(), registry.Meta{Pair: f.data.Dataset.Pair, Horizon: f.data.Dataset.Horizon, Product: p.Product,
		Name: p.Name, Params: p.Params, Metrics: map[string]float64{metricModelLoss: rec}, ReportDir: "/runs/older",
		FeatureSchemaVersion: schema}, art)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SetAliasIn(t.Context(), m.Series(), registry.Champion, m.Version, "older run"); err != nil {
		t.Fatal(err)
	}
	return reg, m
}

func (f rescoreFixture) register(t *testing.T, reg *registry.Registry, report string, p ProductOutcome) ProductPromotion {
	t.Helper()
	p.Gate.Pass = true // the baselines' rule is tested elsewhere: here the champion's
	got, err := RegisterProducts(t.Context(), reg, RegisterProductsRequest{Pair: f.data.Dataset.Pair, Horizon: f.data.Dataset.Horizon,
		ReportDir: report, Dataset: f.info, Products: []ProductOutcome{p}, Data: f.data})
	if err != nil || len(got) != 1 {
		t.Fatalf("register %s: %+v (%v)", p.Product, got, err)
	}
	return got[0]
}

// The current product champion is re-scored on the candidate's test rows
// with the code that serves it: a champion recorded with a poor loss but
// better on these rows keeps a worse candidate out (the reason names the
// re-scored figure, which is the champion's true test loss here); an equal
// candidate passes; a champion of an older feature schema falls back to its
// recorded loss, and the reason says why; a retry registers nothing twice.
func TestRegisterProductsRescoresChampion(t *testing.T) {
	f := newRescoreFixture(t)
	ctx := t.Context()

	t.Run("equal candidate passes on the re-scored figure", func(t *testing.T) {
		for _, p := range f.res.Products {
			if p.Name == ModelNamePinball {
				continue
			}
			loss := p.Metrics[metricModelLoss]
			reg, champ := f.champion(t, p, 1e-12, market.FeatureSchemaVersion) // recorded far better than it is
			got := f.register(t, reg, "/runs/new", p)
			want := fmt.Sprintf("champion v%d (%s)'s %.6g, re-scored on the same", champ.Version, champ.Name, loss)
			if !got.Promoted || got.Champion != got.Version || !strings.Contains(got.Reason, want) {
				t.Errorf("%s: %+v, want promoted with %q", p.Product, got, want)
			}
		}
	})

	t.Run("worse candidate is rejected on the re-scored figure", func(t *testing.T) {
		p := f.res.Products[0]
		if p.Product != ProductVol {
			t.Fatalf("products %+v", f.res.Products)
		}
		reg, champ := f.champion(t, p, 1, market.FeatureSchemaVersion) // recorded far worse than it is
		scale, err := strconv.ParseFloat(p.Params[ParamVolScale], 64)
		if err != nil {
			t.Fatal(err)
		}
		worse := p
		worse.Params = maps.Clone(p.Params)
		worse.Params[ParamVolScale] = strconv.FormatFloat(3*scale, 'g', -1, 64)
		got := f.register(t, reg, "/runs/worse", worse)
		t.Logf("%+v", got)
		want := fmt.Sprintf("is above champion v%d (xgboost)'s %.6g, re-scored on the same", champ.Version, p.Metrics[metricModelLoss])
		if got.Promoted || got.Champion == got.Version || !strings.Contains(got.Reason, want) {
			t.Fatalf("%+v, want rejected with %q", got, want)
		}
		s := champ.Series()
		ch, err := reg.GetIn(ctx, s, registry.Challenger)
		if err != nil || ch.Version != got.Version || ch.Reason != got.Reason {
			t.Errorf("challenger %+v (%v)", ch, err)
		}
		before, err := reg.ListIn(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		again := f.register(t, reg, "/runs/worse", worse)
		after, err := reg.ListIn(ctx, s)
		if err != nil || again != got || len(after) != len(before) {
			t.Errorf("retry: %+v, want %+v; %d versions, then %d (%v)", again, got, len(before), len(after), err)
		}
	})

	t.Run("older schema falls back to the recorded loss", func(t *testing.T) {
		p := f.res.Products[2]
		if p.Product != ProductPUp {
			t.Fatalf("products %+v", f.res.Products)
		}
		reg, champ := f.champion(t, p, 1e-6, market.FeatureSchemaVersion-1)
		got := f.register(t, reg, "/runs/new", p)
		want := fmt.Sprintf("above champion v%d's recorded 1e-06 (champion v%d not re-scored: feature schema %d, the dataset's is %d)",
			champ.Version, champ.Version, market.FeatureSchemaVersion-1, market.FeatureSchemaVersion)
		if got.Promoted || got.Champion != got.BaselineVersion || !strings.Contains(got.Reason, want) {
			t.Fatalf("%+v, want rejected with %q", got, want)
		}
		before, err := reg.ListIn(ctx, champ.Series())
		if err != nil {
			t.Fatal(err)
		}
		again := f.register(t, reg, "/runs/new", p)
		after, err := reg.ListIn(ctx, champ.Series())
		if err != nil || again != got || len(after) != len(before) {
			t.Errorf("retry: %+v, want %+v; %d versions, then %d (%v)", again, got, len(before), len(after), err)
		}
	})
}
