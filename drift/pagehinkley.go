package drift

import (
	"fmt"
	"math"

	"github.com/tickcast/tickcast/market"
)

// PHConfig is the error-drift rule: Page–Hinkley for an increase of the
// loss difference x = loss(model) − loss(baseline) (positive: the model is
// worse). With x̄ the mean of x since the last reset, m_t = Σ (x_i − x̄_i − Delta)
// and M_t = min m_i, it fires when m_t − M_t > Lambda.
type PHConfig struct {
	Delta  float64 // tolerated increase of the mean, per score
	Lambda float64 // alarm threshold
	// Clip bounds each x to [−Clip, Clip] so one wild score cannot fire
	// alone (0: no clipping).
	Clip float64
	// MinScores is how many scores after a reset are needed before it may fire.
	MinScores int
	// Cooldown is how many scores after a firing (and its reset) are ignored.
	Cooldown int
}

// DefaultPH is the rule fixed on days 1–60 of the real data (docs/drift.md).
var DefaultPH = PHConfig{Delta: 0.05, Lambda: 100, Clip: 3, MinScores: 240, Cooldown: 60}

// PageHinkley is the error-drift detector of one model (pair × horizon).
type PageHinkley struct {
	cfg        PHConfig
	n          int
	mean, m, M float64
	wait       int
}

// NewPageHinkley returns a detector under cfg.
func NewPageHinkley(cfg PHConfig) (*PageHinkley, error) {
	if cfg.Delta < 0 || cfg.Lambda <= 0 || cfg.Clip < 0 || cfg.MinScores < 1 || cfg.Cooldown < 0 {
		return nil, fmt.Errorf("drift Page-Hinkley config %+v: %w", cfg, market.ErrInvalid)
	}
	return &PageHinkley{cfg: cfg}, nil
}

// Add takes the loss difference of the next scored prediction and decides.
// A firing resets the detector.
func (p *PageHinkley) Add(x float64) Decision {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return Decision{Kind: KindError}
	}
	if p.wait > 0 {
		p.wait--
		return Decision{Kind: KindError}
	}
	if c := p.cfg.Clip; c > 0 {
		x = max(-c, min(c, x))
	}
	p.n++
	p.mean += (x - p.mean) / float64(p.n)
	p.m += x - p.mean - p.cfg.Delta
	p.M = min(p.M, p.m)
	ph := p.m - p.M
	d := Decision{Kind: KindError, Figures: map[string]float64{"ph": ph, "mean": p.mean, "scores": float64(p.n), "lambda": p.cfg.Lambda}}
	if p.n < p.cfg.MinScores || ph <= p.cfg.Lambda {
		return d
	}
	d.Fire = true
	d.Reason = fmt.Sprintf("Page-Hinkley %.1f > %g after %d scores (mean loss difference %.3f, delta %g)",
		ph, p.cfg.Lambda, p.n, p.mean, p.cfg.Delta)
	p.Reset()
	p.wait = p.cfg.Cooldown
	return d
}

// Reset forgets every score (after a firing, or when a new champion starts).
func (p *PageHinkley) Reset() { p.n, p.mean, p.m, p.M, p.wait = 0, 0, 0, 0, 0 }

// State is the statistic m_t − M_t and the scores since the last reset.
func (p *PageHinkley) State() (ph float64, n int) { return p.m - p.M, p.n }
