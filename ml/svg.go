package ml

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Plots are hand-written SVG: a fixed-size canvas, one plot area with linear
// axes and "nice" ticks (1, 2, 5 × 10^k, or calendar steps for time), at most
// maxPoints marks. Return axes span the central 99% of the values so a few
// extreme minutes do not squash the rest; marks beyond are drawn on the edge
// and counted in the caption.

const (
	maxPoints     = 2000
	plotW, plotH  = 760.0, 480.0
	robustQ       = 0.005 // axis range: quantiles robustQ … 1−robustQ
	colorPoint    = "#1f77b4"
	colorRef      = "#d62728"
	colorGrid     = "#e5e5e5"
	pointOpacity  = "0.45"
	barColor      = "#4c72b0"
	maxBarsInPlot = 40
)

// rungColor is the colour of a rung's marks in the tuning plot.
func rungColor(rung int) string {
	colors := [...]string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}
	n := len(colors)
	return colors[(rung%n+n)%n]
}

type canvas struct {
	b                        strings.Builder
	w, h                     float64
	left, right, top, bottom float64 // the plot area's pixel bounds
}

func newCanvas(w, h, marginLeft float64, title string) *canvas {
	c := &canvas{w: w, h: h, left: marginLeft, right: w - 20, top: 50, bottom: h - 60}
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&c.b, "<title>%s</title>\n", esc(title))
	fmt.Fprintf(&c.b, `<rect width="%g" height="%g" fill="white"/>`+"\n", w, h)
	c.text(w/2, 22, "middle", `font-size="15" font-weight="bold"`, title)
	return c
}

func (c *canvas) bytes() []byte {
	c.b.WriteString("</svg>\n")
	return []byte(c.b.String())
}

func (c *canvas) text(x, y float64, anchor, attrs, s string) {
	fmt.Fprintf(&c.b, `<text x="%.1f" y="%.1f" text-anchor="%s" %s>%s</text>`+"\n", x, y, anchor, attrs, esc(s))
}

func (c *canvas) line(x1, y1, x2, y2 float64, stroke, attrs string) {
	fmt.Fprintf(&c.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" %s/>`+"\n", x1, y1, x2, y2, stroke, attrs)
}

func (c *canvas) circle(x, y, r float64, fill, opacity string) {
	fmt.Fprintf(&c.b, `<circle cx="%.1f" cy="%.1f" r="%g" fill="%s" fill-opacity="%s"/>`+"\n", x, y, r, fill, opacity)
}

func (c *canvas) caption(s string) { c.text(c.w/2, 38, "middle", `fill="#555"`, s) }

// empty draws a message in place of a plot that has nothing to show.
func (c *canvas) empty(msg string) []byte {
	c.text(c.w/2, c.h/2, "middle", `fill="#555" font-size="14"`, msg)
	return c.bytes()
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder, which never fails
	return b.String()
}

// axis maps data values [lo, hi] onto pixels [px0, px1].
type axis struct {
	lo, hi, px0, px1 float64
	time             bool // values are Unix seconds
}

func (a axis) at(v float64) float64 {
	v = min(max(v, a.lo), a.hi)
	return a.px0 + (v-a.lo)/(a.hi-a.lo)*(a.px1-a.px0)
}

func (a axis) ticks() []float64 {
	if a.time {
		return timeTicks(a.lo, a.hi)
	}
	return niceTicks(a.lo, a.hi, 6)
}

func (a axis) label(v float64) string {
	if a.time {
		return time.Unix(int64(v), 0).UTC().Format("01-02 15:04")
	}
	if math.Abs(v) < 1e-15*math.Max(math.Abs(a.lo), math.Abs(a.hi)) {
		v = 0
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func (c *canvas) xAxis(a axis, label string) {
	c.line(c.left, c.bottom, c.right, c.bottom, "#333", "")
	for _, v := range a.ticks() {
		x := a.at(v)
		c.line(x, c.top, x, c.bottom, colorGrid, "")
		c.line(x, c.bottom, x, c.bottom+5, "#333", "")
		c.text(x, c.bottom+18, "middle", "", a.label(v))
	}
	c.text((c.left+c.right)/2, c.h-18, "middle", "", label)
}

func (c *canvas) yAxis(a axis, label string) {
	c.line(c.left, c.top, c.left, c.bottom, "#333", "")
	for _, v := range a.ticks() {
		y := a.at(v)
		c.line(c.left, y, c.right, y, colorGrid, "")
		c.line(c.left-5, y, c.left, y, "#333", "")
		c.text(c.left-8, y+4, "end", "", a.label(v))
	}
	c.text(16, (c.top+c.bottom)/2, "middle", fmt.Sprintf(`transform="rotate(-90 16 %.1f)"`, (c.top+c.bottom)/2), label)
}

func (c *canvas) xScale(lo, hi float64) axis { return axis{lo: lo, hi: hi, px0: c.left, px1: c.right} }
func (c *canvas) yScale(lo, hi float64) axis { return axis{lo: lo, hi: hi, px0: c.bottom, px1: c.top} }

// niceTicks returns about n round values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	step := niceStep((hi - lo) / float64(n))
	var out []float64
	for i := math.Ceil(lo / step); i*step <= hi+step*1e-9; i++ {
		out = append(out, i*step)
	}
	return out
}

func niceStep(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	switch f := x / p; {
	case f < 1.5:
		return p
	case f < 3:
		return 2 * p
	case f < 7:
		return 5 * p
	}
	return 10 * p
}

// timeTicks returns at most 7 ticks on calendar steps covering [lo, hi] (Unix s).
func timeTicks(lo, hi float64) []float64 {
	steps := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 3 * time.Hour,
		6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour}
	step := steps[len(steps)-1].Seconds()
	for _, s := range steps {
		if (hi-lo)/s.Seconds() <= 6 {
			step = s.Seconds()
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, v)
	}
	return out
}

// robustRange is the [robustQ, 1−robustQ] quantile range of v, widened when
// degenerate, and padded by 5%.
func robustRange(v []float64) (lo, hi float64) {
	s := finiteSorted(v)
	if len(s) == 0 {
		return -1, 1
	}
	lo, hi = quantile(s, robustQ), quantile(s, 1-robustQ)
	if hi-lo <= 1e-12*math.Max(math.Abs(lo), math.Abs(hi)) || hi == lo {
		d := math.Max(math.Abs(lo)*0.1, 1e-6)
		return lo - d, hi + d
	}
	pad := (hi - lo) * 0.05
	return lo - pad, hi + pad
}

func finiteSorted(v []float64) []float64 {
	s := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s = append(s, x)
		}
	}
	slices.Sort(s)
	return s
}

