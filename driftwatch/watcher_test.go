package driftwatch

import (
	"context"
	"errors"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickcast/tickcast/drift"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
)

const pair = "ETH/USDT"

// recorder is a Trainer that records the starts asked for.
type recorder struct {
	mu     sync.Mutex
	starts []start
}

type start struct {
	horizon int
	at      time.Time
}

func (r *recorder) StartTrain(_ context.Context, p string, h int, at time.Time, reason string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p != pair || reason == "" {
		return "", false, nil
	}
	r.starts = append(r.starts, start{h, at})
	return "id", true, nil
}

// models serves return champions at horizons 1 and 60, trained on days
// 1–30 of the real file.
type models struct{ from, to time.Time }

func (m models) Horizons(string) []int { return []int{1, 60} }

func (m models) Champions() []predict.Champion {
	meta := registry.Meta{Version: 3, DataFrom: m.from, DataTo: m.to}
	return []predict.Champion{{Pair: pair, Horizon: 1, Meta: meta}, {Pair: pair, Horizon: 60, Meta: meta}}
}

// store answers Rows from the real file's rows.
func store(rows []market.FeatureRow) Rows {
	return func(_ string, from, to time.Time) ([]market.FeatureRow, error) {
		lo := sort.Search(len(rows), func(i int) bool { return !rows[i].TS.Before(from) })
		hi := sort.Search(len(rows), func(i int) bool { return !rows[i].TS.Before(to) })
		return rows[lo:hi], nil
	}
}

// The test: the returns of the most volatile real day (from its
// most volatile hour) spliced into the noon of the calmest days of 90 real
// days of ETH start retraining at both champion horizons within 31 candles
// (docs/drift.md), at most once per horizon per hour, and the calm days
// alone start nothing. The watcher has its PSI monitor (reference: days
// 1–30) and its regime detector primed from the store, as live.
func TestSpliceStartsRetraining(t *testing.T) {
	if testing.Short() {
		t.Skip("90 days of real candles: not in -short")
	}
	d := realfeatures.BinanceKlines(t, realdata.BinanceETH90d, pair, 1<<20)
	day0 := d.Candles[0].Start.Truncate(24 * time.Hour)
	m := models{from: day0, to: day0.Add(30*24*time.Hour - time.Minute)}
	hv, calm := volatileAndCalm(d.Candles, day0, 2)
	for _, lo := range calm {
		at := lo + 720 // noon
		from := at - market.FeatureHistory - 480
		t.Run(d.Candles[at].Start.Format("2006-01-02"), func(t *testing.T) {
			w, rec := watcher(t, m, d.Rows)
			feed(w, d.Rows[from:at+240])
			if len(rec.starts) != 0 {
				t.Fatalf("calm stretch alone started %v", rec.starts)
			}
			if st := w.pairs[pair]; st.psi == nil {
				t.Errorf("PSI off: %s", st.psiOff)
			}
			rows := realfeatures.Rows(t, realfeatures.Splice(d.Candles[from:at], hv))
			w, rec = watcher(t, m, d.Rows)
			feed(w, rows[:min(len(rows), at-from+240)])
			checkStarts(t, rec.starts, rows[at-from].TS)
			if n := counted(t, w.metrics, "tickcast_drift_train_started"); int(n) != len(rec.starts) {
				t.Errorf("tickcast_drift_train_started %g, %d starts", n, len(rec.starts))
			}
		})
	}
}

func watcher(t *testing.T, m models, rows []market.FeatureRow) (*Watcher, *recorder) {
	rec := &recorder{}
	w, err := New(Config{Trainer: rec, Models: m, Rows: store(rows)})
	if err != nil {
		t.Fatal(err)
	}
	return w, rec
}

// feed observes rows, waiting after the first for the PSI reference.
func feed(w *Watcher, rows []market.FeatureRow) {
	for i, r := range rows {
		w.Observe(context.Background(), r)
		if i == 0 {
			w.Wait()
		}
	}
	w.Wait()
}

// checkStarts wants both horizons started within 31 candles of the splice
// at ts, nothing before it, and no horizon twice in one hour.
func checkStarts(t *testing.T, starts []start, ts time.Time) {
	t.Helper()
	seen := map[start]bool{}
	first := map[int]time.Time{}
	for _, s := range starts {
		k := start{s.horizon, s.at.Truncate(time.Hour)}
		if seen[k] {
			t.Errorf("h%d started twice in the hour of %s", s.horizon, k.at)
		}
		seen[k] = true
		if f, ok := first[s.horizon]; !ok || s.at.Before(f) {
			first[s.horizon] = s.at
		}
	}
	for _, h := range []int{1, 60} {
		f, ok := first[h]
		delay := int(f.Sub(ts)/time.Minute) + 1
		if !ok || delay < 1 || delay > 31 {
			t.Errorf("h%d: first start %d candles after the splice (started: %v), want 1–31", h, delay, ok)
		}
		t.Logf("h%d: retraining started %d candles after the splice", h, delay)
	}
}

