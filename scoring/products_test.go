package scoring

import (
	"math"
	"testing"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
)

// rvRow is a row whose realized vol over 5 candles (rvol_5) is rv.
func rvRow(m int, close, rv float64) market.FeatureRow {
	r := row("ETH/USDT", m, close)
	r.Values[market.FRVol5] = rv
	return r
}

// The products are scored on the same rows as their baselines: vol MAE
// against the target row's realized vol beside last-rv (the as-of row's),
// band coverage beside the last-rv Gaussian band's, Brier on closes that
// moved beside 0.5's. Hand-worked: σ = 0.01 at the as-of rows.
func TestProductScores(t *testing.T) {
	s := newScorer(t, Config{})
	withProducts := func(asOf int, vol, p10, p90, up float64) predict.Prediction {
		p := pred("ETH/USDT", 5, asOf, 100, 0, 1)
		p.Vol = &predict.Forecast{Value: vol, Model: predict.ModelRef{Name: "xgboost", Version: 2}}
		p.Quantiles = &predict.Quantiles{P10: p10, P50: 100, P90: p90, Model: predict.ModelRef{Name: "xgboost-vol-z", Version: 2}}
		p.PUp = &predict.Forecast{Value: up, Model: predict.ModelRef{Name: "xgboost", Version: 3}}
		return p
	}
	feed(s, []any{
		rvRow(0, 100, 0.01), withProducts(0, 0.012, 99, 101, 0.6),
		rvRow(1, 100, 0.01), withProducts(1, 0.02, 99.5, 100.5, 0.3),
		rvRow(2, 100, 0.01), withProducts(2, 0.015, 99, 101, 0.9),
		rvRow(5, 100.2, 0.015), // realizes minute 0: up, inside both bands (|ln 1.002| < 1.2816·0.01)
		rvRow(6, 101, 0.03),    // minute 1: up, outside its band (101 > 100.5), inside the baseline's (ln 1.01 < 1.2816·0.01)
		rvRow(7, 100, 0.02),    // minute 2: unchanged close: no Brier; inside both bands
	})
	sc := s.Scores()
	if len(sc) != 1 {
		t.Fatalf("scores %+v", sc)
	}
	ps := sc[0].Products
	// vol: |0.012−0.015|, |0.02−0.03|, |0.015−0.02|; last-rv 0.01 each: 0.005, 0.02, 0.01.
	if ps.VolN != 3 || !near(ps.VolMAE, (0.003+0.01+0.005)/3) || !near(ps.VolBaselineMAE, (0.005+0.02+0.01)/3) {
		t.Errorf("vol %+v", ps)
	}
	// band: in, out (101 > 100.5), in; baseline: in, in (0.00995 ≤ 0.0128), in.
	if ps.BandN != 3 || !near(ps.BandCoverage, 2.0/3) || !near(ps.BandBaselineCov, 1) {
		t.Errorf("band %+v", ps)
	}
	// Brier: (0.6−1)², (0.3−1)² on the two that moved; 0.25 for 0.5.
	if ps.BrierN != 2 || !near(ps.Brier, (0.16+0.49)/2) || ps.BrierBaseline != 0.25 {
		t.Errorf("brier %+v", ps)
	}
	if r := s.Recent("ETH-USDT", 5, 0); len(r) != 3 || r[0].Vol == nil || r[0].Quantiles.P90 != 101 {
		t.Errorf("recent %+v", r)
	}
}

// A prediction without products, or recorded without its as-of row seen
// (an API replica's), leaves the products unscored: never a made-up baseline.
func TestProductScoresNeedTheirRows(t *testing.T) {
	s := newScorer(t, Config{})
	p := pred("ETH/USDT", 5, 0, 100, 0, 1)
	p.Vol = &predict.Forecast{Value: 0.01}
	feed(s, []any{p, pred("ETH/USDT", 5, 1, 100, 0, 1), rvRow(5, 101, 0.02), rvRow(6, 101, math.NaN())})
	if ps := s.Scores()[0].Products; ps != (ProductScore{}) {
		t.Errorf("products scored without their rows: %+v", ps)
	}
}

// OnVolScored hears of each vol forecast once, on its first scoring (a
// corrected row re-scores without telling it again), with both errors and
// last-rv's forecast; hand-written fixture rows as above.
func TestOnVolScored(t *testing.T) {
	var got []VolScore
	s := newScorer(t, Config{OnVolScored: func(v VolScore) { got = append(got, v) }})
	p := pred("ETH/USDT", 5, 0, 100, 0, 1)
	p.Vol = &predict.Forecast{Value: 0.012}
	feed(s, []any{rvRow(0, 100, 0.01), p, rvRow(5, 100.2, 0.015), rvRow(5, 100.3, 0.016)})
	if len(got) != 1 {
		t.Fatalf("told %d times, want once: %+v", len(got), got)
	}
	v := got[0]
	if v.Pair != "ETH-USDT" || v.Horizon != 5 || !v.At.Equal(minute(5)) || !near(v.ModelErr, 0.003) || !near(v.BaselineErr, 0.005) || v.Baseline != 0.01 {
		t.Errorf("%+v", v)
	}
}
