package ml

import (
	"fmt"
	"math"
)

// KrakenTakerFee is Kraken Pro's taker fee per side at the lowest volume tier
// (0.40%), the cost the backtest charges per unit of position change.
const KrakenTakerFee = 0.0040

// DefaultResamples is the number of bootstrap resamples behind the skill interval.
const DefaultResamples = 1000

// z95 is the standard normal quantile of 0.975: 95% two-sided intervals.
const z95 = 1.959963984540054

// Metrics describe predictions of log returns against the realized ones.
// Undefined values are NaN (JSON null): DirAcc when no row has both a
// predicted and a realized direction, Skill without a baseline, HitRate
// without trades.
type Metrics struct {
	N         int     // rows evaluated
	MAE, RMSE float64 // of log returns
	// PriceMAE, PriceRMSE compare close·exp(pred) with close·exp(realized), in quote currency.
	PriceMAE, PriceRMSE float64
	DirN                int     // rows with pred ≠ 0 and realized ≠ 0: those DirAcc counts
	DirAcc              float64 // share of DirN rows where sign(pred) = sign(realized)
	DirAccLo, DirAccHi  float64 // Wilson 95% interval, over DirN/h effective trials
	Skill               float64 // 1 − MAE/MAE_baseline
	SkillLo, SkillHi    float64 // paired moving-block bootstrap 95% percentile interval
	Backtest            Backtest
}

// Eval evaluates predictions for one horizon. The zero value is usable:
// horizon 1, no fee, seed 0, DefaultResamples, automatic block length.
type Eval struct {
	Horizon   int     // h in candles (≥ 1): block floor, DirN/h effective trials, backtest step
	Fee       float64 // backtest cost per side, e.g. KrakenTakerFee
	Seed      int64   // bootstrap seed: equal inputs give equal intervals
	Resamples int     // bootstrap resamples; 0 means DefaultResamples
	Block     int     // bootstrap block length; raised to at least max(h, ⌈n^(1/3)⌉)
}

// Evaluate is Eval{Horizon: 1, Fee: fee, Seed: seed}.Evaluate: use Eval
// directly for horizons above 1.
func Evaluate(pred, realized, close []float64, baseline []float64, fee float64, seed int64) Metrics {
	return Eval{Horizon: 1, Fee: fee, Seed: seed}.Evaluate(pred, realized, close, baseline)
}

// Evaluate computes the metrics of pred against realized. close (for the price
// metrics) and baseline (the reference for Skill, normally the zero-return
// predictions) may be nil; non-nil slices must have len(realized) elements,
// a programming error otherwise (it panics).
func (e Eval) Evaluate(pred, realized, close, baseline []float64) Metrics {
	n := len(realized)
	for _, s := range [][]float64{close, baseline} {
		if s != nil && len(s) != n {
			panic(fmt.Sprintf("ml.Evaluate: %d values for %d realized returns", len(s), n))
		}
	}
	if len(pred) != n {
		panic(fmt.Sprintf("ml.Evaluate: %d predictions for %d realized returns", len(pred), n))
	}
	h := max(e.Horizon, 1)
	m := Metrics{N: n}
	m.MAE, m.RMSE = errorStats(pred, realized, nil)
	m.PriceMAE, m.PriceRMSE = math.NaN(), math.NaN()
	if close != nil {
		m.PriceMAE, m.PriceRMSE = errorStats(pred, realized, close)
	}
	var hits int
	hits, m.DirN = directions(pred, realized)
	m.DirAcc, m.DirAccLo, m.DirAccHi = Wilson(hits, m.DirN, float64(m.DirN)/float64(h))
	m.Skill, m.SkillLo, m.SkillHi = math.NaN(), math.NaN(), math.NaN()
	if baseline != nil {
		m.Skill, m.SkillLo, m.SkillHi = e.skill(pred, baseline, realized)
	}
	m.Backtest = RunBacktest(pred, realized, e.Fee, h)
	return m
}

// errorStats returns the MAE and RMSE of pred against realized: of the returns
// when close is nil, else of the prices close·exp(·).
func errorStats(pred, realized, close []float64) (mae, rmse float64) {
	if len(realized) == 0 {
		return math.NaN(), math.NaN()
	}
	var abs, sq float64
	for i, y := range realized {
		d := pred[i] - y
		if close != nil {
			d = close[i]*math.Exp(pred[i]) - close[i]*math.Exp(y)
		}
		abs += math.Abs(d)
		sq += d * d
	}
	n := float64(len(realized))
	return abs / n, math.Sqrt(sq / n)
}

// directions counts the rows where both pred and realized have a sign, and
// the hits among them: a zero prediction claims no direction.
func directions(pred, realized []float64) (hits, n int) {
	for i, y := range realized {
		p := pred[i]
		if p == 0 || y == 0 || math.IsNaN(p) || math.IsNaN(y) {
			continue
		}
		n++
		if (p > 0) == (y > 0) {
			hits++
		}
	}
	return hits, n
}

// Wilson returns the share hits/n and its Wilson 95% score interval computed
// as if from nEff independent trials (nEff = n for independent rows); NaN
// when n or nEff is 0.
func Wilson(hits, n int, nEff float64) (p, lo, hi float64) {
	if n <= 0 || !(nEff > 0) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	p = float64(hits) / float64(n)
	z2 := z95 * z95
	den := 1 + z2/nEff
	center := (p + z2/(2*nEff)) / den
	half := z95 / den * math.Sqrt(p*(1-p)/nEff+z2/(4*nEff*nEff))
	return p, max(0, center-half), min(1, center+half)
}

// skill is 1 − MAE(pred)/MAE(base) with a paired circular moving-block
// bootstrap percentile interval (SkillBootstrap on the absolute errors, blocks
// of at least max(h, ⌈n^⅓⌉) rows); NaN where undefined (no rows, a baseline
// MAE of 0, non-finite errors).
func (e Eval) skill(pred, base, realized []float64) (s, lo, hi float64) {
	n := len(realized)
	h := max(e.Horizon, 1)
	b := SkillBootstrap{Block: max(e.Block, h, int(math.Ceil(math.Cbrt(float64(n))))), Horizon: h,
		Resamples: max(e.Resamples, 0), Seed: uint64(e.Seed)}
	ci, err := b.Skill(AbsErrors(pred, realized), AbsErrors(base, realized))
	if err != nil {
		return math.NaN(), math.NaN(), math.NaN()
	}
	return ci.Skill, ci.Lo, ci.Hi
}

// circularSums returns prefix sums over v followed by v again, so that the sum
// of k ≤ len(v) values starting at i, wrapping around, is c[i+k] − c[i].
func circularSums(v []float64) []float64 {
	c := make([]float64, 2*len(v)+1)
	for i := range 2 * len(v) {
		c[i+1] = c[i] + v[i%len(v)]
	}
	return c
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// quantile of sorted values, interpolating linearly between order statistics.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}
