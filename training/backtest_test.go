package training

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
)

// TestBacktestDayRealRows backtests days 4 and 5 of 5 real ETH/USDT days
// (h = 5, small boosters): no fit or update sees a label from the day it is
// scored on, the retrain fitted on the whole series equals the one fitted
// on the rows before the day, a day's result is deterministic, and the
// aggregate holds every product.
func TestBacktestDayRealRows(t *testing.T) {
	d := realfeatures.BinanceKlines(t, realdata.BinanceETH90d, "ETH/USDT", 5*1440+10)
	ds, err := ml.Build(d.Rows, d.Candles, 5)
	if err != nil {
		t.Fatal(err)
	}
	s := BacktestSeries{DS: ds, Candles: d.Candles}
	day0 := ds.TS[0].Truncate(24 * time.Hour)
	day4, day5 := day0.Add(3*24*time.Hour), day0.Add(4*24*time.Hour)
	fit := BacktestFit{Rounds: 30, Threads: 2}
	frozen, err := FitBacktestModel(t.Context(), s, fit, day4)
	if err != nil {
		t.Fatal(err)
	}
	in := BacktestDayInput{Pair: ds.Pair, Horizon: 5, Fit: fit, Frozen: frozen, Series: &s,
		Update:       BacktestPolicy{Method: UpdateRefresh, Window: 1440, Every: 240},
		Alternatives: []BacktestPolicy{{Method: UpdateContinue, Trees: 2, Window: 1440, Every: 360}}}
	var results []BacktestDayResult
	for _, day := range []time.Time{day4, day5} {
		in.Day = day
		r, err := BacktestDay(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		checkNoLookAhead(t, ds, r)
		results = append(results, r)
	}
	r4 := results[0]
	if r4.Losses[ProductVol][BacktestFrozen] != r4.Losses[ProductVol][BacktestRetrain] {
		t.Errorf("day 4: frozen %v ≠ retrain %v, both fitted before day 4", r4.Losses[ProductVol][BacktestFrozen], r4.Losses[ProductVol][BacktestRetrain])
	}
	checkTruncatedFit(t, s, fit, day5)
	in.Day = day5
	again, err := BacktestDay(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := dayJSON(t, again), dayJSON(t, results[1]); !bytes.Equal(a, b) {
		t.Errorf("day 5 not deterministic:\n%s\n%s", a, b)
	}
	checkAggregate(t, results)
}

// checkNoLookAhead fails if a fit's or an update's rows were labelled
// after the day started (or the step), or the day's rows are off the day.
func checkNoLookAhead(t *testing.T, ds ml.Dataset, r BacktestDayResult) {
	t.Helper()
	if r.Retrain.LastLabel.After(r.Day) || r.Retrain.Valid.Hi > r.Scored.Lo || r.Retrain.Train.Hi > r.Retrain.Valid.Lo-ds.Horizon {
		t.Errorf("%s: retrain train %v valid %v last label %s, scored rows from %d", r.Day, r.Retrain.Train, r.Retrain.Valid, r.Retrain.LastLabel, r.Scored.Lo)
	}
	if ds.TS[r.Scored.Lo].Before(r.Day) || !ds.TS[r.Scored.Hi-1].Before(r.Day.Add(24*time.Hour)) || r.Rows < 1400 {
		t.Errorf("%s: scored rows %v (%s … %s), %d scored", r.Day, r.Scored, ds.TS[r.Scored.Lo], ds.TS[r.Scored.Hi-1], r.Rows)
	}
	for k, st := range r.Updates {
		if st.MaxLead > 0 || st.Updates == 0 || st.Steps == 0 {
			t.Errorf("%s %s: %+v", r.Day, k, st)
		}
	}
	for _, p := range []string{ProductVol, ProductQuantiles, ProductPUp} {
		if len(r.Losses[p]) < 4 {
			t.Errorf("%s %s: losses %v", r.Day, p, r.Losses[p])
		}
	}
}

// checkTruncatedFit: the retrain for day fitted on a series cut at day's
// start (rows and candles) is the same model, booster for booster.
func checkTruncatedFit(t *testing.T, s BacktestSeries, fit BacktestFit, day time.Time) {
	t.Helper()
	full, err := FitBacktestModel(t.Context(), s, fit, day)
	if err != nil {
		t.Fatal(err)
	}
	n := firstAtOrAfter(s.DS, day)
	var cs []market.Candle
	for _, c := range s.Candles {
		if !c.End.After(day) {
			cs = append(cs, c)
		}
	}
	cut, err := FitBacktestModel(t.Context(), BacktestSeries{DS: s.DS.Slice(0, n), Candles: cs}, fit, day)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(full.Vol, cut.Vol) || !bytes.Equal(full.PUp, cut.PUp) || full.VolScale != cut.VolScale || full.Z != cut.Z {
		t.Errorf("the fit for %s changes when the rows from it on are cut: scale %g vs %g", day, full.VolScale, cut.VolScale)
	}
}

func dayJSON(t *testing.T, r BacktestDayResult) []byte {
	t.Helper()
	r.Seconds, r.FitSecs, r.Retrain.Seconds = 0, 0, 0
	for k, st := range r.Updates {
		st.Seconds = 0
		r.Updates[k] = st
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkAggregate(t *testing.T, results []BacktestDayResult) {
	t.Helper()
	rep := BacktestAggregate(results)
	if len(rep.Series) != 1 || len(rep.Series[0].Products) != 3 || len(rep.Pooled.Products) != 3 {
		t.Fatalf("report: %+v", rep)
	}
	for _, p := range rep.Series[0].Products {
		if p.Baseline == "" || len(p.Daily[BacktestUpdated]) != 2 || len(p.Skill) != 3 || len(p.Diffs) != 2 {
			t.Errorf("%s: %+v", p.Product, p)
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
	if svg := BacktestVolSVG(rep); !bytes.Contains(svg, []byte("<polyline")) {
		t.Errorf("svg without lines: %s", svg)
	}
	pol, scores := ChooseUpdatePolicy(results, BacktestDayInput{Update: BacktestPolicy{Method: UpdateRefresh, Window: 1440, Every: 240},
		Alternatives: []BacktestPolicy{{Method: UpdateContinue, Trees: 2, Window: 1440, Every: 360}}})
	if len(scores) != 3 || pol.Method == UpdateOff {
		t.Errorf("policy %+v from %+v", pol, scores)
	}
	t.Logf("policies %+v; vol %+v", scores, rep.Series[0].Products[0].Skill)
}
