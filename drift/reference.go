// Package drift detects when a champion model no longer fits the stream:
// feature drift (the PSI of each feature over a sliding window of live rows
// against the champion's training rows), error drift (Page–Hinkley on the
// live loss difference model − baseline) and regime shift (the variance of
// the last live returns against the previous day of live returns). A detector is fed one row or one
// score at a time and answers with a Decision; what a firing starts (a full
// Train, deduplicated per pair × horizon) is the caller's business.
// Pure domain logic: the standard library and market only.
package drift

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/tickcast/tickcast/market"
)

// Kinds of Decision.
const (
	KindPSI   = "psi"
	KindError = "error"
)

// Decision is a detector's answer to one row or score. Figures are the
// numbers that fired it (or would have), for the log.
type Decision struct {
	Fire    bool
	Kind    string
	Figures map[string]float64
	Reason  string
}

// NumBins is how many quantile bins a feature's known values get (deciles);
// missing values get one more bin of their own.
const NumBins = 10

// Reference is the distribution of the features over a model's training
// rows, stored beside the model as JSON.
type Reference struct {
	SchemaVersion int          `json:"schema_version"`
	Rows          int          `json:"rows"`
	Features      []FeatureRef `json:"features"`
}

// FeatureRef is one feature's bins: value v falls in bin i, the first with
// v ≤ Edges[i] (len(Edges) when above them all); a missing value (NaN) in
// bin len(Edges)+1. Shares are the training rows' shares of each bin, so
// len(Shares) = len(Edges)+2. Edges are the deciles, ties merged.
type FeatureRef struct {
	Name   string    `json:"name"`
	Index  int       `json:"index"`
	Edges  []float64 `json:"edges"`
	Shares []float64 `json:"shares"`
	// Limit is the PSI over which the feature counts as drifted, set by
	// Calibrate on the training rows; 0 until then (PSIConfig.Threshold).
	Limit float64 `json:"limit,omitempty"`
}

// Monitored reports whether feature i takes part in PSI: calendar features
// (time of day, time of week) move by design and are left out.
func Monitored(i int) bool {
	n := market.FeatureNames[i]
	return !strings.HasPrefix(n, "tod_") && !strings.HasPrefix(n, "dow_")
}

// NewReference bins the warm rows of a training set. Features that are
// missing in every warm row (cross-pair ones of a single pair) are left out.
func NewReference(rows []market.FeatureRow) (Reference, error) {
	warm := make([]market.FeatureRow, 0, len(rows))
	for _, r := range rows {
		if r.Warm {
			warm = append(warm, r)
		}
	}
	if len(warm) < 10*NumBins {
		return Reference{}, fmt.Errorf("drift reference: %d warm rows, need %d: %w", len(warm), 10*NumBins, market.ErrInvalid)
	}
	ref := Reference{SchemaVersion: warm[0].SchemaVersion, Rows: len(warm)}
	for i := range market.NumFeatures {
		if !Monitored(i) {
			continue
		}
		if f, ok := featureRef(warm, i); ok {
			ref.Features = append(ref.Features, f)
		}
	}
	return ref, nil
}

func featureRef(rows []market.FeatureRow, i int) (FeatureRef, bool) {
	known := make([]float64, 0, len(rows))
	for _, r := range rows {
		if v := r.Values[i]; !math.IsNaN(v) {
			known = append(known, v)
		}
	}
	if len(known) == 0 {
		return FeatureRef{}, false
	}
	f := FeatureRef{Name: market.FeatureNames[i], Index: i, Edges: deciles(known)}
	f.Shares = make([]float64, len(f.Edges)+2)
	for _, r := range rows {
		f.Shares[f.Bin(r.Values[i])] += 1 / float64(len(rows))
	}
	return f, true
}

// deciles returns the NumBins−1 inner quantiles of vs (sorted in place),
// duplicates merged.
func deciles(vs []float64) []float64 {
	sort.Float64s(vs)
	edges := make([]float64, 0, NumBins-1)
	for q := 1; q < NumBins; q++ {
		e := vs[q*(len(vs)-1)/NumBins]
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

// Bin is the bin of value v (see FeatureRef).
func (f FeatureRef) Bin(v float64) int {
	if math.IsNaN(v) {
		return len(f.Edges) + 1
	}
	i, _ := slices.BinarySearch(f.Edges, v)
	return i
}

// Validate checks a reference read back from JSON against the schema.
func (r Reference) Validate() error {
	if len(r.Features) == 0 {
		return fmt.Errorf("drift reference: no features: %w", market.ErrInvalid)
	}
	for _, f := range r.Features {
		if f.Index < 0 || f.Index >= market.NumFeatures || market.FeatureNames[f.Index] != f.Name {
			return fmt.Errorf("drift reference: feature %q at %d: %w", f.Name, f.Index, market.ErrInvalid)
		}
		if len(f.Shares) != len(f.Edges)+2 || !slices.IsSorted(f.Edges) {
			return fmt.Errorf("drift reference: feature %s: %d edges, %d shares: %w", f.Name, len(f.Edges), len(f.Shares), market.ErrInvalid)
		}
	}
	return nil
}
