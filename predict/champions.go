package predict

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/xgboost"
)

// Champion is a loaded champion model.
type Champion struct {
	Pair     string // canonical, e.g. ETH/USDT
	Horizon  int
	Meta     registry.Meta
	LoadedAt time.Time
}

type seriesKey struct {
	pair    string
	horizon int
}

// model is one loaded version. It is immutable but for refs, which counts
// the champion set holding it plus each prediction running on its booster:
// the booster is closed when it drops to zero, so swapping a champion out
// never fails a prediction already using it.
type model struct {
	meta     registry.Meta
	slug     string
	booster  *xgboost.Booster // nil: the zero-return baseline
	loadedAt time.Time
	refs     atomic.Int64
}

// acquire takes a reference for a prediction; false means the model was
// swapped out and closed meanwhile: look the champion up again.
func (m *model) acquire() bool {
	if m.booster == nil {
		return true
	}
	for {
		n := m.refs.Load()
		if n <= 0 {
			return false
		}
		if m.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (m *model) release() {
	if m.booster == nil {
		return
	}
	if m.refs.Add(-1) == 0 {
		_ = m.booster.Close()
	}
}

// same reports whether meta is the version m holds, unchanged.
func (m *model) same(meta registry.Meta) bool {
	return m.meta.Version == meta.Version && m.meta.Name == meta.Name && m.meta.CreatedAt.Equal(meta.CreatedAt) &&
		m.meta.FeatureSchemaVersion == meta.FeatureSchemaVersion
}

// champions is an immutable champion set, swapped whole.
type champions struct {
	models   map[seriesKey]*model
	horizons map[string][]int  // canonical pair → sorted horizons
	names    map[string]string // pair spellings (canonical, slug) → canonical
	list     []Champion        // by pair, horizon
}

func newChampions(models map[seriesKey]*model) *champions {
	c := &champions{models: models, horizons: map[string][]int{}, names: map[string]string{}}
	for k, m := range models {
		c.horizons[k.pair] = append(c.horizons[k.pair], k.horizon)
		c.names[k.pair], c.names[m.slug] = k.pair, k.pair
		c.list = append(c.list, Champion{Pair: k.pair, Horizon: k.horizon, Meta: m.meta, LoadedAt: m.loadedAt})
	}
	for _, hs := range c.horizons {
		slices.Sort(hs)
	}
	slices.SortFunc(c.list, func(a, b Champion) int {
		if d := strings.Compare(a.Pair, b.Pair); d != 0 {
			return d
		}
		return a.Horizon - b.Horizon
	})
	return c
}

// Refresh reads the champion of every series of the registry, loads the
// ones that changed and swaps the whole set in at once. A champion that
// fails to load keeps its predecessor serving; the errors are returned.
func (s *Service) Refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	if s.closed.Load() {
		return errors.New("predict: service closed")
	}
	series, err := s.cfg.Registry.Series(ctx)
	if err != nil {
		return fmt.Errorf("refresh champions: %w", err)
	}
	old := s.champs.Load()
	next := make(map[seriesKey]*model, len(series))
	var loaded []*model
	var errs []error
	changed := false
	for _, sr := range series {
		k := seriesKey{sr.Pair, sr.Horizon}
		cur := old.models[k]
		meta, err := s.cfg.Registry.Get(ctx, sr.Pair, sr.Horizon, registry.Champion)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			changed = changed || cur != nil // no champion (any more)
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("champion of %s: %w", sr, err))
			if cur != nil {
				next[k] = cur
			}
			continue
		case cur != nil && cur.same(meta):
			next[k] = cur
			continue
		}
		m, err := s.load(ctx, meta)
		if err != nil {
			errs = append(errs, fmt.Errorf("load champion %s v%d: %w", sr, meta.Version, err))
			if cur != nil {
				next[k] = cur
			}
			continue
		}
		next[k], changed = m, true
		loaded = append(loaded, m)
	}
	if len(next) != len(old.models) {
		changed = true
	}
	if ctx.Err() != nil { // a load may have been cut short: keep what serves
		for _, m := range loaded {
			m.release()
		}
		return errors.Join(append(errs, ctx.Err())...)
	}
	if changed {
		s.swap(newChampions(next))
		for _, m := range loaded {
			s.log.Info("champion loaded", "pair", m.meta.Pair, "horizon", m.meta.Horizon, "name", m.meta.Name, "version", m.meta.Version)
		}
	}
	return errors.Join(errs...)
}

// swap installs next and drops the old set's reference to every model next
// no longer holds; predictions still running on one keep it open.
func (s *Service) swap(next *champions) {
	old := s.champs.Swap(next)
	for k, m := range old.models {
		if next.models[k] != m {
			m.release()
		}
	}
}

// load builds the model of a registered version.
func (s *Service) load(ctx context.Context, meta registry.Meta) (*model, error) {
	m := &model{meta: meta, slug: market.PairSlug(meta.Pair), loadedAt: time.Now()}
	m.refs.Store(1)
	if meta.Name == registry.BaselineName {
		return m, nil
	}
	if meta.FeatureSchemaVersion != market.FeatureSchemaVersion {
		return nil, fmt.Errorf("feature schema %d, this build computes %d", meta.FeatureSchemaVersion, market.FeatureSchemaVersion)
	}
	art, err := s.cfg.Registry.Artifact(ctx, meta)
	if err != nil {
		return nil, err
	}
	b, err := xgboost.Load(art)
	if err != nil {
		return nil, err
	}
	n, err := b.NumFeatures()
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("model feature count: %w", err)
	}
	if n != market.NumFeatures {
		_ = b.Close()
		return nil, fmt.Errorf("model has %d features, rows have %d", n, market.NumFeatures)
	}
	// Requests bring the parallelism: one thread per one-row prediction.
	if err := b.SetParam("nthread", "1"); err != nil {
		_ = b.Close()
		return nil, err
	}
	m.booster = b
	return m, nil
}

// Watch refreshes the champions every interval (default 10s) until ctx is
// done; errors are logged.
func (s *Service) Watch(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("refresh champions", "err", err)
			}
		}
	}
}

// Champions returns the loaded champions, by pair then horizon.
func (s *Service) Champions() []Champion {
	return slices.Clone(s.champs.Load().list)
}

// Horizons returns the horizons pair (any spelling) has a champion at.
func (s *Service) Horizons(pair string) []int {
	c := s.champs.Load()
	p, ok := c.names[pair]
	if !ok {
		var err error
		if p, err = market.NormalizePair(pair); err != nil {
			return nil
		}
	}
	return slices.Clone(c.horizons[p])
}
