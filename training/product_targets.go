package training

import (
	"math"
	"slices"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
)

// closeGrid is a pair's closes on the candle grid from its first candle to
// its last: a missing candle takes the previous close (a zero return) and is
// counted, so that a window holding one can be refused. The Binance 90 days
// have none.
type closeGrid struct {
	first   time.Time // end of the first candle
	iv      time.Duration
	closes  []float64
	missing []int // missing[k]: missing candles at grid indices ≤ k
}

func newCloseGrid(candles []market.Candle, iv time.Duration) closeGrid {
	cs := slices.Clone(candles)
	slices.SortFunc(cs, func(a, b market.Candle) int { return a.End.Compare(b.End) })
	g := closeGrid{iv: iv}
	if len(cs) == 0 || iv <= 0 {
		return g
	}
	g.first = cs[0].End
	n := int(cs[len(cs)-1].End.Sub(g.first)/iv) + 1
	g.closes, g.missing = make([]float64, n), make([]int, n)
	have := make([]bool, n)
	for _, c := range cs {
		if k, ok := g.index(c.End); ok && c.Close > 0 {
			g.closes[k], have[k] = c.Close, true
		}
	}
	for k := range n {
		if !have[k] {
			g.missing[k]++
			if k > 0 {
				g.closes[k] = g.closes[k-1]
			}
		}
		if k > 0 {
			g.missing[k] += g.missing[k-1]
		}
	}
	return g
}

// index is the grid index of the candle ending at ts.
func (g closeGrid) index(ts time.Time) (int, bool) {
	d := ts.Sub(g.first)
	if d < 0 || d%g.iv != 0 || int(d/g.iv) >= len(g.closes) {
		return -1, false
	}
	return int(d / g.iv), true
}

// complete reports whether every candle in (a, b] is on the grid and real.
func (g closeGrid) complete(a, b int) bool {
	if a < 0 || b >= len(g.closes) || a > b {
		return false
	}
	return g.missing[b]-g.missing[a] == 0
}

// productData is, per dataset row, each product's target and the vol
// baselines' forecasts (NaN where undefined: a target past the last candle,
// a window over a missing candle, a row off the grid).
type productData struct {
	vol, ret     []float64 // √Σr² over (t, t+h]; ln(close[t+h]/close[t])
	dir          []ml.Dir
	lastRV, ewma []float64
	har          []float64
	harModel     ml.HAR
	harWarm      int // the longest HAR window: rows need that much history
	gridOfRow    []int
	harFit       Span // grid indices the HAR was fitted on
}

// buildProductData computes the targets and vol baselines of every row of
// ds from the pair's candles; the HAR is fitted on the grid rows of train
// only (the split's purge gap keeps its targets out of later spans).
func buildProductData(ds ml.Dataset, candles []market.Candle, train Span) (productData, error) {
	g := newCloseGrid(candles, ds.Interval)
	h := ds.Horizon
	c := ml.SquaredReturnSums(g.closes)
	windows := ml.HARWindows(h)
	pd := productData{harWarm: slices.Max(windows)}
	pd.gridOfRow = make([]int, ds.Len())
	for i, ts := range ds.TS {
		pd.gridOfRow[i], _ = g.index(ts)
	}
	lo, hi := gridSpan(pd.gridOfRow, train)
	har, err := ml.FitHAR(c, h, windows, lo, hi)
	if err != nil {
		return pd, invalidf("products %s h%d: %v", ds.Pair, h, err)
	}
	pd.harModel, pd.harFit = har, Span{lo, hi}
	fut, ret, dir := ml.FutureVol(c, h), ml.FutureReturn(g.closes, h), ml.DirectionLabels(g.closes, h)
	last, ewma, hp := ml.LastWindowVol(c, h), ml.EWMAVol(c, h, ml.RiskMetricsLambda), har.Predict(c)
	n := ds.Len()
	pd.vol, pd.ret, pd.dir = nanSlice(n), nanSlice(n), make([]ml.Dir, n)
	pd.lastRV, pd.ewma, pd.har = nanSlice(n), nanSlice(n), nanSlice(n)
	for i, k := range pd.gridOfRow {
		pd.dir[i] = ml.DirNone
		if k < 0 {
			continue
		}
		if g.complete(k, k+h) {
			pd.vol[i], pd.ret[i], pd.dir[i] = fut[k], ret[k], dir[k]
		}
		if g.complete(k-h, k) {
			pd.lastRV[i] = last[k]
		}
		if g.complete(k-pd.harWarm, k) {
			pd.har[i], pd.ewma[i] = hp[k], ewma[k]
		}
	}
	return pd, nil
}

// gridSpan is the grid range [lo, hi) of the dataset rows in s.
func gridSpan(grid []int, s Span) (lo, hi int) {
	lo, hi = -1, -1
	for i := s.Lo; i < s.Hi; i++ {
		if grid[i] >= 0 {
			if lo < 0 {
				lo = grid[i]
			}
			hi = grid[i] + 1
		}
	}
	return max(lo, 0), max(hi, 0)
}

// scored are the rows of s where the product's target and every baseline
// are defined: model and baselines are scored on the same rows.
func (pd productData) scored(s Span) []int {
	var rows []int
	for i := s.Lo; i < s.Hi; i++ {
		if finite(pd.vol[i], pd.ret[i], pd.lastRV[i], pd.ewma[i], pd.har[i]) && pd.dir[i] != ml.DirNone {
			rows = append(rows, i)
		}
	}
	return rows
}

// labelled are the rows of s with a defined vol target (training rows).
func (pd productData) labelled(s Span) []int {
	var rows []int
	for i := s.Lo; i < s.Hi; i++ {
		if finite(pd.vol[i], pd.ret[i]) {
			rows = append(rows, i)
		}
	}
	return rows
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func nanSlice(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}

// pick returns v at rows.
func pick[T any](v []T, rows []int) []T {
	out := make([]T, len(rows))
	for j, i := range rows {
		out[j] = v[i]
	}
	return out
}