// sampleIndexes returns at most maxPoints indexes of n, evenly spread.
func sampleIndexes(n int) []int {
	k := min(n, maxPoints)
	out := make([]int, k)
	for i := range out {
		out[i] = int(int64(i) * int64(n) / int64(k))
	}
	return out
}

func outside(v, lo, hi float64) bool { return v < lo || v > hi }

func shownCaption(shown, n, clipped int) string {
	s := fmt.Sprintf("%d of %d test rows shown", shown, n)
	if clipped > 0 {
		s += fmt.Sprintf("; %d beyond the central 99%% drawn on the edge", clipped)
	}
	return s
}

// predVsRealizedSVG plots predicted against realized returns with the line y = x.
func predVsRealizedSVG(r Report) []byte {
	c := newCanvas(plotW, plotH, 80, fmt.Sprintf("%s h=%d %s: predicted vs realized log return", r.Pair, r.Horizon, r.Model))
	if len(r.Test) == 0 {
		return c.empty("no test rows")
	}
	xs, ys := make([]float64, len(r.Test)), make([]float64, len(r.Test))
	for i, p := range r.Test {
		xs[i], ys[i] = p.Realized, p.Pred
	}
	xlo, xhi := robustRange(xs)
	ylo, yhi := robustRange(ys)
	if s := finiteSorted(ys); len(s) > 0 && s[0] == s[len(s)-1] && s[0] >= xlo && s[0] <= xhi {
		ylo, yhi = xlo, xhi // a constant prediction (zero-return): show it on the realized scale
	}
	xa, ya := c.xScale(xlo, xhi), c.yScale(ylo, yhi)
	c.xAxis(xa, "realized log return")
	c.yAxis(ya, "predicted log return")
	if lo, hi := max(xlo, ylo), min(xhi, yhi); lo < hi {
		c.line(xa.at(lo), ya.at(lo), xa.at(hi), ya.at(hi), colorRef, `stroke-dasharray="5,4"`)
	}
	idx := sampleIndexes(len(r.Test))
	clipped := 0
	for _, i := range idx {
		if outside(xs[i], xlo, xhi) || outside(ys[i], ylo, yhi) {
			clipped++
		}
		c.circle(xa.at(xs[i]), ya.at(ys[i]), 2, colorPoint, pointOpacity)
	}
	c.caption(shownCaption(len(idx), len(r.Test), clipped) + "; dashed: predicted = realized")
	return c.bytes()
}

// residualsSVG plots realized − predicted over time.
func residualsSVG(r Report) []byte {
	c := newCanvas(plotW, plotH, 80, fmt.Sprintf("%s h=%d %s: residuals (realized − predicted) on the test window", r.Pair, r.Horizon, r.Model))
	if len(r.Test) == 0 {
		return c.empty("no test rows")
	}
	res := make([]float64, len(r.Test))
	for i, p := range r.Test {
		res[i] = p.Realized - p.Pred
	}
	t0, t1 := float64(r.Test[0].TS.Unix()), float64(r.Test[len(r.Test)-1].TS.Unix())
	if t1 <= t0 {
		t1 = t0 + 60
	}
	ylo, yhi := robustRange(res)
	xa := c.xScale(t0, t1)
	xa.time = true
	ya := c.yScale(ylo, yhi)
	c.xAxis(xa, "time (UTC, MM-DD hh:mm)")
	c.yAxis(ya, "residual log return")
	if ylo < 0 && yhi > 0 {
		c.line(c.left, ya.at(0), c.right, ya.at(0), colorRef, `stroke-dasharray="5,4"`)
	}
	idx := sampleIndexes(len(r.Test))
	clipped := 0
	for _, i := range idx {
		if outside(res[i], ylo, yhi) {
			clipped++
		}
		c.circle(xa.at(float64(r.Test[i].TS.Unix())), ya.at(res[i]), 2, colorPoint, pointOpacity)
	}
	c.caption(shownCaption(len(idx), len(r.Test), clipped))
	return c.bytes()
}

