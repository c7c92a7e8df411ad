package drift

import (
	"fmt"
	"math"
	"slices"

	"github.com/tickcast/tickcast/market"
)

// PSIConfig is the feature-drift rule: fire when at least MinFeatures
// features each have a PSI above their limit over the last Window warm
// rows. A feature's limit (FeatureRef.Limit, see Calibrate) is the Quantile
// of its own PSI over the training rows, and at least Threshold: a slow
// feature (rvol_1440) is always far from its training shares over an hour,
// a fast one (ret_1, rvol_5) is not.
type PSIConfig struct {
	Window      int     // live rows in the sliding window
	Threshold   float64 // the least limit of a feature
	Quantile    float64 // of a feature's PSI over the training rows: its limit
	MinFeatures int     // features over their limit that fire
	// Smoothing is added to every bin's live count (and, as a share of one
	// row, to every expected share) so that an empty bin has a finite PSI.
	Smoothing float64
	// Cooldown is the fewest rows between two firings; after firing the
	// monitor also waits until fewer than MinFeatures are over Threshold
	// (one firing per crossing).
	Cooldown int
}

// DefaultPSI is the rule fixed on days 1–60 of the real data (docs/drift.md).
var DefaultPSI = PSIConfig{Window: 60, Threshold: 0.2, Quantile: 0.9999, MinFeatures: 5, Smoothing: 0.5, Cooldown: 60}

// PSI is the feature-drift monitor of one pair against one Reference.
type PSI struct {
	ref    Reference
	cfg    PSIConfig
	ring   [][]int // bins of the last Window rows, per feature
	next   int     // ring slot the next row goes in
	n      int     // rows in the ring
	counts [][]int // per feature, per bin: rows of the ring in it
	wait   int     // rows left in the cooldown
	armed  bool
}

// NewPSI returns a monitor of ref under cfg.
func NewPSI(ref Reference, cfg PSIConfig) (*PSI, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	if cfg.Window < 1 || cfg.MinFeatures < 1 || cfg.Threshold <= 0 || cfg.Quantile <= 0 || cfg.Quantile > 1 || cfg.Smoothing <= 0 || cfg.Cooldown < 0 {
		return nil, fmt.Errorf("drift PSI config %+v: %w", cfg, market.ErrInvalid)
	}
	m := &PSI{ref: ref, cfg: cfg, ring: make([][]int, cfg.Window), counts: make([][]int, len(ref.Features)), armed: true}
	for j, f := range ref.Features {
		m.counts[j] = make([]int, len(f.Shares))
	}
	return m, nil
}

// Add takes the next live row (rows that are not warm are ignored) and
// decides. Until the window is full the decision never fires.
func (m *PSI) Add(row market.FeatureRow) Decision {
	if !row.Warm {
		return Decision{Kind: KindPSI}
	}
	m.push(row)
	if m.wait > 0 {
		m.wait--
	}
	if m.n < m.cfg.Window {
		return Decision{Kind: KindPSI}
	}
	return m.decide(m.psi())
}

func (m *PSI) push(row market.FeatureRow) {
	old := m.ring[m.next]
	if m.n == m.cfg.Window {
		for j, b := range old {
			m.counts[j][b]--
		}
	} else {
		m.n++
		old = make([]int, len(m.ref.Features))
	}
	for j, f := range m.ref.Features {
		old[j] = f.Bin(row.Values[f.Index])
		m.counts[j][old[j]]++
	}
	m.ring[m.next] = old
	m.next = (m.next + 1) % m.cfg.Window
}

// Values is the PSI of each monitored feature over the rows in the window.
func (m *PSI) Values() map[string]float64 {
	out := make(map[string]float64, len(m.ref.Features))
	for j, v := range m.psi() {
		out[m.ref.Features[j].Name] = v
	}
	return out
}

func (m *PSI) psi() []float64 {
	out := make([]float64, len(m.ref.Features))
	for j, f := range m.ref.Features {
		out[j] = PSIOf(f.Shares, m.counts[j], m.cfg.Smoothing)
	}
	return out
}

func (m *PSI) limit(j int) float64 { return max(m.cfg.Threshold, m.ref.Features[j].Limit) }

// Calibrate sets each feature's Limit to the cfg.Quantile of its PSI over
// sliding windows of rows (the training rows ref was built from).
func Calibrate(ref Reference, cfg PSIConfig, rows []market.FeatureRow) (Reference, error) {
	m, err := NewPSI(ref, cfg)
	if err != nil {
		return Reference{}, err
	}
	seen := make([][]float64, len(ref.Features))
	for _, r := range rows {
		if !r.Warm {
			continue
		}
		m.push(r)
		if m.n < cfg.Window {
			continue
		}
		for j, v := range m.psi() {
			seen[j] = append(seen[j], v)
		}
	}
	if len(seen[0]) == 0 {
		return Reference{}, fmt.Errorf("drift calibrate: fewer than %d warm rows: %w", cfg.Window, market.ErrInvalid)
	}
	out := ref
	out.Features = slices.Clone(ref.Features)
	for j := range out.Features {
		slices.Sort(seen[j])
		out.Features[j].Limit = seen[j][int(cfg.Quantile*float64(len(seen[j])-1))]
	}
	return out, nil
}

// PSIOf is Σ (a − e)·ln(a/e) over the bins, a the live shares of counts
// and e the expected shares, both smoothed by s rows per bin.
func PSIOf(expected []float64, counts []int, s float64) float64 {
	n := 0
	for _, c := range counts {
		n += c
	}
	total := float64(n) + s*float64(len(counts))
	eFloor := s / total
	var psi float64
	for i, c := range counts {
		a := (float64(c) + s) / total
		e := (expected[i] + eFloor) / (1 + eFloor*float64(len(counts)))
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// decide fires on a crossing; Figures (only then) hold each feature's PSI
// and, as "<name>_limit", the limit of those over it.
func (m *PSI) decide(psi []float64) Decision {
	var over []string
	for j, v := range psi {
		if v > m.limit(j) {
			over = append(over, m.ref.Features[j].Name)
		}
	}
	d := Decision{Kind: KindPSI}
	if len(over) < m.cfg.MinFeatures {
		m.armed = true
		return d
	}
	if !m.armed || m.wait > 0 {
		return d
	}
	m.armed, m.wait = false, m.cfg.Cooldown
	d.Fire, d.Figures = true, make(map[string]float64, len(psi)+len(over))
	for j, v := range psi {
		f := m.ref.Features[j]
		d.Figures[f.Name] = v
		if v > m.limit(j) {
			d.Figures[f.Name+"_limit"] = m.limit(j)
		}
	}
	d.Reason = fmt.Sprintf("PSI over its limit on %d features (rule: %d, window %d rows): %v",
		len(over), m.cfg.MinFeatures, m.cfg.Window, over)
	return d
}
