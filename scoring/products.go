package scoring

import (
	"math"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/predict"
)

// ProductScore is the rolling live score of the products beside the return
// (over the same window of scored predictions), each next to its unfitted
// baseline, on the rows where both were scored; a product's figures are 0
// with N 0 while none of the window's predictions carried it.
//
//   - vol: MAE of the forecast against the realized vol of (as_of,
//     target_time] — the target row's realized-vol feature over h candles,
//     as training defines the target — beside last-rv (the as-of row's).
//     Horizons without such a feature are not scored.
//   - quantiles: coverage of the p10–p90 band (the share of realized closes
//     inside it; 0.8 is calibrated) beside the last-rv Gaussian band's.
//   - p_up: Brier score on the closes that moved (ties excluded) beside
//     the 0.5 forecast's (0.25).
type ProductScore struct {
	VolN            int     `json:"vol_n"`
	VolMAE          float64 `json:"vol_mae"`
	VolBaselineMAE  float64 `json:"vol_baseline_mae"` // last-rv
	BandN           int     `json:"band_n"`
	BandCoverage    float64 `json:"band_coverage"`
	BandBaselineCov float64 `json:"band_baseline_coverage"` // last-rv Gaussian band
	BrierN          int     `json:"brier_n"`
	Brier           float64 `json:"brier"`
	BrierBaseline   float64 `json:"brier_baseline"` // 0.5: 0.25
}

// gauss90 is Φ⁻¹(0.9): the last-rv Gaussian band is ±gauss90·σ.
var gauss90 = ml.NormInv(0.9)

// outcome is what scoring one entry's products found (NaN: not scored).
type outcome struct {
	volErr, volBaseErr   float64
	inBand, baseInBand   float64
	brier, brierBase     float64
	pinball, pinballBase float64 // mean over p10, p50, p90, in log returns
}

func unscored() outcome {
	n := math.NaN()
	return outcome{n, n, n, n, n, n, n, n}
}

// rvAt is the realized vol of the h returns ending at row (ml.RowVol),
// NaN when the row has no such feature or it is missing.
func rvAt(row *market.FeatureRow, h int) float64 {
	if row == nil {
		return math.NaN()
	}
	v, _ := ml.RowVol(row.Values[:], h)
	return v
}

// scoreProducts scores p's products against the target row; baseRV is the
// as-of row's realized vol over h candles (NaN when unknown).
func scoreProducts(p *predict.Prediction, target *market.FeatureRow, baseRV float64) outcome {
	o := unscored()
	close, last := target.Close, p.LastPrice
	if rv := rvAt(target, p.Horizon); p.Vol != nil && finite(rv) {
		o.volErr = math.Abs(p.Vol.Value - rv)
		if finite(baseRV) {
			o.volBaseErr = math.Abs(baseRV - rv)
		}
	}
	if q := p.Quantiles; q != nil {
		r := math.Log(close / last)
		o.inBand = indicator(close >= q.P10 && close <= q.P90)
		o.pinball = pinball(r, [3]float64{math.Log(q.P10 / last), math.Log(q.P50 / last), math.Log(q.P90 / last)})
		if finite(baseRV) {
			z := gauss90 * baseRV
			o.baseInBand = indicator(math.Abs(r) <= z)
			o.pinballBase = pinball(r, [3]float64{-z, 0, z})
		}
	}
	if p.PUp != nil && close != last {
		up := indicator(close > last)
		o.brier = (p.PUp.Value - up) * (p.PUp.Value - up)
		o.brierBase = 0.25
	}
	return o
}

func indicator(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// mean folds the scored values of a window.
type mean struct {
	n        int
	sum, alt float64
}

// add counts a row where both the product and its baseline were scored:
// the two are compared on the same rows.
func (m *mean) add(v, alt float64) {
	if math.IsNaN(v) || math.IsNaN(alt) {
		return
	}
	m.n++
	m.sum += v
	m.alt += alt
}

func (m mean) avg() (float64, float64) {
	if m.n == 0 {
		return 0, 0
	}
	return m.sum / float64(m.n), m.alt / float64(m.n)
}

// productScore folds the products' outcomes of a window's entries.
func productScore(each func(func(*entry)) int) ProductScore {
	var vol, band, brier mean
	each(func(e *entry) {
		vol.add(e.prod.volErr, e.prod.volBaseErr)
		band.add(e.prod.inBand, e.prod.baseInBand)
		brier.add(e.prod.brier, e.prod.brierBase)
	})
	var ps ProductScore
	ps.VolN, ps.BandN, ps.BrierN = vol.n, band.n, brier.n
	ps.VolMAE, ps.VolBaselineMAE = vol.avg()
	ps.BandCoverage, ps.BandBaselineCov = band.avg()
	ps.Brier, ps.BrierBaseline = brier.avg()
	return ps
}
