package activities

import (
	"context"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"slices"
	"time"

	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/registry"
)

// SeriesInput names the pairs × horizons of a data directory.
type SeriesInput struct {
	DataDir  string   `json:"data_dir,omitempty"`
	Pairs    []string `json:"pairs"`
	Horizons []int    `json:"horizons"`
}

// SeriesState is what the bootstrap needs to know of one pair × horizon.
type SeriesState struct {
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	// Trained: the registry holds a trained version (not only the baseline).
	Trained bool `json:"trained"`
	// Features: the store holds feature rows of the pair to train on.
	Features bool `json:"features"`
}

// InspectSeries reads, for each pair × horizon, whether the registry holds
// a trained model and the store features to train one on.
func (a *Activities) InspectSeries(ctx context.Context, in SeriesInput) ([]SeriesState, error) {
	reg, dir, err := a.openRegistry(in.DataDir)
	if err != nil {
		return nil, err
	}
	var out []SeriesState
	for _, p := range in.Pairs {
		parts, err := parquet.Partitions(datadir.Parquet(dir), parquet.DatasetFeatures, p, time.Time{}, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("features of %s: %w", p, err)
		}
		for _, h := range in.Horizons {
			metas, err := reg.List(ctx, p, h)
			if err != nil {
				return nil, fmt.Errorf("registry %s h%d: %w", p, h, err)
			}
			trained := slices.ContainsFunc(metas, func(m registry.Meta) bool { return m.Version > 0 })
			out = append(out, SeriesState{Pair: p, Horizon: h, Trained: trained, Features: len(parts) > 0})
		}
	}
	return out, nil
}

// ScheduleInput is the retraining schedules of pairs × horizons: Train
// (with Trials tuning trials, on all the store holds) every Every.
type ScheduleInput struct {
	DataDir  string        `json:"data_dir"`
	Pairs    []string      `json:"pairs"`
	Horizons []int         `json:"horizons"`
	Trials   int           `json:"trials,omitempty"`
	Every    time.Duration `json:"every"`
}

// Scheduler creates or updates one retraining schedule and returns its ID;
// the workflows package implements it over a Temporal client (it knows the
// Train workflow, which this package may not import).
type Scheduler interface {
	ApplySchedule(ctx context.Context, pair string, horizon, trials int, dataDir string, every time.Duration) (id string, created bool, err error)
}

// ApplySchedules creates (or updates: applying twice changes nothing) the
// retraining schedule of every pair × horizon and returns their IDs.
func (a *Activities) ApplySchedules(ctx context.Context, in ScheduleInput) ([]string, error) {
	if a.Schedules == nil {
		return nil, invalidf("this worker has no Temporal client for schedules")
	}
	var ids []string
	for _, p := range in.Pairs {
		for _, h := range in.Horizons {
			id, created, err := a.Schedules.ApplySchedule(ctx, p, h, in.Trials, in.DataDir, in.Every)
			if err != nil {
				return ids, fmt.Errorf("schedule %s h%d: %w", p, h, err)
			}
			a.logger().Info("retraining schedule", "id", id, "every", in.Every, "created", created)
			ids = append(ids, id)
		}
	}
	return ids, nil
}
