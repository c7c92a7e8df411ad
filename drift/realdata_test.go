package drift

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
)

// EnvTable, set to 1, makes TestCalibrationRealData print its tables.
const EnvTable = "DRIFT_TABLE"

const (
	minute  = 1
	day     = 1440 * minute
	week    = 7 * day
	horizon = 60 // the error-drift proxy forecasts the realized vol of the next hour
)

// series is one pair's 90 days: candles, rows, and each candle's day (0-based
// from the first candle's UTC midnight).
type series struct {
	pair    string
	candles []market.Candle
	rows    []market.FeatureRow
	days    []int
}

func loadSeries(t *testing.T, rel, pair string) series {
	d := realfeatures.BinanceKlines(t, rel, pair, 1<<20)
	s := series{pair: pair, candles: d.Candles, rows: d.Rows, days: make([]int, len(d.Candles))}
	first := d.Candles[0].Start.Truncate(24 * time.Hour)
	for i, c := range d.Candles {
		s.days[i] = int(c.Start.Sub(first) / (24 * time.Hour))
	}
	return s
}

// span is the candle indices [lo, hi) of days [from, to] (1-based).
func (s series) span(from, to int) (lo, hi int) {
	lo = sort.SearchInts(s.days, from-1)
	hi = sort.SearchInts(s.days, to)
	return lo, hi
}

// dayVar is each day's sum of squared one-candle log returns.
func (s series) dayVar() map[int]float64 {
	v := map[int]float64{}
	for i := 1; i < len(s.candles); i++ {
		r := math.Log(s.candles[i].Close / s.candles[i-1].Close)
		v[s.days[i]] += r * r
	}
	return v
}

// psiFires runs a PSI monitor over rows[lo:hi] and returns the indices that fired.
func psiFires(t *testing.T, ref Reference, cfg PSIConfig, rows []market.FeatureRow, lo, hi int) []int {
	m, err := NewPSI(ref, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var fires []int
	for i := lo; i < hi; i++ {
		if m.Add(rows[i]).Fire {
			fires = append(fires, i)
		}
	}
	return fires
}

func perWeek(fires, candles int) float64 { return float64(fires) / (float64(candles) / week) }

// spliceCase is one splice: the calm day, the candle the regime starts at,
// the rows (the calm history before, then the high-volatility day).
type spliceCase struct {
	calmDay, at int
	candles     []market.Candle
	rows        []market.FeatureRow
}

// hvFromVolatileHour, 1, starts the spliced returns at the most volatile
// hour of the day (0: at its midnight, where a day that is volatile for a
// few hours may still be calm).
var hvFromVolatileHour = 1

// volatileHour is the start of the 60 candles with the most squared returns.
func volatileHour(c []market.Candle) int {
	best, bestV := 0, -1.0
	for i := 1; i+60 <= len(c); i++ {
		var v float64
		for j := i; j < i+60; j++ {
			r := math.Log(c[j].Close / c[j-1].Close)
			v += r * r
		}
		if v > bestV {
			best, bestV = i, v
		}
	}
	return best
}

// spliceCases splices the most volatile day of days [1, lastDay] into the
// noon of each of the n calmest days of days [2, lastDay] (a day of history
// before the noon warms every feature).
func spliceCases(t *testing.T, s series, lastDay, n int) (hvDay int, cases []spliceCase) {
	v := s.dayVar()
	hvDay = -1
	var calm []int
	for d := 0; d < lastDay; d++ {
		if _, ok := v[d]; ok && d > 0 && (hvDay < 0 || v[d] > v[hvDay]) {
			hvDay = d
		}
		if d >= 1 {
			calm = append(calm, d)
		}
	}
	sort.Slice(calm, func(i, j int) bool { return v[calm[i]] < v[calm[j]] })
	hlo, hhi := s.span(hvDay+1, hvDay+1)
	hlo += volatileHour(s.candles[hlo:hhi]) * hvFromVolatileHour
	hv := s.candles[hlo-1 : hhi]
	for _, d := range calm[:n] {
		lo, _ := s.span(d+1, d+1)
		at := lo + 720
		from := at - market.FeatureHistory - 480
		c := realfeatures.Splice(s.candles[from:at], hv)
		cases = append(cases, spliceCase{calmDay: d + 1, at: at - from, candles: c, rows: realfeatures.Rows(t, c)})
	}
	return hvDay + 1, cases
}

// delay feeds rows[at−pre:] to detect and returns the candles from the
// splice to the first firing at or after it (−1: missed), and whether it
// fired before the splice.
func delay(rows int, at, pre int, fired func(i int) bool) (d int, early bool) {
	for i := at - pre; i < rows; i++ {
		if fired(i) {
			if i < at {
				early = true
				continue
			}
			return i - at + 1, early
		}
	}
	return -1, early
}

func TestCalibrationRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("90 days of real candles: not in -short")
	}
	var all []series
	for _, p := range []struct{ rel, pair string }{{realdata.BinanceBTC90d, "BTC/USD"}, {realdata.BinanceETH90d, "ETH/USD"}} {
		t.Run(p.pair, func(t *testing.T) {
			s := loadSeries(t, p.rel, p.pair)
			all = append(all, s)
			if os.Getenv(EnvTable) == "1" {
				calibratePSI(t, s)
				calibratePH(t, s)
			}
			report(t, s)
			reportRegime(t, s)
		})
	}
	if os.Getenv(EnvTable) == "1" && len(all) == 2 {
		regimeGrid(t, all)
		regimeFrontier(t, all)
	}
}

