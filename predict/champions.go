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

// same reports whether meta is the version m holds, unchanged, in the same
// role (a fallback that becomes champion again is reloaded: rare, and its
// Meta then says champion).
func (m *model) same(meta registry.Meta) bool {
	return m.meta.Version == meta.Version && m.meta.Name == meta.Name && m.meta.CreatedAt.Equal(meta.CreatedAt) &&
		m.meta.FeatureSchemaVersion == meta.FeatureSchemaVersion && m.meta.Status == meta.Status && m.meta.Reason == meta.Reason
}

// Degradation is a series served by a fallback: its champion could not be
// loaded (or the aliases naming it could not be read), so the registry's
// rollback target of the champion, else the zero-return baseline, answers.
type Degradation struct {
	Pair    string // slug, e.g. ETH-USDT
	Horizon int
	Serving int    // the version answering
	Wanted  int    // the champion the registry names; -1: unknown (aliases unreadable)
	Reason  string // why the wanted version does not serve
}

// champions is an immutable champion set, swapped whole.
type champions struct {
	models   map[seriesKey]*model
	degraded map[seriesKey]Degradation
	horizons map[string][]int  // canonical pair → sorted horizons
	names    map[string]string // pair spellings (canonical, slug) → canonical
	list     []Champion        // by pair, horizon
}

func newChampions(models map[seriesKey]*model, degraded map[seriesKey]Degradation) *champions {
	c := &champions{models: models, degraded: degraded, horizons: map[string][]int{}, names: map[string]string{}}
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

// degradation is the fallback state of (k, m): non-empty reason when m
// answers in place of the champion.
func (c *champions) degradation(k seriesKey, m *model) string {
	if d, ok := c.degraded[k]; ok && d.Serving == m.meta.Version {
		return d.Reason
	}
	return ""
}

// failRetry is how long a version that failed to load is not tried again:
// the watch polls every second, and a corrupt file stays corrupt.
const failRetry = time.Minute

// failKey names one registered version; failure is its last failed load.
type failKey struct {
	k       seriesKey
	version int
	created int64
}

type failure struct {
	err error
	at  time.Time
}

// refreshState is what one Refresh builds.
type refreshState struct {
	old      *champions
	next     map[seriesKey]*model
	degraded map[seriesKey]Degradation
	loaded   []*model
	errs     []error // loads that failed in this refresh
}

// Refresh reads the champion of every series of the registry, loads the
// ones that changed and swaps the whole set in at once. A champion that
// fails to load (or whose aliases cannot be read) is replaced by the
// fallback: the model already serving when the aliases are unreadable, else
// the champion's rollback target, else the zero-return baseline; Degraded
// lists them. The errors of the loads tried are returned; a version that
// failed is tried again after failRetry.
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
	st := &refreshState{old: s.champs.Load(), next: make(map[seriesKey]*model, len(series)), degraded: map[seriesKey]Degradation{}}
	for _, sr := range series {
		s.refreshSeries(ctx, st, seriesKey{sr.Pair, sr.Horizon})
	}
	if ctx.Err() != nil { // a load may have been cut short: keep what serves
		for _, m := range st.loaded {
			m.release()
		}
		return errors.Join(append(st.errs, ctx.Err())...)
	}
	if st.changed() {
		s.swap(newChampions(st.next, st.degraded))
		for _, m := range st.loaded {
			s.log.Info("champion loaded", "pair", m.meta.Pair, "horizon", m.meta.Horizon, "name", m.meta.Name, "version", m.meta.Version)
		}
		s.logDegradations(st.old.degraded, st.degraded)
	}
	return errors.Join(st.errs...)
}

func (st *refreshState) changed() bool {
	if len(st.next) != len(st.old.models) || len(st.degraded) != len(st.old.degraded) {
		return true
	}
	for k, m := range st.next {
		if st.old.models[k] != m || st.old.degraded[k] != st.degraded[k] {
			return true
		}
	}
	return false
}

// refreshSeries decides what serves k: the champion, or a fallback.
func (s *Service) refreshSeries(ctx context.Context, st *refreshState, k seriesKey) {
	cur := st.old.models[k]
	a, err := s.cfg.Registry.Aliases(ctx, k.pair, k.horizon)
	if err != nil { // nothing names a champion: keep what serves, else the baseline
		reason := fmt.Sprintf("aliases unreadable: %v", err)
		if cur == nil {
			cur = s.baseline(ctx, k)
		}
		st.serve(k, cur, cur == st.old.models[k], -1, reason)
		return
	}
	if a.Champion == nil {
		return // no champion (any more): 404 no_model
	}
	wanted := a.Champion.Version
	m, reason := s.version(ctx, st, k, wanted, cur, registry.Champion, a.Champion.Reason)
	if m != nil {
		st.serve(k, m, m == cur, wanted, "")
		return
	}
	if chain := a.Chain(registry.Champion); len(chain) > 0 && chain[0] != 0 {
		m, why := s.version(ctx, st, k, chain[0], cur, registry.Retired, "fallback: the champion cannot be loaded")
		if m != nil {
			st.serve(k, m, m == cur, wanted, reason)
			return
		}
		reason += "; rollback target " + why
	}
	if cur == nil || cur.booster != nil || cur.meta.Version != 0 {
		cur = s.baseline(ctx, k)
	}
	st.serve(k, cur, cur == st.old.models[k], wanted, reason)
}

