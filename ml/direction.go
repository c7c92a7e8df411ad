package ml

import "math"

// BaselineClimatology is the direction baseline: the training up-rate.
const BaselineClimatology = "climatology"

// probClip bounds p away from 0 and 1 in the log loss, so one confident miss
// costs ln(1e15) ≈ 34.5 rather than +Inf.
const probClip = 1e-15

// Climatology is the up-rate among the up and down labels (ties and
// unlabelled rows skipped); NaN when there are none. Pass training labels.
func Climatology(labels []Dir) float64 {
	var up, n int
	for _, d := range labels {
		if d == DirUp || d == DirDown {
			n++
			if d == DirUp {
				up++
			}
		}
	}
	return float64(up) / float64(n)
}

// DirScores are the direction metrics on rows whose close moved; ties carry
// no up/down outcome, so they are excluded and their share reported.
type DirScores struct {
	N        int     // scored rows: label up or down
	Ties     int     // rows with an unchanged close
	TieShare float64 // Ties / (N + Ties)
	Brier    float64 // mean (p − 1{up})²: the gate metric
	LogLoss  float64 // mean −ln p of the outcome, p clipped to [1e-15, 1−1e-15]
}

// ScoreDirections scores p_up against labels; rows labelled DirNone are
// skipped.
func ScoreDirections(p []float64, labels []Dir) DirScores {
	brier, logLoss := DirLosses(p, labels)
	s := DirScores{N: len(brier), Brier: Mean(brier), LogLoss: Mean(logLoss)}
	for _, d := range labels {
		if d == DirTie {
			s.Ties++
		}
	}
	s.TieShare = float64(s.Ties) / float64(s.N+s.Ties)
	return s
}

// DirLosses returns the per-row Brier and log losses of the non-tie rows, in
// row order: a model's and a baseline's losses on the same labels pair up
// row for row for the bootstrap and the DM test.
func DirLosses(p []float64, labels []Dir) (brier, logLoss []float64) {
	for t, d := range labels {
		if d != DirUp && d != DirDown {
			continue
		}
		q := min(max(p[t], probClip), 1-probClip)
		o, l := 0.0, -math.Log1p(-q)
		if d == DirUp {
			o, l = 1, -math.Log(q)
		}
		brier = append(brier, (p[t]-o)*(p[t]-o))
		logLoss = append(logLoss, l)
	}
	return brier, logLoss
}

// ReliabilityBin is one bin of predicted probability [Lo, Hi).
type ReliabilityBin struct {
	Lo, Hi float64
	N      int     // non-tie rows with p in the bin
	MeanP  float64 // mean predicted p_up; NaN when empty
	Rate   float64 // observed up-rate; NaN when empty
}

// Reliability bins the non-tie rows by p into `bins` equal bins of [0, 1]
// (p = 1 falls in the last): a calibrated model has MeanP ≈ Rate in each.
func Reliability(p []float64, labels []Dir, bins int) []ReliabilityBin {
	out := make([]ReliabilityBin, bins)
	var sumP, up = make([]float64, bins), make([]int, bins)
	for t, d := range labels {
		if d != DirUp && d != DirDown || math.IsNaN(p[t]) {
			continue
		}
		b := min(max(int(p[t]*float64(bins)), 0), bins-1)
		out[b].N++
		sumP[b] += p[t]
		if d == DirUp {
			up[b]++
		}
	}
	for b := range out {
		out[b].Lo, out[b].Hi = float64(b)/float64(bins), float64(b+1)/float64(bins)
		out[b].MeanP = sumP[b] / float64(out[b].N)
		out[b].Rate = float64(up[b]) / float64(out[b].N)
	}
	return out
}