func calibratePSI(t *testing.T, s series) {
	rlo, rhi := s.span(1, 30)
	base, err := NewReference(s.rows[rlo:rhi])
	if err != nil {
		t.Fatal(err)
	}
	clo, chi := s.span(31, 60)
	_, cases := spliceCases(t, s, 60, 5)
	for _, w := range []int{60} {
		for _, q := range []float64{0.9999} {
			cfg := DefaultPSI
			cfg.Window, cfg.Quantile = w, q
			ref, err := Calibrate(base, cfg, s.rows[rlo:rhi])
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []int{5} {
				cfg.MinFeatures = k
				fa := perWeek(len(psiFires(t, ref, cfg, s.rows, clo, chi)), chi-clo)
				var ds []int
				for _, c := range cases {
					f := psiFires(t, ref, cfg, c.rows, c.at-240, len(c.rows))
					d, _ := delay(len(c.rows), c.at, 240, func(i int) bool { return slices.Contains(f, i) })
					ds = append(ds, d)
				}
				if os.Getenv(EnvTable) == "1" {
					fmt.Printf("%s W=%d q=%g k=%d  FA/week d31-60=%.2f  splice delays=%v\n", s.pair, w, q, k, fa, ds)
				}
			}
		}
	}
}

// volProxy is the error-drift test's model and baseline, fitted on days
// 1–30: the model forecasts the next hour's realized vol as a·rvol_60, the
// HAR-like baseline as b0 + b1·rvol_60 + b2·rvol_240 + b3·rvol_1440 (least
// squares). lossDiff[i] = (|y−model| − |y−base|)/base for the prediction at
// row i, known at row i+horizon (NaN where a row lacks a value).
func lossDiff(s series) []float64 { return lossDiffWith(s, s) }

// lossDiffWith fits the proxies on days 1–30 of fit and scores s.
func lossDiffWith(fit, s series) []float64 {
	a, beta := fitProxies(fit)
	y := targets(s)
	out := make([]float64, len(s.rows))
	for i := range out {
		xi := harX(s, i)
		m, base := a*xi[1], 0.0
		for k := range 4 {
			base += beta[k] * xi[k]
		}
		out[i] = (math.Abs(y[i]-m) - math.Abs(y[i]-base)) / base
		if !s.rows[i].Warm || base <= 0 {
			out[i] = math.NaN()
		}
	}
	return out
}

// targets is each row's realized vol of the next horizon returns.
func targets(s series) []float64 {
	y := make([]float64, len(s.rows))
	for i := range y {
		y[i] = math.NaN()
		if i+horizon < len(s.candles) {
			var v float64
			for j := i + 1; j <= i+horizon; j++ {
				r := math.Log(s.candles[j].Close / s.candles[j-1].Close)
				v += r * r
			}
			y[i] = math.Sqrt(v)
		}
	}
	return y
}

func harX(s series, i int) []float64 {
	v := s.rows[i].Values
	return []float64{1, v[market.FRVol60], v[market.FRVol240], v[market.FRVol1440]}
}