// importanceSVG draws a horizontal bar per feature, largest first.
func importanceSVG(r Report) []byte {
	type kv struct {
		name string
		v    float64
	}
	var bars []kv
	for k, v := range r.Importance {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			bars = append(bars, kv{k, v})
		}
	}
	slices.SortFunc(bars, func(a, b kv) int { return cmp.Or(cmp.Compare(b.v, a.v), cmp.Compare(a.name, b.name)) })
	bars = bars[:min(len(bars), maxBarsInPlot)]
	h := math.Max(plotH, 110+22*float64(len(bars)))
	c := newCanvas(plotW, h, 140, fmt.Sprintf("%s h=%d %s: feature importance (gain)", r.Pair, r.Horizon, r.Model))
	if len(bars) == 0 {
		return c.empty("no feature importance given (a baseline model has none)")
	}
	hi := bars[0].v
	lo := math.Min(0, bars[len(bars)-1].v)
	if hi <= lo {
		hi = lo + 1
	}
	xa := c.xScale(lo, hi*1.05)
	c.xAxis(xa, "importance (gain)")
	c.line(c.left, c.top, c.left, c.bottom, "#333", "")
	slot := (c.bottom - c.top) / float64(len(bars))
	for i, b := range bars {
		y := c.top + float64(i)*slot
		x0, x1 := xa.at(math.Min(0, b.v)), xa.at(math.Max(0, b.v))
		fmt.Fprintf(&c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x0, y+slot*0.15, x1-x0, slot*0.7, barColor)
		c.text(c.left-6, y+slot/2+4, "end", "", b.name)
	}
	return c.bytes()
}

// tuningSVG plots each trial's CV score in run order (rung, then ID), one
// colour per rung, and the best score so far.
func tuningSVG(r Report) []byte {
	c := newCanvas(plotW, plotH, 90, fmt.Sprintf("%s h=%d %s: tuning history", r.Pair, r.Horizon, r.Model))
	c.top += 20 // room for the legend
	var ok []TrialResult
	for _, t := range r.Trials {
		if t.Err == "" && !math.IsNaN(t.Score) && !math.IsInf(t.Score, 0) {
			ok = append(ok, t)
		}
	}
	failed := len(r.Trials) - len(ok)
	if len(ok) == 0 {
		return c.empty(fmt.Sprintf("no successful tuning trials (%d failed)", failed))
	}
	slices.SortFunc(ok, func(a, b TrialResult) int { return cmp.Or(cmp.Compare(a.Rung, b.Rung), cmp.Compare(a.ID, b.ID)) })
	scores := make([]float64, len(ok))
	for i, t := range ok {
		scores[i] = t.Score
	}
	s := finiteSorted(scores)
	ylo, yhi := s[0], s[len(s)-1]
	pad := math.Max((yhi-ylo)*0.05, math.Abs(yhi)*1e-3)
	xa, ya := c.xScale(0, math.Max(1, float64(len(ok)-1))), c.yScale(ylo-pad, yhi+pad)
	c.xAxis(xa, "trial (in run order: rung, then id)")
	c.yAxis(ya, "CV score (mean validation MAE)")
	idx := sampleIndexes(len(ok))
	best, path := math.Inf(1), strings.Builder{}
	for _, i := range idx {
		t := ok[i]
		c.circle(xa.at(float64(i)), ya.at(t.Score), 4, rungColor(t.Rung), "0.85")
		best = math.Min(best, t.Score)
		fmt.Fprintf(&path, "%.1f,%.1f ", xa.at(float64(i)), ya.at(best))
	}
	fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="#333" stroke-width="1.5"/>`+"\n", strings.TrimSpace(path.String()))
	c.tuningLegend(ok)
	c.caption(fmt.Sprintf("%d successful trial results, %d failed; line: best score so far", len(ok), failed))
	return c.bytes()
}

func (c *canvas) tuningLegend(ok []TrialResult) {
	counts := map[int]int{}
	for _, t := range ok {
		counts[t.Rung]++
	}
	x := c.left
	for _, rung := range slices.Sorted(maps.Keys(counts)) { // one row above the plot area
		fmt.Fprintf(&c.b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", x+4, c.top-12, rungColor(rung))
		c.text(x+12, c.top-8, "start", "", fmt.Sprintf("rung %d: %d", rung, counts[rung]))
		x += 110
	}
}
