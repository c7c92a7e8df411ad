package training

import (
	"math"

	"github.com/tickcast/tickcast/ml"
)

// minTercileRows is the fewest validation rows a tercile of σ̂ needs for
// z's of its own in vol-z-terciles: at 200 rows each 10% tail holds 20
// rows and the band's coverage error is about ±3 points (√(0.8·0.2/200));
// a tercile with fewer (a short validation span, σ̂ tied at a cut) takes
// the global z's.
const minTercileRows = 200

// fitVolZTerciles is vol-z's Mondrian calibration: σ̂ (sigma, the
// validation rows') cut at its 1/3 and 2/3 quantiles, and each tercile's z's
// the empirical quantiles of r/σ̂ (std) over its rows; global (vol-z's z's)
// stands in for a tercile under minTercileRows rows. n are the terciles'
// rows.
func fitVolZTerciles(sigma, std, global []float64) (v ml.VolZ, n [3]int) {
	cut := ml.EmpiricalQuantiles(sigma, []float64{1.0 / 3, 2.0 / 3})
	v.Cut = [2]float64{cut[0], cut[1]}
	var rows [3][]float64
	for t, s := range sigma {
		if x := std[t]; !math.IsNaN(x) && !math.IsInf(x, 0) {
			g := v.Tercile(s)
			rows[g] = append(rows[g], x)
		}
	}
	for g := range rows {
		z := global
		if n[g] = len(rows[g]); n[g] >= minTercileRows {
			z = ml.EmpiricalQuantiles(rows[g], ml.QuantileLevels)
		}
		v.Z[g] = [3]float64(z)
	}
	return v, n
}

// VolZTerciles is vol-z-terciles' calibration in products.json: σ̂'s cut
// points and each tercile's z's and validation rows.
type VolZTerciles struct {
	Cut  [2]jnum    `json:"vol_cut"`
	Z    [3][3]jnum `json:"z"`
	Rows [3]int     `json:"rows"`
}

func volZTercileReport(v ml.VolZ, n [3]int) VolZTerciles {
	r := VolZTerciles{Cut: [2]jnum{jnum(v.Cut[0]), jnum(v.Cut[1])}, Rows: n}
	for g, z := range v.Z {
		r.Z[g] = [3]jnum(jnums(z[:]))
	}
	return r
}
