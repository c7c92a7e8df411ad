package scoring

import (
	"math"
	"testing"
	"time"

	"github.com/tickcast/tickcast/predict"
)

// The predictions and rows below are hand-written fixtures (round prices,
// one-minute candles): the windows' sums can be checked by hand.

// TestPrequentialWindows checks the window arithmetic: a scored prediction
// counts in the windows whose span, ending at the market clock, holds its
// target time, and leaves them at the edge; a corrected row replaces its
// old losses, also once it left the 1 h window.
func TestPrequentialWindows(t *testing.T) {
	l11, l105 := math.Log(1.1), math.Log(1.05)
	type want struct {
		n1h, n1d                       int
		loss1h, base1h, loss1d, base1d float64
	}
	tests := []struct {
		name  string
		steps []any
		want  want
	}{
		{
			name:  "scored: n, losses and skill",
			steps: []any{pred("ETH-USDT", 1, 0, 100, l105, 1), pred("ETH-USDT", 1, 1, 100, 0.01, 1), row("ETH/USDT", 1, 110), row("ETH/USDT", 2, 100)},
			// |l105−l11| and |0.01−0|, beside |l11| and 0.
			want: want{2, 2, (l11 - l105 + 0.01) / 2, l11 / 2, (l11 - l105 + 0.01) / 2, l11 / 2},
		},
		{
			name:  "two versions at one as_of both count",
			steps: []any{pred("ETH-USDT", 1, 0, 100, l11, 1), pred("ETH-USDT", 1, 0, 100, 0, 2), row("ETH/USDT", 1, 110)},
			want:  want{2, 2, l11 / 2, l11, l11 / 2, l11},
		},
		{
			name:  "kept while the target is within the last 60 candles",
			steps: []any{pred("ETH-USDT", 1, 0, 100, 0, 1), row("ETH/USDT", 1, 110), row("ETH/USDT", 60, 100)},
			want:  want{1, 1, l11, l11, l11, l11},
		},
		{
			name:  "out of 1h one candle later, still in 1d",
			steps: []any{pred("ETH-USDT", 1, 0, 100, 0, 1), row("ETH/USDT", 1, 110), row("ETH/USDT", 61, 100)},
			want:  want{0, 1, 0, 0, l11, l11},
		},
		{
			name:  "another pair's row advances the market clock too",
			steps: []any{pred("ETH-USDT", 1, 0, 100, 0, 1), row("ETH/USDT", 1, 110), row("BTC/USD", 1440, 100)},
			want:  want{0, 1, 0, 0, l11, l11},
		},
		{
			name:  "out of 1d after 1440 candles",
			steps: []any{pred("ETH-USDT", 1, 0, 100, 0, 1), row("ETH/USDT", 1, 110), row("ETH/USDT", 1441, 100)},
			want:  want{0, 0, 0, 0, 0, 0},
		},
		{
			name:  "a corrected row replaces the old losses",
			steps: []any{pred("ETH-USDT", 2, 0, 100, 0.01, 1), row("ETH/USDT", 2, 110), row("ETH/USDT", 2, 121)},
			want:  want{1, 1, math.Log(1.21) - 0.01, math.Log(1.21), math.Log(1.21) - 0.01, math.Log(1.21)},
		},
		{
			name: "a correction after the 1h edge re-scores in 1d only",
			steps: []any{pred("ETH-USDT", 1, 0, 100, 0, 1), row("ETH/USDT", 1, 110),
				row("ETH/USDT", 61, 100), row("ETH/USDT", 1, 121)},
			want: want{0, 1, 0, 0, math.Log(1.21), math.Log(1.21)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScorer(t, Config{})
			feed(s, tt.steps)
			sc := s.Scores()
			if len(sc) != 1 {
				t.Fatalf("scores %+v", sc)
			}
			h, d := sc[0].Windows["1h"], sc[0].Windows["1d"]
			if h.Candles != 60 || d.Candles != 1440 {
				t.Errorf("candles %d, %d", h.Candles, d.Candles)
			}
			w := tt.want
			checkSkill(t, "1h", h.Return, w.n1h, w.loss1h, w.base1h)
			checkSkill(t, "1d", d.Return, w.n1d, w.loss1d, w.base1d)
			if h.Vol.N+h.Quantiles.N+h.PUp.N+d.Vol.N+d.Quantiles.N+d.PUp.N != 0 {
				t.Errorf("products scored without products: %+v %+v", h, d)
			}
		})
	}
}