func fitProxies(s series) (a float64, beta []float64) {
	y := targets(s)
	lo, hi := s.span(1, 30)
	var sxy, sxx float64
	A, b := make([][]float64, 4), make([]float64, 4)
	for k := range A {
		A[k] = make([]float64, 4)
	}
	for i := lo; i < hi; i++ {
		xi := harX(s, i)
		if !s.rows[i].Warm || math.IsNaN(y[i]) || math.IsNaN(xi[3]) {
			continue
		}
		sxy += xi[1] * y[i]
		sxx += xi[1] * xi[1]
		for r := range 4 {
			b[r] += xi[r] * y[i]
			for c := range 4 {
				A[r][c] += xi[r] * xi[c]
			}
		}
	}
	return sxy / sxx, solve(A, b)
}

// solve is Gaussian elimination with partial pivoting (A is changed).
func solve(A [][]float64, b []float64) []float64 {
	n := len(b)
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(A[r][c]) > math.Abs(A[p][c]) {
				p = r
			}
		}
		A[c], A[p], b[c], b[p] = A[p], A[c], b[p], b[c]
		for r := c + 1; r < n; r++ {
			f := A[r][c] / A[c][c]
			for k := c; k < n; k++ {
				A[r][k] -= f * A[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	out := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		v := b[r]
		for k := r + 1; k < n; k++ {
			v -= A[r][k] * out[k]
		}
		out[r] = v / A[r][r]
	}
	return out
}

// phFires feeds the loss differences of the predictions at rows [lo, hi)
// to a detector, each when its target is known (horizon rows later), and
// returns the rows at which it fired.
func phFires(t *testing.T, cfg PHConfig, diff []float64, lo, hi int) []int {
	p, err := NewPageHinkley(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var fires []int
	for i := lo; i < hi; i++ {
		if p.Add(diff[i]).Fire {
			fires = append(fires, i+horizon)
		}
	}
	return fires
}

func calibratePH(t *testing.T, s series) {
	diff := lossDiff(s)
	clo, chi := s.span(31, 60)
	for _, delta := range []float64{0.02, 0.05, 0.1} {
		for _, lambda := range []float64{50, 100, 200, 400} {
			cfg := DefaultPH
			cfg.Delta, cfg.Lambda = delta, lambda
			fa := perWeek(len(phFires(t, cfg, diff, clo, chi)), chi-clo)
			fmt.Printf("%s PH delta=%g lambda=%g  FA/week d31-60=%.2f\n", s.pair, delta, lambda, fa)
		}
	}
}

// report measures the fixed defaults: reference and limits on days 1–30,
// false alarms per week over days 31–60, 61–90 and all 90 days, and the
// splice of the most volatile of the 90 days into the 5 calmest.
func report(t *testing.T, s series) {
	rlo, rhi := s.span(1, 30)
	base, err := NewReference(s.rows[rlo:rhi])
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Calibrate(base, DefaultPSI, s.rows[rlo:rhi])
	if err != nil {
		t.Fatal(err)
	}
	diff := lossDiff(s)
	for _, d := range [][2]int{{1, 90}, {31, 60}, {61, 90}} {
		lo, hi := s.span(d[0], d[1])
		psi := perWeek(len(psiFires(t, ref, DefaultPSI, s.rows, lo, hi)), hi-lo)
		ph := perWeek(len(phFires(t, DefaultPH, diff, lo, hi-horizon)), hi-lo)
		t.Logf("%s days %d-%d: false alarms/week psi %.2f, error %.2f", s.pair, d[0], d[1], psi, ph)
	}
	hvDay, cases := spliceCases(t, s, 90, 5)
	for _, c := range cases {
		f := psiFires(t, ref, DefaultPSI, c.rows, c.at-240, len(c.rows))
		dp, early := delay(len(c.rows), c.at, 240, func(i int) bool { return slices.Contains(f, i) })
		sp := series{pair: s.pair, candles: c.candles, rows: c.rows}
		e := phFires(t, DefaultPH, lossDiffWith(s, sp), c.at-240-horizon, len(c.rows)-horizon)
		de, _ := delay(len(c.rows), c.at, 240, func(i int) bool { return slices.Contains(e, i) })
		t.Logf("%s splice day %d (from its most volatile hour) into calm day %d: candles to psi %d (fired before: %v), to error %d",
			s.pair, hvDay, c.calmDay, dp, early, de)
	}
}
