package training

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// BacktestReport is a backtest's figures: per series (pair × horizon) and
// pooled over all series by calendar day.
type BacktestReport struct {
	Series []BacktestSeriesReport `json:"series"`
	Pooled BacktestSeriesReport   `json:"pooled"`
	Notes  []string               `json:"notes"`
}

// BacktestSeriesReport is one series' (or the pool's) days and products.
type BacktestSeriesReport struct {
	Pair     string                  `json:"pair"`
	Horizon  int                     `json:"horizon"`
	Days     []string                `json:"days"`
	Seconds  float64                 `json:"seconds"` // sum of the days' BacktestDay times
	Products []BacktestProductReport `json:"products"`
}

// BacktestProductReport compares (a) frozen, (b) retrain, (c) updated
// with (d), the baseline with the lowest loss over the days (chosen after
// the fact: the hardest one to beat).
type BacktestProductReport struct {
	Product  string          `json:"product"`
	Metric   string          `json:"metric"`
	Baseline string          `json:"baseline"`
	Loss     map[string]jnum `json:"loss"`               // mean per row, per forecaster
	Coverage map[string]jnum `json:"coverage,omitempty"` // quantiles: share inside q10–q90
	// Skill vs Baseline, 1 − Σloss/Σloss(baseline), with its CI.
	Skill map[string]BacktestCI `json:"skill"`
	// Diffs: "updated−retrain" and "retrain−frozen" skill differences.
	Diffs map[string]BacktestCI `json:"diffs"`
	Daily map[string][]jnum     `json:"daily_skill"` // per day, vs Baseline
}

// BacktestCI is a figure with its 95% day-block bootstrap interval.
type BacktestCI struct {
	Value jnum `json:"value"`
	Lo    jnum `json:"lo"`
	Hi    jnum `json:"hi"`
}

// The differences reported.
const (
	DiffUpdatedRetrain = "updated−retrain"
	DiffRetrainFrozen  = "retrain−frozen"
)

var backtestMetrics = map[string]string{ProductVol: "mae", ProductQuantiles: "pinball", ProductPUp: "brier"}

// backtestResamples is the number of day-bootstrap resamples.
const backtestResamples = 2000

// BacktestAggregate turns day results into a report: a series per pair ×
// horizon, days in order; the CIs resample whole days (one-day blocks).
func BacktestAggregate(results []BacktestDayResult) BacktestReport {
	bySeries := map[string][]BacktestDayResult{}
	for _, r := range results {
		k := fmt.Sprintf("%s h%03d", r.Pair, r.Horizon)
		bySeries[k] = append(bySeries[k], r)
	}
	var rep BacktestReport
	for _, k := range slices.Sorted(maps.Keys(bySeries)) {
		days := bySeries[k]
		slices.SortFunc(days, func(a, b BacktestDayResult) int { return a.Day.Compare(b.Day) })
		rep.Series = append(rep.Series, seriesReport(days[0].Pair, days[0].Horizon, days))
	}
	rep.Pooled = seriesReport("all", 0, poolDays(results))
	rep.Notes = []string{
		"Skill = 1 − Σ loss / Σ loss(baseline) over the days' scored rows; baseline (d) = the lowest total loss of the product's baselines over the days.",
		"95% CIs: percentile bootstrap over whole days (one-day blocks), 2000 resamples, the same resamples for every figure of a product (paired).",
		"Pooled: each calendar day sums the losses of every series (scale-weighted: a series with larger losses weighs more).",
	}
	return rep
}

// poolDays sums the results of every series by calendar day.
func poolDays(results []BacktestDayResult) []BacktestDayResult {
	byDay := map[time.Time]*BacktestDayResult{}
	for _, r := range results {
		p := byDay[r.Day]
		if p == nil {
			p = &BacktestDayResult{Pair: "all", Day: r.Day, Losses: map[string]map[string]DayLoss{}}
			byDay[r.Day] = p
		}
		p.Rows += r.Rows
		p.Seconds += r.Seconds
		for product, m := range r.Losses {
			if p.Losses[product] == nil {
				p.Losses[product] = map[string]DayLoss{}
			}
			for name, l := range m {
				s := p.Losses[product][name]
				s.Sum, s.Rows, s.Covered = s.Sum+l.Sum, s.Rows+l.Rows, s.Covered+l.Covered
				p.Losses[product][name] = s
			}
		}
	}
	var out []BacktestDayResult
	for _, d := range slices.SortedFunc(maps.Keys(byDay), func(a, b time.Time) int { return a.Compare(b) }) {
		out = append(out, *byDay[d])
	}
	return out
}

func seriesReport(pair string, h int, days []BacktestDayResult) BacktestSeriesReport {
	s := BacktestSeriesReport{Pair: pair, Horizon: h}
	for _, d := range days {
		s.Days = append(s.Days, d.Day.Format(time.DateOnly))
		s.Seconds += d.Seconds
	}
	for _, product := range []string{ProductVol, ProductQuantiles, ProductPUp} {
		if p, ok := productReport(product, days); ok {
			s.Products = append(s.Products, p)
		}
	}
	return s
}

// daySums are a forecaster's per-day losses (sums) of a product; ok false
// when a day lacks it.
func daySums(product, name string, days []BacktestDayResult) (sums []float64, total DayLoss, ok bool) {
	for _, d := range days {
		l, have := d.Losses[product][name]
		if !have {
			return nil, DayLoss{}, false
		}
		sums = append(sums, l.Sum)
		total.Sum, total.Rows, total.Covered = total.Sum+l.Sum, total.Rows+l.Rows, total.Covered+l.Covered
	}
	return sums, total, len(days) > 0
}

