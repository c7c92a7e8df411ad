package scoring

import (
	"math"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
)

// The rows and predictions of these tests are hand-written fixtures: round
// prices chosen so that the expected log returns can be checked by hand.

var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func minute(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

// pred is a prediction of pair made at minute asOf for h minutes ahead.
func pred(pair string, h, asOf int, last, ret float64, version int) predict.Prediction {
	return predict.Prediction{
		Pair: pair, AsOf: minute(asOf), Horizon: h, TargetTime: minute(asOf + h),
		PredictedReturn: ret, PredictedPrice: last * math.Exp(ret), LastPrice: last,
		Model: predict.ModelRef{Name: "fixture", Version: version},
	}
}

// row is the realized feature row of pair ("ETH/USDT") at minute m.
func row(pair string, m int, close float64) market.FeatureRow {
	return market.FeatureRow{Pair: pair, TS: minute(m), SchemaVersion: market.FeatureSchemaVersion, Warm: true, Close: close}
}

func newScorer(t testing.TB, cfg Config) *Scorer {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// feed applies steps in order: a Prediction is recorded, a FeatureRow observed.
func feed(s *Scorer, steps []any) {
	for _, st := range steps {
		switch v := st.(type) {
		case predict.Prediction:
			s.Record(v)
		case market.FeatureRow:
			s.Observe(v)
		default:
			panic("bad step")
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestScores(t *testing.T) {
	l11, l105 := math.Log(1.1), math.Log(1.05)
	tests := []struct {
		name   string
		window int
		steps  []any
		want   []Score
	}{
		{
			name: "scored by the row at the target time",
			steps: []any{
				pred("ETH-USDT", 1, 0, 100, l105, 3),
				row("ETH/USDT", 1, 110),
			},
			want: []Score{{Pair: "ETH-USDT", Horizon: 1, Window: 60, N: 1, MAE: l11 - l105, BaselineMAE: l11,
				Skill: 1 - (l11-l105)/l11, Model: predict.ModelRef{Name: "fixture", Version: 3}, UpdatedAt: minute(1)}},
		},
		{
			name: "rows of another time or pair do not score",
			steps: []any{
				pred("ETH-USDT", 5, 0, 100, l105, 1),
				row("ETH/USDT", 1, 110), row("BTC/USD", 5, 110), row("ETH/USDT", 4, 110), row("ETH/USDT", 6, 110),
			},
			want: []Score{},
		},
		{
			name: "repeat serves are scored once",
			steps: []any{
				pred("ETH-USDT", 1, 0, 100, 0, 1), pred("ETH-USDT", 1, 0, 100, 0, 1), pred("ETH-USDT", 1, 0, 100, 0, 1),
				row("ETH/USDT", 1, 110),
			},
			want: []Score{{Pair: "ETH-USDT", Horizon: 1, Window: 60, N: 1, MAE: l11, BaselineMAE: l11, Skill: 0,
				Model: predict.ModelRef{Name: "fixture", Version: 1}, UpdatedAt: minute(1)}},
		},
		{
			name:   "the rolling window keeps the last N scored",
			window: 2,
			steps: []any{
				pred("ETH-USDT", 1, 0, 100, 0.03, 1), row("ETH/USDT", 1, 100),
				pred("ETH-USDT", 1, 1, 100, 0.01, 1), row("ETH/USDT", 2, 100),
				pred("ETH-USDT", 1, 2, 100, -0.02, 2), row("ETH/USDT", 3, 100),
			},
			want: []Score{{Pair: "ETH-USDT", Horizon: 1, Window: 2, N: 2, MAE: 0.015, BaselineMAE: 0, Skill: 0,
				Model: predict.ModelRef{Name: "fixture", Version: 2}, UpdatedAt: minute(3)}},
		},
		{
			name: "a corrected row re-scores",
			steps: []any{
				pred("ETH-USDT", 2, 0, 100, 0, 1),
				row("ETH/USDT", 2, 110), row("ETH/USDT", 2, 121),
			},
			want: []Score{{Pair: "ETH-USDT", Horizon: 2, Window: 60, N: 1, MAE: math.Log(1.21), BaselineMAE: math.Log(1.21),
				Model: predict.ModelRef{Name: "fixture", Version: 1}, UpdatedAt: minute(2)}},
		},
		{
			name: "two versions at one as_of are both scored; pair spellings agree",
			steps: []any{
				pred("ETH-USDT", 1, 0, 100, l11, 1), pred("eth/usdt", 1, 0, 100, 0, 2),
				row("ETH-USDT", 1, 110),
			},
			want: []Score{{Pair: "ETH-USDT", Horizon: 1, Window: 60, N: 2, MAE: l11 / 2, BaselineMAE: l11, Skill: 0.5,
				Model: predict.ModelRef{Name: "fixture", Version: 2}, UpdatedAt: minute(1)}},
		},
		{
			name: "pairs and horizons are scored apart, sorted",
			steps: []any{
				pred("ETH-USDT", 2, 0, 100, 0, 1), pred("ETH-USDT", 1, 0, 100, 0, 1), pred("BTC-USD", 1, 0, 200, 0, 1),
				row("ETH/USDT", 1, 110), row("BTC/USD", 1, 220), row("ETH/USDT", 2, 121),
			},
			want: []Score{
				{Pair: "BTC-USD", Horizon: 1, Window: 60, N: 1, MAE: l11, BaselineMAE: l11, Model: predict.ModelRef{Name: "fixture", Version: 1}, UpdatedAt: minute(1)},
				{Pair: "ETH-USDT", Horizon: 1, Window: 60, N: 1, MAE: l11, BaselineMAE: l11, Model: predict.ModelRef{Name: "fixture", Version: 1}, UpdatedAt: minute(1)},
				{Pair: "ETH-USDT", Horizon: 2, Window: 60, N: 1, MAE: math.Log(1.21), BaselineMAE: math.Log(1.21), Model: predict.ModelRef{Name: "fixture", Version: 1}, UpdatedAt: minute(2)},
			},
		},
		{
			name: "unscorable predictions are not recorded",
			steps: []any{
				pred("ETH-USDT", 0, 0, 100, 0, 1), pred("ETH-USDT", 1, 0, 0, 0, 1), pred("ETH-USDT", 1, 0, 100, math.NaN(), 1),
				pred("nonsense", 1, 0, 100, 0, 1),
				row("ETH/USDT", 0, 100), row("ETH/USDT", 1, 100),
			},
			want: []Score{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScorer(t, Config{Window: tt.window})
			feed(s, tt.steps)
			got := s.Scores()
			if len(got) != len(tt.want) {
				t.Fatalf("got %d scores %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Pair != w.Pair || g.Horizon != w.Horizon || g.Window != w.Window || g.N != w.N ||
					g.Model != w.Model || !g.UpdatedAt.Equal(w.UpdatedAt) ||
					!near(g.MAE, w.MAE) || !near(g.BaselineMAE, w.BaselineMAE) || !near(g.Skill, w.Skill) {
					t.Errorf("score %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestRecent(t *testing.T) {
	s := newScorer(t, Config{Keep: 3})
	// Recorded out of as_of order on purpose; served counts differ.
	feed(s, []any{
		pred("ETH-USDT", 1, 1, 100, 0, 1),
		pred("ETH-USDT", 1, 0, 100, 0, 1), pred("ETH-USDT", 1, 0, 100, 0, 1),
		pred("ETH-USDT", 1, 2, 100, 0, 1),
		pred("ETH-USDT", 1, 3, 100, 0, 1), // pushes the first recorded (as_of 1) out of Keep
		row("ETH/USDT", 1, 110),
	})
	got := s.Recent("eth/usdt", 1, 0)
	wantAsOf := []int{0, 2, 3}
	if len(got) != len(wantAsOf) {
		t.Fatalf("Recent = %d rows, want %d", len(got), len(wantAsOf))
	}
	for i, m := range wantAsOf {
		if !got[i].AsOf.Equal(minute(m)) {
			t.Errorf("row %d as_of %s, want %s", i, got[i].AsOf, minute(m))
		}
	}
	if got[0].Served != 2 || got[0].RealizedPrice == nil || *got[0].RealizedPrice != 110 || !near(*got[0].AbsError, math.Log(1.1)) {
		t.Errorf("as_of 0: %+v, want served 2, realized 110", got[0])
	}
	if got[1].RealizedPrice != nil || got[1].Served != 1 {
		t.Errorf("as_of 2: %+v, want pending, served 1", got[1])
	}
	if last := s.Recent("ETH-USDT", 1, 1); len(last) != 1 || !last[0].AsOf.Equal(minute(3)) {
		t.Errorf("Recent limit 1 = %+v, want as_of 3", last)
	}
	for _, tc := range []struct {
		pair string
		h    int
	}{{"ETH-USDT", 2}, {"BTC-USD", 1}, {"nonsense", 1}} {
		if got := s.Recent(tc.pair, tc.h, 0); len(got) != 0 {
			t.Errorf("Recent(%s, %d) = %d rows, want 0", tc.pair, tc.h, len(got))
		}
	}
}

func TestExpiry(t *testing.T) {
	s := newScorer(t, Config{Dir: t.TempDir()})
	s.Record(pred("ETH-USDT", 1, 0, 100, 0, 1)) // its row (minute 1) never comes
	s.Record(pred("ETH-USDT", 1, 1, 100, 0, 1)) // scored at minute 2
	s.Observe(row("ETH/USDT", 2, 100))
	// Kept while the target is at most ExpireAfter candles old.
	s.Observe(row("ETH/USDT", 1+ExpireAfter, 100))
	if n := s.live(); n != 2 {
		t.Fatalf("live after %d candles = %d, want 2", ExpireAfter, n)
	}
	s.Observe(row("ETH/USDT", 3+ExpireAfter, 100))
	if n := s.live(); n != 0 {
		t.Fatalf("live after expiry = %d, want 0", n)
	}
	s.Observe(row("ETH/USDT", 1, 100)) // too late: forgotten
	if got := s.Scores(); len(got) != 1 || got[0].N != 1 {
		t.Fatalf("scores = %+v, want one with N 1", got)
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadScored(s.cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].RealizedPrice != nil || rows[1].RealizedPrice == nil {
		t.Fatalf("flushed %+v, want as_of 0 unscored and as_of 1 scored", rows)
	}
	if got := s.Recent("ETH-USDT", 1, 0); len(got) != 2 || got[0].RealizedPrice != nil {
		t.Errorf("Recent keeps the expired prediction unscored: %+v", got)
	}
}

// TestMemoryBound runs a day of minutes with predictions of three horizons
// whose rows partly never come: live state stays within horizon +
// ExpireAfter candles per series.
func TestMemoryBound(t *testing.T) {
	s := newScorer(t, Config{Keep: 10})
	for m := range 1440 {
		for _, h := range []int{1, 5, 15} {
			s.Record(pred("ETH-USDT", h, m, 100, 0, 1))
		}
		if m%3 != 0 { // a third of the rows are missing
			s.Observe(row("ETH/USDT", m, 100))
		}
	}
	if n, max := s.live(), 3*(ExpireAfter+2)+1+5+15; n > max {
		t.Errorf("live predictions = %d, want ≤ %d", n, max)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byTarget) > len(s.entries) {
		t.Errorf("byTarget %d > entries %d", len(s.byTarget), len(s.entries))
	}
	for k, se := range s.series {
		if se.recent.len() > 10 || se.window.len() > 60 {
			t.Errorf("%v: recent %d, window %d", k, se.recent.len(), se.window.len())
		}
	}
}

func (s *Scorer) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

func TestRecordRepeatDoesNotAllocate(t *testing.T) {
	s := newScorer(t, Config{})
	p := pred("ETH-USDT", 1, 0, 100, 0.001, 1)
	s.Record(p)
	if n := testing.AllocsPerRun(1000, func() { s.Record(p) }); n != 0 {
		t.Errorf("Record repeat allocates %v times", n)
	}
	if got := s.Recent("ETH-USDT", 1, 0); len(got) != 1 || got[0].Served != 1002 {
		t.Errorf("served = %+v, want 1002", got)
	}
}

func TestNewRejectsNegative(t *testing.T) {
	for _, cfg := range []Config{{Window: -1}, {Keep: -1}, {Interval: -time.Second}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}
