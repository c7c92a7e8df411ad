package ml

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tickcast/tickcast/market"
)

// BuildStats counts what Build did with the feature rows it was given:
// Rows = Kept + NotWarm + NonFinite + NoCandle + NoFuture.
type BuildStats struct {
	Rows      int `json:"rows"`       // feature rows given
	Kept      int `json:"kept"`       // rows in the dataset
	NotWarm   int `json:"not_warm"`   // dropped: the feature window was not full
	NonFinite int `json:"non_finite"` // dropped: a feature was ±Inf, or NaN where it may not be missing
	NoCandle  int `json:"no_candle"`  // dropped: no candle ends at ts (the close cannot be checked)
	NoFuture  int `json:"no_future"`  // dropped: no candle ends at ts + h·interval (no label)
	// Missing counts, per feature, the kept rows where it is missing (NaN,
	// which XGBoost takes as missing): only features market.FeatureMayBeMissing
	// allows — a source without taker side or trade count, history shorter
	// than a long feature's window.
	Missing MissingCounts `json:"missing"`
}

// MissingCounts are per-feature counts in market.FeatureNames order. In JSON
// and text they are the features with a count, by name.
type MissingCounts [market.NumFeatures]int

// MarshalJSON writes {"name": count, …} for the counts above 0.
func (m MissingCounts) MarshalJSON() ([]byte, error) {
	named := map[string]int{}
	for i, n := range m {
		if n > 0 {
			named[market.FeatureNames[i]] = n
		}
	}
	return json.Marshal(named)
}

// UnmarshalJSON reads what MarshalJSON writes; unknown names are an error.
func (m *MissingCounts) UnmarshalJSON(b []byte) error {
	var named map[string]int
	if err := json.Unmarshal(b, &named); err != nil {
		return err
	}
	*m = MissingCounts{}
	for name, n := range named {
		i := slices.Index(market.FeatureNames[:], name)
		if i < 0 {
			return fmt.Errorf("missing counts: unknown feature %q: %w", name, market.ErrInvalid)
		}
		m[i] = n
	}
	return nil
}

// String lists the counts above 0 as name=count, in feature order.
func (m MissingCounts) String() string {
	var parts []string
	for i, n := range m {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", market.FeatureNames[i], n))
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// Dataset is one pair's supervised rows in time order: row i has the features
// at TS[i] and the label Y[i] = ln(close at TS[i]+h·Interval / Close[i]).
type Dataset struct {
	Pair     string
	Horizon  int           // h, in candles
	Interval time.Duration // candle length
	Names    []string      // column names, market.FeatureNames
	Cols     int           // len(Names)
	TS       []time.Time   // end of the candle the features describe, strictly increasing
	X        []float64     // row-major, Len()·Cols values
	Y        []float64     // realized log return h candles ahead
	Close    []float64     // close at TS, the price a predicted return applies to
	Stats    BuildStats
}

// Build turns one pair's feature rows and candles into a Dataset for horizon h.
// rows may come in any order; candles are the pair's candles covering the rows
// and h intervals beyond them (any order). The rows' Close must be the close
// of the candle ending at their TS. See the package doc for what is dropped.
func Build(rows []market.FeatureRow, candles []market.Candle, horizon int) (Dataset, error) {
	if horizon < 1 {
		return Dataset{}, fmt.Errorf("build dataset: horizon %d < 1: %w", horizon, market.ErrInvalid)
	}
	pair, err := checkRows(rows)
	if err != nil {
		return Dataset{}, fmt.Errorf("build dataset: %w", err)
	}
	closes, iv, err := candleCloses(pair, candles)
	if err != nil {
		return Dataset{}, fmt.Errorf("build dataset %s: %w", pair, err)
	}
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b market.FeatureRow) int { return a.TS.Compare(b.TS) })
	n := len(sorted)
	d := Dataset{Pair: pair, Horizon: horizon, Interval: iv, Names: slices.Clone(market.FeatureNames[:]), Cols: market.NumFeatures,
		TS: make([]time.Time, 0, n), X: make([]float64, 0, n*market.NumFeatures), Y: make([]float64, 0, n), Close: make([]float64, 0, n)}
	d.Stats.Rows = len(sorted)
	ahead := time.Duration(horizon) * iv
	for i, r := range sorted {
		if i > 0 && r.TS.Equal(sorted[i-1].TS) {
			return Dataset{}, fmt.Errorf("build dataset %s: two feature rows at %s: %w", pair, r.TS.UTC().Format(time.RFC3339), market.ErrInvalid)
		}
		if err := d.add(r, closes, ahead); err != nil {
			return Dataset{}, fmt.Errorf("build dataset %s: %w", pair, err)
		}
	}
	d.Stats.Kept = d.Len()
	return d, nil
}