func isBaseline(name string) bool {
	return name != BacktestFrozen && name != BacktestRetrain && name != BacktestUpdated && !strings.HasPrefix(name, backtestAltPrefix)
}

func productReport(product string, days []BacktestDayResult) (BacktestProductReport, bool) {
	r := BacktestProductReport{Product: product, Metric: backtestMetrics[product], Loss: map[string]jnum{},
		Skill: map[string]BacktestCI{}, Diffs: map[string]BacktestCI{}, Daily: map[string][]jnum{}}
	sums := map[string][]float64{}
	best := math.Inf(1)
	for _, name := range slices.Sorted(maps.Keys(days[0].Losses[product])) {
		v, total, ok := daySums(product, name, days)
		if !ok || total.Rows == 0 {
			continue
		}
		sums[name], r.Loss[name] = v, jnum(total.Sum/float64(total.Rows))
		if product == ProductQuantiles {
			if r.Coverage == nil {
				r.Coverage = map[string]jnum{}
			}
			r.Coverage[name] = jnum(float64(total.Covered) / float64(total.Rows))
		}
		if isBaseline(name) && total.Sum < best {
			best, r.Baseline = total.Sum, name
		}
	}
	if r.Baseline == "" {
		return r, false
	}
	base := sums[r.Baseline]
	models := []string{BacktestFrozen, BacktestRetrain, BacktestUpdated}
	stats := map[string]func(idx []int) float64{}
	for _, m := range models {
		if sums[m] == nil {
			continue
		}
		stats[m] = func(idx []int) float64 { return skillOf(sums[m], base, idx) }
		for k := range days {
			r.Daily[m] = append(r.Daily[m], jnum(1-sums[m][k]/base[k]))
		}
	}
	for d, pair := range map[string][2]string{DiffUpdatedRetrain: {BacktestUpdated, BacktestRetrain}, DiffRetrainFrozen: {BacktestRetrain, BacktestFrozen}} {
		if sums[pair[0]] != nil && sums[pair[1]] != nil {
			stats[d] = func(idx []int) float64 { return skillOf(sums[pair[0]], base, idx) - skillOf(sums[pair[1]], base, idx) }
		}
	}
	for name, ci := range dayBootstrap(len(days), stats) {
		if slices.Contains(models, name) {
			r.Skill[name] = ci
		} else {
			r.Diffs[name] = ci
		}
	}
	return r, true
}

// skillOf is 1 − Σ model / Σ base over days idx (nil: every day).
func skillOf(model, base []float64, idx []int) float64 {
	var sm, sb float64
	if idx == nil {
		for k := range model {
			sm, sb = sm+model[k], sb+base[k]
		}
	}
	for _, k := range idx {
		sm, sb = sm+model[k], sb+base[k]
	}
	return 1 - sm/sb
}

// dayBootstrap evaluates each statistic on all n days and on
// backtestResamples resamples of n days drawn with replacement (the same
// resamples for every statistic), and returns the 95% percentile interval.
func dayBootstrap(n int, stats map[string]func(idx []int) float64) map[string]BacktestCI {
	rng := rand.New(rand.NewPCG(uint64(n), 0xbac7e57))
	draws := map[string][]float64{}
	idx := make([]int, n)
	for range backtestResamples {
		for k := range idx {
			idx[k] = rng.IntN(n)
		}
		for _, name := range slices.Sorted(maps.Keys(stats)) {
			if v := stats[name](idx); finite(v) {
				draws[name] = append(draws[name], v)
			}
		}
	}
	out := map[string]BacktestCI{}
	for name, f := range stats {
		ci := BacktestCI{Value: jnum(f(nil)), Lo: jnum(math.NaN()), Hi: jnum(math.NaN())}
		if d := draws[name]; n > 1 && len(d) > 0 {
			ci.Lo, ci.Hi = jnum(quantileSorted(d, 0.025)), jnum(quantileSorted(d, 0.975))
		}
		out[name] = ci
	}
	return out
}

func quantileSorted(v []float64, q float64) float64 {
	s := slices.Sorted(slices.Values(v))
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// PolicyScore is an update policy's total vol loss over selection days.
type PolicyScore struct {
	Policy   string  `json:"policy"`
	VolMAE   float64 `json:"vol_mae"`
	PUpBrier float64 `json:"p_up_brier"`
}

// ChooseUpdatePolicy is the update policy (BacktestDayInput.Update or an
// Alternative, by key) with the lowest vol MAE pooled over results, and
// every policy's figures beside the retrain without updates ("off").
func ChooseUpdatePolicy(results []BacktestDayResult, in BacktestDayInput) (BacktestPolicy, []PolicyScore) {
	policies := append([]BacktestPolicy{in.Update}, in.Alternatives...)
	names := []string{BacktestRetrain}
	for k, p := range policies {
		names = append(names, cmp.Or(map[bool]string{true: BacktestUpdated}[k == 0], backtestAltPrefix+p.Key()))
	}
	var scores []PolicyScore
	for k, name := range names {
		key := "off"
		if k > 0 {
			key = policies[k-1].Key()
		}
		s := PolicyScore{Policy: key}
		s.VolMAE, s.PUpBrier = pooledMean(results, ProductVol, name), pooledMean(results, ProductPUp, name)
		scores = append(scores, s)
	}
	best := 1
	for k := 2; k < len(scores); k++ {
		if scores[k].VolMAE < scores[best].VolMAE {
			best = k
		}
	}
	return policies[best-1], scores
}

func pooledMean(results []BacktestDayResult, product, name string) float64 {
	var s float64
	var n int
	for _, r := range results {
		l := r.Losses[product][name]
		s, n = s+l.Sum, n+l.Rows
	}
	return s / float64(max(n, 1))
}