// volatileAndCalm returns the most volatile day after the first (sum of
// squared 1-minute log returns) from its most volatile hour, with the
// candle before, and the first candle of each of the n calmest days after
// the first, as drift's tests choose them.
func volatileAndCalm(c []market.Candle, day0 time.Time, n int) ([]market.Candle, []int) {
	dayOf := func(i int) int { return int(c[i].Start.Sub(day0) / (24 * time.Hour)) }
	v, first := map[int]float64{}, map[int]int{}
	for i := 1; i < len(c); i++ {
		if _, ok := first[dayOf(i)]; !ok {
			first[dayOf(i)] = i
		}
		v[dayOf(i)] += sq(c[i].Close / c[i-1].Close)
	}
	var days []int
	for d := range v {
		if d > 0 && d < dayOf(len(c)-1) { // whole days
			days = append(days, d)
		}
	}
	sort.Slice(days, func(i, j int) bool { return v[days[i]] < v[days[j]] })
	hot := days[len(days)-1]
	lo, hi := first[hot], first[hot+1]
	best, bestV := lo, -1.0
	for i := lo; i+60 <= hi; i++ {
		var s float64
		for j := i; j < i+60; j++ {
			s += sq(c[j].Close / c[j-1].Close)
		}
		if s > bestV {
			best, bestV = i, s
		}
	}
	calm := make([]int, n)
	for k := range calm {
		calm[k] = first[days[k]]
	}
	return c[best-1 : hi], calm
}

func sq(ratio float64) float64 { r := math.Log(ratio); return r * r }

// counted is the sum of the counter name over its labels.
func counted(t *testing.T, m *Metrics, name string) float64 {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.Collectors()...)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range fams {
		for _, x := range f.GetMetric() {
			if f.GetName() == name {
				n += x.GetCounter().GetValue()
			}
		}
	}
	return n
}

// Firings in one hour start each horizon once; a failed start frees its
// hour; the next hour starts again.
func TestOncePerHour(t *testing.T) {
	rec := &recorder{}
	fail := &failing{}
	for _, tr := range []Trainer{rec, fail} {
		w, err := New(Config{Trainer: tr, Models: models{}})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
		fire := drift.Decision{Fire: true, Kind: drift.KindRegime, Reason: "test", Figures: map[string]float64{"stat": 11}}
		for _, ts := range []time.Time{at, at.Add(30 * time.Minute), at.Add(59 * time.Minute), at.Add(time.Hour)} {
			w.mu.Lock()
			w.act(context.Background(), market.FeatureRow{Pair: pair, TS: ts}, fire)
			w.mu.Unlock()
			w.Wait()
		}
		if n := counted(t, w.metrics, "tickcast_drift_fired"); n != 4 {
			t.Errorf("%T: %g firings counted, want 4", tr, n)
		}
	}
	if len(rec.starts) != 4 { // h1 and h60, in two hours
		t.Errorf("starts %v, want 4", rec.starts)
	}
	if n := fail.calls.Load(); n != 8 {
		t.Errorf("failing trainer asked %d times, want 8 (a failed start frees its hour)", n)
	}
}

type failing struct{ calls atomic.Int32 }

func (f *failing) StartTrain(context.Context, string, int, time.Time, string) (string, bool, error) {
	f.calls.Add(1)
	return "", false, errors.New("temporal down")
}

// Error drift: Page–Hinkley on the scored loss differences of one pair ×
// horizon retrains that horizon only, once per hour. The differences are a
// hand-written fixture: the model as good as the baseline for 300 scores,
// then clearly worse.
func TestLossDriftRetrainsItsHorizon(t *testing.T) {
	rec := &recorder{}
	w, err := New(Config{Trainer: rec, Models: models{}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)
	for i := range 300 {
		w.ObserveLoss(t.Context(), "ETH-USDT", 60, at.Add(time.Duration(i)*time.Minute), 0)
	}
	w.Wait()
	if len(rec.starts) != 0 {
		t.Fatalf("retrained on a model as good as its baseline: %+v", rec.starts)
	}
	for i := 300; i < 420; i++ {
		w.ObserveLoss(t.Context(), "ETH-USDT", 60, at.Add(time.Duration(i)*time.Minute), 3)
	}
	w.Wait()
	if len(rec.starts) != 1 || rec.starts[0].horizon != 60 {
		t.Fatalf("starts %+v, want one at horizon 60", rec.starts)
	}
}