// add appends r when it is usable, counting it in Stats when it is not.
func (d *Dataset) add(r market.FeatureRow, closes map[int64]float64, ahead time.Duration) error {
	if !r.Warm {
		d.Stats.NotWarm++
		return nil
	}
	if !usable(r.Values[:]) {
		d.Stats.NonFinite++
		return nil
	}
	c, ok := closes[r.TS.UnixNano()]
	if !ok {
		d.Stats.NoCandle++
		return nil
	}
	if c != r.Close {
		return fmt.Errorf("row at %s has close %v but its candle closes at %v: %w",
			r.TS.UTC().Format(time.RFC3339), r.Close, c, market.ErrInvalid)
	}
	future, ok := closes[r.TS.Add(ahead).UnixNano()]
	if !ok {
		d.Stats.NoFuture++
		return nil
	}
	for i, x := range r.Values {
		if math.IsNaN(x) {
			d.Stats.Missing[i]++
		}
	}
	d.TS = append(d.TS, r.TS.UTC())
	d.X = append(d.X, r.Values[:]...)
	d.Y = append(d.Y, math.Log(future/c))
	d.Close = append(d.Close, c)
	return nil
}

// checkRows returns the rows' pair after checking there is one pair and one schema.
func checkRows(rows []market.FeatureRow) (string, error) {
	if len(rows) == 0 {
		return "", fmt.Errorf("no feature rows: %w", market.ErrInvalid)
	}
	pair := rows[0].Pair
	for _, r := range rows {
		if r.Pair != pair {
			return "", fmt.Errorf("rows of two pairs (%q, %q): %w", pair, r.Pair, market.ErrInvalid)
		}
		if r.SchemaVersion != market.FeatureSchemaVersion {
			return "", fmt.Errorf("row at %s has feature schema %d, want %d (tickcast store rebuild-features recomputes the rows from the stored candles): %w",
				r.TS.UTC().Format(time.RFC3339), r.SchemaVersion, market.FeatureSchemaVersion, market.ErrInvalid)
		}
	}
	return pair, nil
}

// candleCloses indexes the closes of pair's candles by end time (Unix ns) and
// returns their common length.
func candleCloses(pair string, candles []market.Candle) (map[int64]float64, time.Duration, error) {
	if len(candles) == 0 {
		return nil, 0, fmt.Errorf("no candles: %w", market.ErrInvalid)
	}
	iv := candles[0].End.Sub(candles[0].Start)
	if iv <= 0 {
		return nil, 0, fmt.Errorf("candle at %s has length %s: %w", candles[0].Start.UTC().Format(time.RFC3339), iv, market.ErrInvalid)
	}
	closes := make(map[int64]float64, len(candles))
	for _, c := range candles {
		switch {
		case c.Pair != pair:
			return nil, 0, fmt.Errorf("candle of pair %q among rows of %q: %w", c.Pair, pair, market.ErrInvalid)
		case c.End.Sub(c.Start) != iv:
			return nil, 0, fmt.Errorf("candles of two lengths (%s, %s): %w", iv, c.End.Sub(c.Start), market.ErrInvalid)
		case !(c.Close > 0) || math.IsInf(c.Close, 0):
			return nil, 0, fmt.Errorf("candle at %s closes at %v: %w", c.Start.UTC().Format(time.RFC3339), c.Close, market.ErrInvalid)
		}
		k := c.End.UnixNano()
		if _, dup := closes[k]; dup {
			return nil, 0, fmt.Errorf("two candles end at %s: %w", c.End.UTC().Format(time.RFC3339), market.ErrInvalid)
		}
		closes[k] = c.Close
	}
	return closes, iv, nil
}

// usable reports whether a row's values may train a model: no ±Inf, and NaN
// (missing) only in the features market.FeatureMayBeMissing allows.
func usable(v []float64) bool {
	for i, x := range v {
		if math.IsInf(x, 0) || (math.IsNaN(x) && !market.FeatureMayBeMissing[i]) {
			return false
		}
	}
	return true
}

// Len is the number of rows.
func (d Dataset) Len() int { return len(d.Y) }

// Row returns the features of row i (a view into X, not a copy).
func (d Dataset) Row(i int) []float64 {
	return d.X[i*d.Cols : (i+1)*d.Cols : (i+1)*d.Cols]
}

// LabelTime is when row i's label is known: the end of the candle h intervals
// after TS[i].
func (d Dataset) LabelTime(i int) time.Time {
	return d.TS[i].Add(time.Duration(d.Horizon) * d.Interval)
}

// Float32 returns rows [lo, hi) as a row-major float32 matrix and labels, the
// form XGBoost takes.
func (d Dataset) Float32(lo, hi int) (x, y []float32) {
	x = make([]float32, 0, (hi-lo)*d.Cols)
	for _, v := range d.X[lo*d.Cols : hi*d.Cols] {
		x = append(x, float32(v))
	}
	y = make([]float32, 0, hi-lo)
	for _, v := range d.Y[lo:hi] {
		y = append(y, float32(v))
	}
	return x, y
}

// Predict applies p to rows [lo, hi).
func (d Dataset) Predict(p Predictor, lo, hi int) []float64 {
	out := make([]float64, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, p.Predict(d.Row(i)))
	}
	return out
}

// Slice returns rows [lo, hi) as a Dataset sharing d's arrays; Stats are d's.
func (d Dataset) Slice(lo, hi int) Dataset {
	s := d
	s.TS = d.TS[lo:hi:hi]
	s.X = d.X[lo*d.Cols : hi*d.Cols : hi*d.Cols]
	s.Y = d.Y[lo:hi:hi]
	s.Close = d.Close[lo:hi:hi]
	return s
}
