package drift

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/tickcast/tickcast/market"
)

// rows returns n warm rows whose monitored values are f(i) (NaN for the
// cross-pair features, always missing).
func rows(n int, f func(i int) float64) []market.FeatureRow {
	out := make([]market.FeatureRow, n)
	for i := range out {
		out[i].Warm, out[i].SchemaVersion = true, market.FeatureSchemaVersion
		for j := range market.NumFeatures {
			out[i].Values[j] = f(i)
			if market.FeatureNames[j][:3] == "xp_" {
				out[i].Values[j] = math.NaN()
			}
		}
	}
	return out
}

func TestReference(t *testing.T) {
	ref, err := NewReference(rows(1000, func(i int) float64 { return float64(i % 100) }))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ref.Features {
		if !Monitored(f.Index) || f.Name[:3] == "xp_" {
			t.Errorf("feature %s should be left out", f.Name)
		}
		if len(f.Edges) != NumBins-1 || len(f.Shares) != NumBins+1 {
			t.Fatalf("%s: %d edges, %d shares", f.Name, len(f.Edges), len(f.Shares))
		}
		for b, s := range f.Shares[:NumBins] {
			if math.Abs(s-0.1) > 0.011 {
				t.Errorf("%s bin %d share %g, want 0.1", f.Name, b, s)
			}
		}
	}
	if got, want := len(ref.Features), market.NumFeatures-4-6; got != want {
		t.Errorf("%d features, want %d", got, want)
	}
	b, _ := json.Marshal(ref)
	var back Reference
	if err := json.Unmarshal(b, &back); err != nil || back.Validate() != nil || len(back.Features) != len(ref.Features) {
		t.Fatalf("JSON round trip: %v, %v", err, back.Validate())
	}
	if _, err := NewReference(rows(5, func(int) float64 { return 1 })); err == nil {
		t.Error("5 rows: want an error")
	}
}

func TestBin(t *testing.T) {
	f := FeatureRef{Edges: []float64{1, 2, 3}}
	for _, c := range []struct {
		v    float64
		want int
	}{{0, 0}, {1, 0}, {1.5, 1}, {3, 2}, {4, 3}, {math.NaN(), 4}} {
		if got := f.Bin(c.v); got != c.want {
			t.Errorf("Bin(%g) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestPSIOf(t *testing.T) {
	e := []float64{0.5, 0.5, 0}
	for _, c := range []struct {
		name   string
		counts []int
		lo, hi float64
	}{
		{"same", []int{50, 50, 0}, 0, 1e-3},
		{"shifted", []int{100, 0, 0}, 1.5, 3},
		{"into an empty bin, finite", []int{0, 0, 100}, 3, 10},
	} {
		if got := PSIOf(e, c.counts, 0.5); got < c.lo || got > c.hi || math.IsInf(got, 0) {
			t.Errorf("%s: PSI %g, want in [%g, %g]", c.name, got, c.lo, c.hi)
		}
	}
}

func TestPSIFiresOncePerCrossing(t *testing.T) {
	train := rows(2000, func(i int) float64 { return float64(i % 100) })
	ref, _ := NewReference(train)
	cfg := PSIConfig{Window: 20, Threshold: 0.2, Quantile: 1, MinFeatures: 3, Smoothing: 0.5, Cooldown: 10}
	ref, err := Calibrate(ref, cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := NewPSI(ref, cfg)
	live := append(rows(100, func(i int) float64 { return float64(i * 37 % 100) }), rows(100, func(int) float64 { return 1000 })...)
	var fires []int
	for i, r := range live {
		if d := m.Add(r); d.Fire {
			fires = append(fires, i)
			if d.Kind != KindPSI || d.Figures["ret_1"] == 0 || d.Reason == "" {
				t.Errorf("decision %+v", d)
			}
		}
	}
	if len(fires) != 1 || fires[0] < 100 || fires[0] >= 100+cfg.Window {
		t.Errorf("fired at %v, want once within a window of 100", fires)
	}
}

func TestPageHinkley(t *testing.T) {
	cfg := PHConfig{Delta: 0.05, Lambda: 5, Clip: 3, MinScores: 20, Cooldown: 10}
	for _, c := range []struct {
		name  string
		x     func(i int) float64
		fires bool
	}{
		{"steady", func(i int) float64 { return float64(i%2) - 0.5 }, false},
		{"model gets worse", func(i int) float64 { return float64(i%2) - 0.5 + float64(i/100) }, true},
		{"model gets better", func(i int) float64 { return float64(i%2) - 0.5 - float64(i/100) }, false},
	} {
		p, _ := NewPageHinkley(cfg)
		first := -1
		for i := range 200 {
			if d := p.Add(c.x(i)); d.Fire && first < 0 {
				first = i
				if _, n := p.State(); n != 0 || d.Kind != KindError || d.Figures["ph"] <= 5 {
					t.Errorf("%s: after firing %+v, %d scores kept", c.name, d, n)
				}
			}
		}
		if (first >= 0) != c.fires || (c.fires && (first < 100 || first > 120)) {
			t.Errorf("%s: first fired at %d", c.name, first)
		}
	}
	if _, err := NewPageHinkley(PHConfig{}); err == nil {
		t.Error("zero config: want an error")
	}
}