// serve records m as what serves k; kept says it served before (not a new load).
func (st *refreshState) serve(k seriesKey, m *model, kept bool, wanted int, reason string) {
	st.next[k] = m
	if !kept {
		st.loaded = append(st.loaded, m)
	}
	if reason != "" {
		st.degraded[k] = Degradation{Pair: m.slug, Horizon: k.horizon, Serving: m.meta.Version, Wanted: wanted, Reason: reason}
	}
}

// version returns the model of version v of k, with the status the
// caller derived from the aliases: cur when it holds v already, else a
// fresh load; nil and why when it cannot be loaded.
func (s *Service) version(ctx context.Context, st *refreshState, k seriesKey, v int, cur *model, status, reason string) (*model, string) {
	meta, err := s.cfg.Registry.Version(ctx, k.pair, k.horizon, v) // the aliases were read once, by the caller
	if err != nil {
		return nil, fmt.Sprintf("v%d: %v", v, err)
	}
	meta.Status, meta.Reason = status, reason
	if cur != nil && cur.same(meta) {
		return cur, ""
	}
	fk := failKey{k, v, meta.CreatedAt.UnixNano()}
	if f, ok := s.failed[fk]; ok && time.Since(f.at) < s.failRetry {
		return nil, fmt.Sprintf("v%d: %v", v, f.err)
	}
	m, err := s.load(ctx, meta)
	if err != nil {
		if ctx.Err() == nil {
			s.failed[fk] = failure{err, time.Now()}
		}
		st.errs = append(st.errs, fmt.Errorf("load champion %s h%d v%d: %w", market.PairSlug(k.pair), k.horizon, v, err))
		return nil, fmt.Sprintf("v%d: %v", v, err)
	}
	delete(s.failed, fk)
	return m, ""
}

// baseline is the zero-return model of k, registered or not: it needs no file.
func (s *Service) baseline(ctx context.Context, k seriesKey) *model {
	meta, err := s.cfg.Registry.Version(ctx, k.pair, k.horizon, 0)
	if err != nil || meta.Name != registry.BaselineName {
		meta = registry.Meta{Pair: k.pair, Horizon: k.horizon, Name: registry.BaselineName, FeatureSchemaVersion: market.FeatureSchemaVersion}
	}
	meta.Status, meta.Reason = registry.Retired, "fallback: the champion cannot be loaded"
	m := &model{meta: meta, slug: market.PairSlug(k.pair), loadedAt: time.Now()}
	m.refs.Store(1)
	return m
}

// logDegradations logs each change of the fallback state once.
func (s *Service) logDegradations(old, next map[seriesKey]Degradation) {
	for k, d := range next {
		if old[k] != d {
			s.log.Warn("serving a fallback model", "pair", d.Pair, "horizon", d.Horizon, "serving", d.Serving, "wanted", d.Wanted, "reason", d.Reason)
		}
	}
	for k, d := range old {
		if _, ok := next[k]; !ok {
			s.log.Info("fallback over: the champion serves", "pair", d.Pair, "horizon", d.Horizon)
		}
	}
}

// Degraded lists the series served by a fallback, by pair then horizon.
func (s *Service) Degraded() []Degradation {
	c := s.champs.Load()
	out := make([]Degradation, 0, len(c.degraded))
	for _, d := range c.degraded {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Degradation) int {
		if d := strings.Compare(a.Pair, b.Pair); d != 0 {
			return d
		}
		return a.Horizon - b.Horizon
	})
	return out
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
		return nil, fmt.Errorf("xgboost refuses the artifact: %w", err)
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
	if meta.SHA256 == "" { // registered before checksums: XGBoost vouched for these bytes
		if err := s.cfg.Registry.RecordChecksum(ctx, meta.Pair, meta.Horizon, meta.Version, art); err != nil {
			s.log.Warn("record checksum of an unverified model", "pair", meta.Pair, "horizon", meta.Horizon, "version", meta.Version, "err", err)
		}
	}
	return m, nil
}

// Watch refreshes the champions every interval (default 10s) until ctx is
// done; errors are logged when they change.
func (s *Service) Watch(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := s.Refresh(ctx)
			switch {
			case ctx.Err() != nil:
			case err != nil && err.Error() != last: // once per change, not every tick
				s.log.Warn("refresh champions", "err", err)
				last = err.Error()
			case err == nil && len(s.champs.Load().degraded) == 0:
				// Healthy again. While degraded, a failed version's retry
				// (every failRetry) repeats its error: not news.
				last = ""
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
