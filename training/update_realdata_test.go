package training

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
)

// walkResult is one method's prequential run: the served model's loss on
// every row of the walk (test-then-train), gate passes and update times.
type walkResult struct {
	method   string
	losses   []float64
	updates  int
	passes   int
	skips    int
	seconds  []float64 // Update + ShadowGate per step
	maxTrees int
}

// volChampion fits the vol product's booster as TrainProducts does
// (fitVolModel: the fixed candidate, early stopping on valid) and returns
// it as UBJ with its scale.
func volChampion(t *testing.T, ds ml.Dataset, candles []market.Candle, train, valid Span, rounds int) ([]byte, float64) {
	t.Helper()
	pd, err := buildProductData(ds, candles, train)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := fitVolModel(t.Context(), ds, pd, ProductsRequest{Rounds: rounds, Threads: 2}, pd.labelled(train), pd.labelled(valid))
	if err != nil {
		t.Fatal(err)
	}
	defer vm.close()
	model, err := vm.booster.Save("ubj")
	if err != nil {
		t.Fatal(err)
	}
	return model, vm.scale
}

// walkForward serves rows [from, to) of ds in steps of UpdateEvery with a
// champion that starts as parent. At each step t (candle t just closed,
// rows i with i+h ≤ t labelled): the candidate of the previous step is
// shadow-scored on the UpdateGate rows labelled since its window ended and
// replaces the champion if not worse; the champion then serves rows
// [t, t+UpdateEvery), which are scored; a new candidate is trained from it
// on the Window rows labelled at t. Method UpdateOff is the frozen model.
// ds's rows must be consecutive candles.
func walkForward(t *testing.T, ds ml.Dataset, y []float64, scale float64, parent []byte, policy UpdatePolicy, from, to int) walkResult {
	t.Helper()
	h := ds.Horizon
	res := walkResult{method: cmpOr(policy.Method, "frozen")}
	rows := func(lo, hi int) UpdateRows {
		r := NewUpdateRows(ds, ProductVol, y, lo, hi)
		r.VolScale = scale
		return r
	}
	champ := parent
	var cand []byte
	candEnd := -1 // exclusive end of the candidate's window
	for now := from; now+UpdateEvery <= to; now += UpdateEvery {
		labelled := now - h + 1 // rows [.., labelled) have their label
		start := time.Now()
		if cand != nil {
			pass, _, err := ShadowGate(champ, cand, rows(candEnd, labelled))
			if err != nil {
				t.Fatalf("%s at %d: %v", res.method, now, err)
			}
			if pass {
				champ = cand
				res.passes++
			}
		}
		gate := time.Since(start)
		losses, err := productLosses(champ, rows(now, now+UpdateEvery))
		if err != nil {
			t.Fatal(err)
		}
		if len(losses) != UpdateEvery {
			t.Fatalf("%d of %d served rows scored", len(losses), UpdateEvery)
		}
		res.losses = append(res.losses, losses...)
		if policy.Method == UpdateOff {
			continue
		}
		start = time.Now()
		child, st, err := Update(t.Context(), champ, rows(max(0, labelled-policy.Window), labelled), policy)
		switch {
		case err != nil && strings.Contains(err.Error(), ErrUpdateSkipped.Error()):
			res.skips++
			cand = nil
			continue
		case err != nil:
			t.Fatalf("%s at %d: %v", res.method, now, err)
		}
		res.updates++
		res.maxTrees = max(res.maxTrees, st.RoundsAfter)
		cand, candEnd = child, labelled
		res.seconds = append(res.seconds, (time.Since(start) + gate).Seconds())
	}
	return res
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkConsecutive fails unless rows [lo, hi) of ds are consecutive candles.
func checkConsecutive(t *testing.T, ds ml.Dataset, lo, hi int) {
	t.Helper()
	for i := lo + 1; i < hi; i++ {
		if ds.TS[i].Sub(ds.TS[i-1]) != ds.Interval {
			t.Fatalf("rows %d, %d not consecutive: %s, %s", i-1, i, ds.TS[i-1], ds.TS[i])
		}
	}
}

// TestUpdateRealRows runs the walk on 6,000 real ETH/USDT candles (h = 5):
// a champion from the first 3,500 rows, then 15 steps of each method with
// the shadow gate. It checks the mechanics (tree counts, gate, timing),
// not the skill, which needs TestUpdatePrequential's 30 days.
func TestUpdateRealRows(t *testing.T) {
	d := realfeatures.BinanceKlines(t, realdata.BinanceETH90d, "ETH/USDT", 6000)
	ds, err := ml.Build(d.Rows, d.Candles, 5)
	if err != nil {
		t.Fatal(err)
	}
	y, err := ProductTargets(ds, d.Candles, ProductVol)
	if err != nil {
		t.Fatal(err)
	}
	from := 4000
	checkConsecutive(t, ds, 0, from+15*UpdateEvery)
	parent, scale := volChampion(t, ds, d.Candles, Span{0, 3000}, Span{3005, 3500}, 60)
	rounds := modelRounds(t, parent)
	frozen := walkForward(t, ds, y, scale, parent, UpdatePolicy{}, from, from+15*UpdateEvery)
	for _, p := range []UpdatePolicy{{Method: UpdateContinue, Trees: 5, Window: 1440}, {Method: UpdateRefresh, Window: 1440}} {
		r := walkForward(t, ds, y, scale, parent, p, from, from+15*UpdateEvery)
		if r.updates != 15 || r.skips != 0 {
			t.Errorf("%s: %d updates, %d skipped, want 15, 0", p.Method, r.updates, r.skips)
		}
		if p.Method == UpdateRefresh && r.maxTrees != rounds {
			t.Errorf("refresh: %d trees, want the parent's %d", r.maxTrees, rounds)
		}
		if p.Method == UpdateContinue && (r.maxTrees <= 5 || r.maxTrees > rounds+14*5) {
			t.Errorf("continue: %d trees after 15 updates of 5 on %d", r.maxTrees, rounds)
		}
		if slices.Max(r.seconds) > 5 {
			t.Errorf("%s: an update + gate took %.2f s, over the 5 s budget", p.Method, slices.Max(r.seconds))
		}
		t.Logf("%s: MAE %.4g vs frozen %.4g, %d/%d promoted, median %.3f s per update", p.Method, ml.Mean(r.losses),
			ml.Mean(frozen.losses), r.passes, r.updates, median(r.seconds))
	}
}

// TestUpdatePrequential is the measurement behind DefaultUpdatePolicy
// (docs/incremental.md): per pair, the vol booster at h = 5 fitted on days
// 1–30 (the last 3 days validation), then days 31–60 walked in steps of 60
// candles frozen, with continued boosting and with a refresh, each update
// shadow-gated on the next 60 labelled rows. Run on purpose only (about
// half an hour on 2 cores):
//
//	TICKCAST_UPDATE_BENCH=1 go test ./training -run TestUpdatePrequential -v -timeout 90m
func TestUpdatePrequential(t *testing.T) {
	if os.Getenv("TICKCAST_UPDATE_BENCH") == "" {
		t.Skip("set TICKCAST_UPDATE_BENCH=1 to measure incremental updates on the real days 31–60")
	}
	const h = 5
	policies := []UpdatePolicy{{Method: UpdateContinue, Trees: 5, Window: 1440}, {Method: UpdateRefresh, Window: 1440}}
	var report []string
	for _, pc := range realPairs(t) {
		ds, err := ml.Build(pc.rows, pc.candles, h)
		if err != nil {
			t.Fatal(err)
		}
		y, err := ProductTargets(ds, pc.candles, ProductVol)
		if err != nil {
			t.Fatal(err)
		}
		day0 := pc.candles[0].End.Truncate(24 * time.Hour)
		at := func(day int) int { // first row at or after the start of day (1-based)
			ts := day0.Add(time.Duration(day-1) * 24 * time.Hour)
			j, _ := slices.BinarySearchFunc(ds.TS, ts, func(a, b time.Time) int { return a.Compare(b) })
			return j
		}
		d28, d31, d61 := at(28), at(31), at(61)
		checkConsecutive(t, ds, 0, d61)
		start := time.Now()
		parent, scale := volChampion(t, ds, pc.candles, Span{0, d28 - h}, Span{d28, d31 - h}, 400)
		fit := time.Since(start)
		frozen := walkForward(t, ds, y, scale, parent, UpdatePolicy{}, d31, d61)
		line := fmt.Sprintf("%s h%d: champion %d trees (fit %.0f s), vol_scale %.4f; %d rows scored (days 31–60, %s → %s); frozen MAE %.5g",
			pc.pair, h, modelRounds(t, parent), fit.Seconds(), scale, len(frozen.losses), ds.TS[d31].Format(time.DateOnly),
			ds.TS[d31+len(frozen.losses)-1].Format(time.DateOnly), ml.Mean(frozen.losses))
		t.Log(line)
		report = append(report, line)
		for _, p := range policies {
			r := walkForward(t, ds, y, scale, parent, p, d31, d61)
			ci, err := ml.SkillBootstrap{Block: 1440, Horizon: h, Seed: 1}.Skill(r.losses, frozen.losses)
			if err != nil {
				t.Fatal(err)
			}
			line := fmt.Sprintf("  %-8s MAE %.5g, skill vs frozen %+.4f [%+.4f, %+.4f]; %d updates, %d promoted, %d skipped; update+gate median %.3f s, p95 %.3f s, max %.3f s",
				p.Method, ml.Mean(r.losses), ci.Skill, ci.Lo, ci.Hi, r.updates, r.passes, r.skips,
				median(r.seconds), quantileOf(r.seconds, 0.95), slices.Max(r.seconds))
			t.Log(line)
			report = append(report, line)
		}
	}
	t.Log("\n" + strings.Join(report, "\n"))
	if out := os.Getenv("TICKCAST_UPDATE_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(strings.Join(report, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func modelRounds(t *testing.T, model []byte) int {
	t.Helper()
	b, err := loadParent(model, market.NumFeatures)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n, err := b.Rounds()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func median(v []float64) float64 { return quantileOf(v, 0.5) }

func quantileOf(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(v))
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