func checkSkill(t *testing.T, name string, k Skill, n int, loss, base float64) {
	t.Helper()
	skill := 0.0
	if base > 0 {
		skill = 1 - loss/base
	}
	if k.N != n || !near(k.Loss, loss) || !near(k.BaselineLoss, base) || !near(k.Skill, skill) {
		t.Errorf("%s: %+v, want n %d loss %g baseline %g skill %g", name, k, n, loss, base, skill)
	}
}

// The products' windows: vol MAE beside last-rv, pinball of the band
// beside the last-rv Gaussian band's (coverage on the same rows), Brier
// beside 0.5's. σ = 0.01 at the as-of row; the close moves up 0.2%.
func TestPrequentialProducts(t *testing.T) {
	s := newScorer(t, Config{})
	p := pred("ETH/USDT", 5, 0, 100, 0, 1)
	p.Vol = &predict.Forecast{Value: 0.012}
	p.Quantiles = &predict.Quantiles{P10: 99, P50: 100, P90: 101}
	p.PUp = &predict.Forecast{Value: 0.6}
	feed(s, []any{rvRow(0, 100, 0.01), p, rvRow(5, 100.2, 0.015)})
	w := s.Scores()[0].Windows["1h"]
	r, z := math.Log(1.002), gauss90*0.01
	checkSkill(t, "vol", w.Vol, 1, 0.003, 0.005)
	// r in (ln 0.99, ln 1.01) and in (−z, z): the p10 and p90 terms are
	// 0.1·(r − q10) and 0.1·(q90 − r), the p50 term 0.5·r.
	checkSkill(t, "quantiles", w.Quantiles.Skill, 1, (0.1*(math.Log(1.01)-math.Log(0.99))+0.5*r)/3, (0.2*z+0.5*r)/3)
	if w.Quantiles.Coverage != 1 || w.Quantiles.BaselineCoverage != 1 {
		t.Errorf("coverage %+v", w.Quantiles)
	}
	checkSkill(t, "p_up", w.PUp, 1, 0.16, 0.25)
	checkSkill(t, "return", w.Return, 1, r, r)
}

// Without the as-of row there is no baseline band: neither pinball nor
// coverage counts (the products are compared on the same rows).
func TestPrequentialQuantilesNeedTheBaseline(t *testing.T) {
	s := newScorer(t, Config{})
	p := pred("ETH/USDT", 5, 0, 100, 0, 1)
	p.Quantiles = &predict.Quantiles{P10: 99, P50: 100, P90: 101}
	feed(s, []any{p, rvRow(5, 100.2, 0.015)})
	if q := s.Scores()[0].Windows["1d"].Quantiles; q != (BandSkill{}) {
		t.Errorf("quantiles %+v", q)
	}
}

// The windows' lengths come from the interval, and a series' memory is
// the longest window's candles whatever the rate of predictions.
func TestPrequentialBounded(t *testing.T) {
	s := newScorer(t, Config{Interval: 5 * time.Minute})
	at := func(c int) time.Time { return t0.Add(time.Duration(c) * 5 * time.Minute) }
	for c := range 600 {
		for v := 1; v <= 3; v++ {
			s.Record(predict.Prediction{Pair: "ETH-USDT", Horizon: 1, AsOf: at(c), LastPrice: 100, Model: predict.ModelRef{Version: v}})
		}
		r := row("ETH/USDT", 0, 100)
		r.TS = at(c + 1)
		s.Observe(r)
	}
	sc := s.Scores()[0]
	if h, d := sc.Windows["1h"], sc.Windows["1d"]; h.Candles != 12 || h.Return.N != 36 || d.Candles != 288 || d.Return.N != 3*288 {
		t.Errorf("windows %+v", sc.Windows)
	}
	for _, se := range s.series {
		if len(se.buckets) != 288 {
			t.Errorf("buckets %d, want 288", len(se.buckets))
		}
	}
}
