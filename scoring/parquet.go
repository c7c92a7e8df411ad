package scoring

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tickcast/tickcast/parquet"
)

// format is the file layout, declared with the store's column mapping; the
// realized columns are null while unscored (an expired prediction).
var format = parquet.NewFormat("predictions",
	str("pair", func(r *Scored) *string { return &r.Pair }),
	ts("as_of", func(r *Scored) *time.Time { return &r.AsOf }),
	integer("horizon", func(r *Scored) *int { return &r.Horizon }),
	ts("target_time", func(r *Scored) *time.Time { return &r.TargetTime }),
	f64("predicted_return", func(r *Scored) *float64 { return &r.PredictedReturn }),
	f64("predicted_price", func(r *Scored) *float64 { return &r.PredictedPrice }),
	f64("last_price", func(r *Scored) *float64 { return &r.LastPrice }),
	str("model_name", func(r *Scored) *string { return &r.Model.Name }),
	integer("model_version", func(r *Scored) *int { return &r.Model.Version }),
	parquet.Int64Column("feature_age_ms", func(r *Scored) int64 { return r.FeatureAgeMS }, func(r *Scored, v int64) { r.FeatureAgeMS = v }),
	boolean("cached", func(r *Scored) *bool { return &r.Cached }),
	boolean("stale", func(r *Scored) *bool { return &r.Stale }),
	integer("served", func(r *Scored) *int { return &r.Served }),
	optional("realized_price", func(r *Scored) **float64 { return &r.RealizedPrice }),
	optional("realized_return", func(r *Scored) **float64 { return &r.RealizedReturn }),
	optional("abs_error", func(r *Scored) **float64 { return &r.AbsError }),
	optional("baseline_abs_error", func(r *Scored) **float64 { return &r.BaselineAbsError }),
)

// The column helpers below adapt parquet's getter/setter pairs to a field
// address, so that each column above names its field once.
type column = parquet.Column[Scored]

func str(name string, at func(*Scored) *string) column {
	return parquet.StringColumn(name, func(r *Scored) string { return *at(r) }, func(r *Scored, v string) { *at(r) = v })
}

func ts(name string, at func(*Scored) *time.Time) column {
	return parquet.TimestampColumn(name, func(r *Scored) time.Time { return *at(r) }, func(r *Scored, v time.Time) { *at(r) = v })
}

func integer(name string, at func(*Scored) *int) column {
	return parquet.Int64Column(name, func(r *Scored) int64 { return int64(*at(r)) }, func(r *Scored, v int64) { *at(r) = int(v) })
}

func f64(name string, at func(*Scored) *float64) column {
	return parquet.Float64Column(name, func(r *Scored) float64 { return *at(r) }, func(r *Scored, v float64) { *at(r) = v })
}

func boolean(name string, at func(*Scored) *bool) column {
	return parquet.BoolColumn(name, func(r *Scored) bool { return *at(r) }, func(r *Scored, v bool) { *at(r) = v })
}

// optional is a realized value: nil (unscored) is stored as null, by way of
// parquet's NaN-as-null column (a realized value is never NaN).
func optional(name string, at func(*Scored) **float64) column {
	return parquet.NullFloat64Column(name,
		func(r *Scored) float64 {
			if v := *at(r); v != nil {
				return *v
			}
			return math.NaN()
		},
		func(r *Scored, v float64) {
			if !math.IsNaN(v) {
				*at(r) = &v
			}
		})
}

// ReadScored reads back every row Flush wrote under dir, sorted by as_of,
// pair, horizon and model version. A prediction written more than once (re-
// scored after a correction) is returned as last written. A missing dir
// holds no rows.
func ReadScored(dir string) ([]Scored, error) {
	paths, err := parquet.Files(dir)
	if err != nil {
		return nil, fmt.Errorf("read predictions %s: %w", dir, err)
	}
	latest := make(map[key]Scored)
	for _, p := range paths {
		rows, err := format.Read(context.Background(), p)
		if err != nil {
			return nil, fmt.Errorf("read predictions %s: %w", p, err)
		}
		for _, r := range rows {
			latest[key{r.Pair, r.Horizon, r.AsOf.UnixNano(), r.Model.Version}] = r
		}
	}
	out := make([]Scored, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Scored) int {
		return cmp.Or(a.AsOf.Compare(b.AsOf), cmp.Compare(a.Pair, b.Pair),
			cmp.Compare(a.Horizon, b.Horizon), cmp.Compare(a.Model.Version, b.Model.Version))
	})
	return out, nil
}
