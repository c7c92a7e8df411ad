package training

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// BacktestVolSVG plots each series' per-day vol skill of frozen, retrain
// and updated against its baseline (d): one panel per series, a zero line,
// the y range shared by every panel.
func BacktestVolSVG(rep BacktestReport) []byte {
	const w, ph, left, right, top = 760.0, 170.0, 60.0, 740.0, 40.0
	colors := map[string]string{BacktestFrozen: "#7f7f7f", BacktestRetrain: "#1f77b4", BacktestUpdated: "#d62728"}
	lo, hi := -0.05, 0.05
	for _, s := range rep.Series {
		for _, p := range volProducts(s) {
			for _, v := range p.Daily {
				for _, x := range v {
					if finite(float64(x)) {
						lo, hi = math.Min(lo, float64(x)), math.Max(hi, float64(x))
					}
				}
			}
		}
	}
	lo, hi = math.Floor(lo*20)/20, math.Ceil(hi*20)/20
	var b strings.Builder
	h := top + ph*float64(len(rep.Series)) + 30
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="11">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%g" y="20" text-anchor="middle" font-size="14" font-weight="bold">Per-day vol skill vs the best baseline: frozen (grey), daily retrain (blue), retrain + updates (red)</text>`+"\n", w/2)
	for k, s := range rep.Series {
		y0 := top + ph*float64(k)
		y1 := y0 + ph - 30
		yat := func(v float64) float64 { return y1 - (v-lo)/(hi-lo)*(y1-y0) }
		p := volProducts(s)
		base := ""
		if len(p) > 0 {
			base = p[0].Baseline
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g">%s h%d vs %s (y: %.2f … %.2f)</text>`+"\n", left, y0-4, html.EscapeString(s.Pair), s.Horizon, html.EscapeString(base), lo, hi)
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#ccc"/>`+"\n", left, y0, right-left, y1-y0)
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#000" stroke-dasharray="3,3"/>`+"\n", left, yat(0), right, yat(0))
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end">0</text>`+"\n", left-4, yat(0)+4)
		n := len(s.Days)
		xat := func(i int) float64 { return left + (float64(i)+0.5)/float64(max(n, 1))*(right-left) }
		if n > 0 {
			fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="start">%s</text><text x="%g" y="%g" text-anchor="end">%s</text>`+"\n",
				left, y1+14, s.Days[0], right, y1+14, s.Days[n-1])
		}
		for _, name := range []string{BacktestFrozen, BacktestRetrain, BacktestUpdated} {
			if len(p) == 0 || p[0].Daily[name] == nil {
				continue
			}
			var pts []string
			for i, v := range p[0].Daily[name] {
				if finite(float64(v)) {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", xat(i), yat(float64(v))))
				}
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", colors[name], strings.Join(pts, " "))
		}
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func volProducts(s BacktestSeriesReport) []BacktestProductReport {
	for _, p := range s.Products {
		if p.Product == ProductVol {
			return []BacktestProductReport{p}
		}
	}
	return nil
}
