package predict

import (
	"context"
	"maps"
	"testing"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/xgboost"
)

// A champion of an older feature schema keeps serving after an upgrade: it
// reads the leading columns of today's rows (every schema appended to the
// one before), and its forecast equals XGBoost's on those columns.
func TestOlderSchemaChampionReadsTheLeadingColumns(t *testing.T) {
	const schema = 2
	cols := market.FeatureSchemaColumns[schema]
	d := loadReal(t)
	ds, err := ml.Build(d.rows[:trainUntil], d.candles, 1)
	if err != nil {
		t.Fatal(err)
	}
	x, y := ds.Float32(0, ds.Len())
	lead := make([]float32, 0, ds.Len()*cols)
	for i := range ds.Len() {
		lead = append(lead, x[i*ds.Cols:i*ds.Cols+cols]...)
	}
	m, err := xgboost.NewMatrix(lead, ds.Len(), cols, nan32())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.SetLabels(y); err != nil {
		t.Fatal(err)
	}
	params := xgboost.Params{"tree_method": "hist", "eta": "0.3", "nthread": "1", "seed": "1", "objective": "reg:squarederror", "base_score": "0", "max_depth": "3"}
	b, _, err := xgboost.Train(maps.Clone(params), m, xgboost.TrainOptions{Rounds: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	art, err := b.Save("ubj")
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	reg := openRegistry(t)
	if _, err := reg.EnsureBaseline(ctx, ethPair, 1); err != nil {
		t.Fatal(err)
	}
	old, err := reg.Register(ctx, registry.Meta{Pair: ethPair, Horizon: 1, Name: "xgboost", FeatureSchemaVersion: schema}, art)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SetAlias(ctx, ethPair, 1, registry.Champion, old.Version, "test"); err != nil {
		t.Fatal(err)
	}
	row := warmRow(t, 0)
	s := newService(t, Config{Registry: reg, Features: newLatest(row), Clock: &testClock{now: row.TS}})
	p, err := s.Predict(ctx, ethPair, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, cols)
	for i := range in {
		in[i] = float32(row.Values[i])
	}
	want, err := b.PredictDense(in, 1, cols)
	if err != nil {
		t.Fatal(err)
	}
	if p.Model.Version != old.Version || p.Degraded || p.PredictedReturn != float64(want[0]) {
		t.Errorf("served v%d %v degraded %v, want v%d %v", p.Model.Version, p.PredictedReturn, p.Degraded, old.Version, want[0])
	}
}
