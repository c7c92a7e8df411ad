package scoring

import (
	"math"
	"time"
)

// Prequential evaluation (test-then-train): every served prediction is
// scored when its label arrives, and its losses — the model's and its
// baseline's, per product — are summed into the candle of its target time.
// A series keeps one slot per candle of the longest window (1440 for a day
// of one-minute candles), reused in a ring: memory is fixed per series
// whatever the prediction rate (several model versions per as_of, replays),
// which a ring of the last N entries would not give for a span of time, and
// a window is the sum of its candles' slots, so its edge is exact. A
// corrected row takes the old losses out of their slot before adding the
// new ones.

// Windows are the spans, ending at the scorer's market clock, over which
// Score.Windows is kept: a window holds the predictions whose target time is
// in (clock − span, clock].
var Windows = []struct {
	Name string
	Span time.Duration
}{{"1h", time.Hour}, {"1d", 24 * time.Hour}}

// Products scored per window, in WindowScore's order.
const (
	prodReturn = iota
	prodVol
	prodQuantiles
	prodPUp
	numProducts
)

// Skill is a product's prequential score over a window: the mean loss of
// the model and of its baseline on the same N predictions, and
// 1 − Loss/BaselineLoss (0 while the baseline's loss is 0).
type Skill struct {
	N            int     `json:"n"`
	Loss         float64 `json:"loss"`
	BaselineLoss float64 `json:"baseline_loss"`
	Skill        float64 `json:"skill"`
}

// BandSkill is the quantiles' Skill (mean pinball loss over p10, p50 and
// p90, in log returns, beside the last-rv Gaussian band's with median 0)
// with the band coverages on the same rows.
type BandSkill struct {
	Skill
	Coverage         float64 `json:"coverage"`
	BaselineCoverage float64 `json:"baseline_coverage"`
}

// WindowScore is one window's prequential score of a pair and horizon; the
// baselines are those of Score and ProductScore: zero return (MAE of log
// returns), last-rv (vol MAE), the last-rv Gaussian band (pinball) and 0.5
// (Brier).
type WindowScore struct {
	Candles   int       `json:"candles"` // the window's length
	Return    Skill     `json:"return"`
	Vol       Skill     `json:"vol"`
	Quantiles BandSkill `json:"quantiles"`
	PUp       Skill     `json:"p_up"`
}

// ProductSkill is a product's name (return, vol, quantiles, p_up) and Skill.
type ProductSkill struct {
	Product string
	Skill
}

// ByProduct lists w's products in that order.
func (w WindowScore) ByProduct() []ProductSkill {
	return []ProductSkill{{"return", w.Return}, {"vol", w.Vol}, {"quantiles", w.Quantiles.Skill}, {"p_up", w.PUp}}
}

// sums are the losses of the predictions counted in a slot or window.
type sums struct {
	n           int
	model, base float64
}

// slot holds the losses of the predictions targeting one candle.
type slot struct {
	idx       int64 // the candle (target / interval) the sums are of
	p         [numProducts]sums
	cov, bcov float64 // band coverage counts, on the quantiles' rows
}

// buckets is a series' ring of slots, allocated at its first score.
type buckets []slot

// losses are e's model and baseline losses per product (NaN: not scored).
func (e *entry) losses() [numProducts][2]float64 {
	o := &e.prod
	return [numProducts][2]float64{
		{e.absErr, e.baseErr}, {o.volErr, o.volBaseErr}, {o.pinball, o.pinballBase}, {o.brier, o.brierBase},
	}
}

// add counts (sign 1) or takes back (sign −1) e's losses in the slot of
// its target candle; a slot of a newer candle is left alone (e is older
// than the ring).
func (b buckets) add(e *entry, candle int64, sign float64) {
	sl := &b[mod(candle, len(b))]
	switch {
	case sl.idx > candle:
		return
	case sl.idx < candle:
		if sign < 0 {
			return
		}
		*sl = slot{idx: candle}
	}
	for i, l := range e.losses() {
		if !finite(l[0]) || !finite(l[1]) {
			continue
		}
		s := &sl.p[i]
		s.n += int(sign)
		s.model += sign * l[0]
		s.base += sign * l[1]
		if i == prodQuantiles {
			sl.cov += sign * e.prod.inBand
			sl.bcov += sign * e.prod.baseInBand
		}
	}
}

// window sums the slots of the candles clock−candles+1 … clock.
func (b buckets) window(clock int64, candles int) WindowScore {
	var acc slot
	for c := clock - int64(candles) + 1; c <= clock; c++ {
		sl := &b[mod(c, len(b))]
		if sl.idx != c {
			continue
		}
		for i := range acc.p {
			acc.p[i].n += sl.p[i].n
			acc.p[i].model += sl.p[i].model
			acc.p[i].base += sl.p[i].base
		}
		acc.cov += sl.cov
		acc.bcov += sl.bcov
	}
	w := WindowScore{Candles: candles, Return: acc.p[prodReturn].skill(), Vol: acc.p[prodVol].skill(),
		Quantiles: BandSkill{Skill: acc.p[prodQuantiles].skill()}, PUp: acc.p[prodPUp].skill()}
	if n := float64(acc.p[prodQuantiles].n); n > 0 {
		w.Quantiles.Coverage, w.Quantiles.BaselineCoverage = acc.cov/n, acc.bcov/n
	}
	return w
}

func (s sums) skill() Skill {
	if s.n <= 0 {
		return Skill{}
	}
	k := Skill{N: s.n, Loss: s.model / float64(s.n), BaselineLoss: s.base / float64(s.n)}
	if k.BaselineLoss > 0 {
		k.Skill = 1 - k.Loss/k.BaselineLoss
	}
	return k
}

func mod(c int64, n int) int {
	m := c % int64(n)
	if m < 0 {
		m += int64(n)
	}
	return int(m)
}

// candles is how many candles of iv span covers (at least one).
func candles(span, iv time.Duration) int { return max(1, int(span/iv)) }

// pinball is the mean pinball loss of the p10, p50 and p90 log-return
// quantiles q at the realized log return r.
func pinball(r float64, q [3]float64) float64 {
	var sum float64
	for i, tau := range [3]float64{0.1, 0.5, 0.9} {
		u := r - q[i]
		sum += math.Max(tau*u, (tau-1)*u)
	}
	return sum / 3
}
