package drift

import (
	"fmt"
	"math"

	"github.com/tickcast/tickcast/market"
)

// KindRegime is the Decision kind of the regime-shift (variance) detector.
const KindRegime = "regime"

// Regime rules.
const (
	// RuleRatio fires when the mean of z over the last Window rows is above K.
	RuleRatio = "ratio"
	// RuleCUSUM fires when the CUSUM of the Gaussian log-likelihood ratio
	// for a variance K times the reference, S_t = max(0, S_{t−1} + ½((1 − 1/K)·z_t − ln K)),
	// is above H.
	RuleCUSUM = "cusum"
)

// RegimeConfig is the regime-shift rule. Each live row's one-candle log
// return r (ret_1) is standardized by the variance of the rolling reference,
// z = r²/σ²_ref, σ²_ref = mean r² over the RefRows rows before the last Lag
// rows (the previous day of live rows, lagged so that a new regime is not in
// its own reference while it is being detected); z is clipped to Clip so one
// jump cannot fire alone.
type RegimeConfig struct {
	Rule    string  // RuleRatio or RuleCUSUM
	RefRows int     // rows in the rolling reference (1440: one day)
	Lag     int     // latest rows left out of the reference (≥ Window for RuleRatio)
	Window  int     // RuleRatio: rows averaged
	K       float64 // variance ratio (> 1)
	H       float64 // RuleCUSUM: alarm threshold
	Clip    float64 // z is clipped to [0, Clip] (0: no clipping)
	// Cooldown is the fewest rows between two firings. RuleRatio also waits
	// until the ratio is back under K (one firing per crossing); RuleCUSUM
	// restarts S from 0 after a firing.
	Cooldown int
}

// DefaultRegime is the rule fixed on days 1–60 of the real data (docs/drift.md).
var DefaultRegime = RegimeConfig{Rule: RuleRatio, RefRows: 1440, Lag: 60, Window: 20, K: 10, Clip: 16, Cooldown: 60}

// Regime is the regime-shift detector of one pair.
type Regime struct {
	cfg    RegimeConfig
	ring   []float64 // r² of the last RefRows+Lag rows
	n      int       // returns seen
	refSum float64   // Σ r² over the reference rows
	s      float64   // CUSUM statistic
	stat   float64   // the rule's statistic at the last decision
	wait   int
	armed  bool
}

// NewRegime returns a detector under cfg.
func NewRegime(cfg RegimeConfig) (*Regime, error) {
	ok := cfg.RefRows >= 1 && cfg.Lag >= 0 && cfg.K > 1 && cfg.Clip >= 0 && cfg.Cooldown >= 0
	switch cfg.Rule {
	case RuleRatio:
		ok = ok && cfg.Window >= 1 && cfg.Lag >= cfg.Window
	case RuleCUSUM:
		ok = ok && cfg.H > 0
	default:
		ok = false
	}
	if !ok {
		return nil, fmt.Errorf("drift regime config %+v: %w", cfg, market.ErrInvalid)
	}
	return &Regime{cfg: cfg, ring: make([]float64, cfg.RefRows+cfg.Lag+1), armed: true}, nil
}

// Add takes the next live row (its ret_1; rows without one are ignored, warm
// or not) and decides.
func (g *Regime) Add(row market.FeatureRow) Decision { return g.AddReturn(row.Values[market.FRet1]) }

// AddReturn takes the next one-candle log return and decides. It never fires
// until RefRows+Lag returns have been seen: after a restart, feed it the rows
// of the last day first.
func (g *Regime) AddReturn(r float64) Decision {
	d := Decision{Kind: KindRegime}
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return d
	}
	c := g.cfg
	size := len(g.ring)
	t := g.n
	g.ring[t%size] = r * r
	g.n++
	if t-c.Lag >= 0 { // row t−Lag enters the reference
		g.refSum += g.ring[(t-c.Lag)%size]
	}
	if t-c.Lag-c.RefRows >= 0 { // row t−Lag−RefRows leaves it
		g.refSum -= g.ring[(t-c.Lag-c.RefRows)%size]
	}
	if t%c.RefRows == 0 && t-c.Lag-c.RefRows+1 >= 0 { // no rounding drift
		g.refSum = 0
		for i := t - c.Lag - c.RefRows + 1; i <= t-c.Lag; i++ {
			g.refSum += g.ring[i%size]
		}
	}
	if g.wait > 0 {
		g.wait--
	}
	if g.n < c.RefRows+c.Lag {
		return d
	}
	ref := g.refSum / float64(c.RefRows)
	if ref <= 0 {
		return d // a reference day without a price change: nothing to compare with
	}
	z := func(i int) float64 {
		v := g.ring[i%size] / ref
		if c.Clip > 0 {
			v = min(v, c.Clip)
		}
		return v
	}
	var stat, limit float64
	defer func() { g.stat = stat }()
	switch c.Rule {
	case RuleRatio:
		for i := t - c.Window + 1; i <= t; i++ {
			stat += z(i)
		}
		stat /= float64(c.Window)
		limit = c.K
		if stat <= limit {
			g.armed = true
			return d
		}
		if !g.armed || g.wait > 0 {
			return d
		}
		g.armed = false
	case RuleCUSUM:
		g.s = max(0, g.s+0.5*((1-1/c.K)*z(t)-math.Log(c.K)))
		stat, limit = g.s, c.H
		if stat <= limit || g.wait > 0 {
			return d
		}
		g.s = 0
	}
	g.wait = c.Cooldown
	d.Fire = true
	d.Figures = map[string]float64{"stat": stat, "limit": limit, "ref_var": ref, "z": z(t), "k": c.K}
	d.Reason = fmt.Sprintf("regime %s %.2f > %g: variance of ret_1 over %g times the previous %d rows' (lag %d)",
		c.Rule, stat, limit, c.K, c.RefRows, c.Lag)
	return d
}

// State is the reference variance and the rule's statistic at the last
// decision (both 0 until RefRows+Lag returns have been seen).
func (g *Regime) State() (refVar, stat float64) {
	if g.n < g.cfg.RefRows+g.cfg.Lag {
		return 0, 0
	}
	return g.refSum / float64(g.cfg.RefRows), g.stat
}
