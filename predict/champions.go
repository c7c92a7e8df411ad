package predict

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/xgboost"
)

// Champion is a loaded champion model.
type Champion struct {
	Pair     string // canonical, e.g. ETH/USDT
	Horizon  int
	Product  string // registry spelling: "" is return (registry.ProductName)
	Meta     registry.Meta
	LoadedAt time.Time
}

// seriesKey is a pair × horizon: what a Prediction answers.
type seriesKey struct {
	pair    string
	horizon int
}

// modelKey is one registry series: a product of a pair × horizon.
type modelKey struct {
	seriesKey
	product string // registry spelling: "" is return
}

func (k modelKey) String() string {
	return fmt.Sprintf("%s h%d %s", market.PairSlug(k.pair), k.horizon, registry.ProductName(k.product))
}

// modelSet is what serves a pair × horizon: the return model (always set)
// and the other products' (nil where the pair × horizon has none), by slot.
type modelSet [productsServed]*model

// model is one loaded version. It is immutable but for refs, which counts
// the champion set holding it plus each prediction running on its booster:
// the booster is closed when it drops to zero, so swapping a champion out
// never fails a prediction already using it.
type model struct {
	meta     registry.Meta
	slug     string
	spec     ml.ProductRule
	booster  *xgboost.Booster // nil: a baseline computed from the row
	cols     int              // the booster reads the first cols features (its schema's: older ones are prefixes)
	loadedAt time.Time
	refs     atomic.Int64
}

// reads tells whether m can take row: a baseline any, a booster a row of
// its schema or a later one (whose leading columns are its schema's).
func (m *model) reads(row *market.FeatureRow) bool {
	return m.booster == nil || (row.SchemaVersion >= m.meta.FeatureSchemaVersion && row.SchemaVersion <= market.FeatureSchemaVersion)
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
// loaded (or the aliases naming it could not be read, or its feature schema
// is older than the build's), so the registry's rollback target of the
// champion, else the product's baseline, answers. When even the baseline
// cannot serve (last-rv at a horizon without a realized-vol feature) the
// product is left out of the pair × horizon's predictions: Serving is -1.
type Degradation struct {
	Pair    string // slug, e.g. ETH-USDT
	Horizon int
	Product string // registry spelling: "" is return
	Serving int    // the version answering; -1: none (the product is not served)
	Wanted  int    // the champion the registry names; -1: unknown (aliases unreadable)
	Reason  string // why the wanted version does not serve
}

// champions is an immutable champion set, swapped whole. A pair × horizon
// serves when its return product has a model; the other products join its
// predictions where they have one.
type champions struct {
	models   map[modelKey]*model
	degraded map[modelKey]Degradation
	sets     map[seriesKey]*modelSet
	horizons map[string][]int  // canonical pair → sorted horizons with a return model
	names    map[string]string // pair spellings (canonical, slug) → canonical
	list     []Champion        // by pair, horizon, product
}

func newChampions(models map[modelKey]*model, degraded map[modelKey]Degradation) *champions {
	c := &champions{models: models, degraded: degraded, sets: map[seriesKey]*modelSet{}, horizons: map[string][]int{}, names: map[string]string{}}
	for k, m := range models {
		if k.product == "" {
			c.horizons[k.pair] = append(c.horizons[k.pair], k.horizon)
			c.names[k.pair], c.names[m.slug] = k.pair, k.pair
		}
		c.list = append(c.list, Champion{Pair: k.pair, Horizon: k.horizon, Product: k.product, Meta: m.meta, LoadedAt: m.loadedAt})
	}
	for k, m := range models {
		if ret := models[modelKey{k.seriesKey, ""}]; ret != nil {
			set := c.sets[k.seriesKey]
			if set == nil {
				set = &modelSet{}
				c.sets[k.seriesKey] = set
			}
			set[slot(k.product)] = m
		}
	}
	for _, hs := range c.horizons {
		slices.Sort(hs)
	}
	slices.SortFunc(c.list, func(a, b Champion) int {
		if d := strings.Compare(a.Pair, b.Pair); d != 0 {
			return d
		}
		if a.Horizon != b.Horizon {
			return a.Horizon - b.Horizon
		}
		return slot(a.Product) - slot(b.Product)
	})
	return c
}

// degradation is the fallback state of the models of set: the reasons of
// those answering in place of their champion ("vol: …" for the products
// other than return), and of the products left out.
func (c *champions) degradation(k seriesKey, set *modelSet) string {
	var reasons []string
	for _, p := range registry.Products {
		mk := modelKey{k, productSpelling(p)}
		d, ok := c.degraded[mk]
		if !ok {
			continue
		}
		if m := set[slot(mk.product)]; (m == nil && d.Serving < 0) || (m != nil && d.Serving == m.meta.Version) {
			if mk.product == "" {
				reasons = append(reasons, d.Reason)
			} else {
				reasons = append(reasons, mk.product+": "+d.Reason)
			}
		}
	}
	return strings.Join(reasons, "; ")
}

// productSpelling is registry's stored spelling of a product name.
func productSpelling(p string) string {
	if p == registry.ProductReturn {
		return ""
	}
	return p
}

// failRetry is how long a version that failed to load is not tried again:
// the watch polls every second, and a corrupt file stays corrupt.
const failRetry = time.Minute

// failKey names one registered version; failure is its last failed load.
type failKey struct {
	k       modelKey
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
	next     map[modelKey]*model
	degraded map[modelKey]Degradation
	loaded   []*model
	errs     []error // loads that failed in this refresh
}

// Refresh reads the champion of every series (pair × horizon × product) of
// the registry, loads the ones that changed and swaps the whole set in at
// once. A champion that fails to load (or whose aliases cannot be read) is
// replaced by the fallback: the model already serving when the aliases are
// unreadable, else the champion's rollback target, else the product's
// baseline; Degraded lists them.
//
// Schema upgrades: a booster trained on another feature schema than the one
// this build computes does not load, and falls back the same way, so an
// upgrade never leaves a pair × horizon unable to serve. Rows are fed to a
// booster whole, as float32 columns in market.FeatureNames order, and its
// column count must equal market.NumFeatures; a schema-1 booster's 21
// columns are a prefix of schema 2's by position, but schema 2 also made
// the order-flow and trade-count features missing (NaN) where schema 1 had
// zeros, so feeding it the prefix would serve it inputs it never saw:
// older schemas fall back instead. Baselines read only features every
// schema keeps (realized vol) and serve whatever schema they were
// registered under.
//
// The errors of the loads tried are returned; a version that failed is
// tried again after failRetry.
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
	st := &refreshState{old: s.champs.Load(), next: make(map[modelKey]*model, len(series)), degraded: map[modelKey]Degradation{}}
	for _, sr := range series {
		s.refreshSeries(ctx, st, modelKey{seriesKey{sr.Pair, sr.Horizon}, sr.Product})
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
			s.log.Info("champion loaded", "pair", m.meta.Pair, "horizon", m.meta.Horizon, "product", registry.ProductName(m.meta.Product),
				"name", m.meta.Name, "version", m.meta.Version)
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
		if st.old.models[k] != m {
			return true
		}
	}
	for k, d := range st.degraded {
		if st.old.degraded[k] != d {
			return true
		}
	}
	return false
}

// refreshSeries decides what serves k: the champion, or a fallback.
func (s *Service) refreshSeries(ctx context.Context, st *refreshState, k modelKey) {
	cur := st.old.models[k]
	a, err := s.cfg.Registry.AliasesIn(ctx, k.series())
	if err != nil { // nothing names a champion: keep what serves, else the baseline
		reason := fmt.Sprintf("aliases unreadable: %v", err)
		if cur != nil {
			if why := s.expired(cur.meta); why != "" {
				reason += "; " + why
				cur = nil
			}
		}
		if cur == nil {
			cur, err = s.baseline(ctx, k)
		}
		st.serve(k, cur, cur == st.old.models[k], -1, reason, err)
		return
	}
	if a.Champion == nil {
		return // no champion (any more): 404 no_model
	}
	wanted := a.Champion.Version
	m, reason := s.version(ctx, st, k, wanted, cur, registry.Champion, a.Champion.Reason)
	if m != nil {
		st.serve(k, m, m == cur, wanted, "", nil)
		return
	}
	if chain := a.Chain(registry.Champion); len(chain) > 0 && chain[0] != 0 {
		m, why := s.version(ctx, st, k, chain[0], cur, registry.Retired, "fallback: the champion cannot be loaded")
		if m != nil {
			st.serve(k, m, m == cur, wanted, reason, nil)
			return
		}
		reason += "; rollback target " + why
	}
	var berr error
	if cur == nil || cur.booster != nil || cur.meta.Version != 0 {
		cur, berr = s.baseline(ctx, k)
	}
	st.serve(k, cur, cur == st.old.models[k], wanted, reason, berr)
}

// serve records m as what serves k; kept says it served before (not a new
// load). m is nil when not even the baseline can serve (baseErr says why):
// the product is left out.
func (st *refreshState) serve(k modelKey, m *model, kept bool, wanted int, reason string, baseErr error) {
	slug := market.PairSlug(k.pair)
	if m == nil {
		if baseErr != nil {
			reason += "; the baseline cannot serve: " + baseErr.Error()
		}
		st.degraded[k] = Degradation{Pair: slug, Horizon: k.horizon, Product: k.product, Serving: -1, Wanted: wanted, Reason: strings.TrimPrefix(reason, "; ")}
		return
	}
	st.next[k] = m
	if !kept {
		st.loaded = append(st.loaded, m)
	}
	if reason != "" {
		st.degraded[k] = Degradation{Pair: slug, Horizon: k.horizon, Product: k.product, Serving: m.meta.Version, Wanted: wanted, Reason: reason}
	}
}

// series is k as the registry names it.
func (k modelKey) series() registry.Series {
	return registry.Series{Pair: k.pair, Horizon: k.horizon, Product: k.product}
}

// version returns the model of version v of k, with the status the
// caller derived from the aliases: cur when it holds v already, else a
// fresh load; nil and why when it cannot be loaded or is past
// Config.ModelMaxAge (checked on every refresh: a model expires while it
// serves).
func (s *Service) version(ctx context.Context, st *refreshState, k modelKey, v int, cur *model, status, reason string) (*model, string) {
	meta, err := s.cfg.Registry.VersionIn(ctx, k.series(), v) // the aliases were read once, by the caller
	if err != nil {
		return nil, fmt.Sprintf("v%d: %v", v, err)
	}
	if why := s.expired(meta); why != "" {
		return nil, why
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
		st.errs = append(st.errs, fmt.Errorf("load champion %s v%d: %w", k.label(), v, err))
		return nil, fmt.Sprintf("v%d: %v", v, err)
	}
	delete(s.failed, fk)
	return m, ""
}

// label names k in messages: "ETH-USDT h1" for return, "ETH-USDT h1 vol".
func (k modelKey) label() string {
	l := market.PairSlug(k.pair) + " h" + strconv.Itoa(k.horizon)
	if k.product != "" {
		l += " " + k.product
	}
	return l
}

// baseline is version 0 of k, its product's baseline, registered or not:
// it needs no file. It fails only where the baseline cannot forecast (last-rv
// at a horizon without a realized-vol feature).
func (s *Service) baseline(ctx context.Context, k modelKey) (*model, error) {
	meta, err := s.cfg.Registry.VersionIn(ctx, k.series(), 0)
	if err != nil || meta.Name != registry.BaselineOf(k.product) {
		meta = registry.Meta{Pair: k.pair, Horizon: k.horizon, Product: k.product, Name: registry.BaselineOf(k.product),
			FeatureSchemaVersion: market.FeatureSchemaVersion}
		if k.product == registry.ProductPUp {
			meta.Params = map[string]string{registry.ParamPUp: "0.5"}
		}
	}
	meta.Status, meta.Reason = registry.Retired, "fallback: the champion cannot be loaded"
	sp, err := newSpec(meta)
	if err != nil {
		return nil, err
	}
	m := &model{meta: meta, slug: market.PairSlug(k.pair), spec: sp, loadedAt: time.Now()}
	m.refs.Store(1)
	return m, nil
}

// logDegradations logs each change of the fallback state once.
func (s *Service) logDegradations(old, next map[modelKey]Degradation) {
	for k, d := range next {
		if old[k] != d {
			s.log.Warn("serving a fallback model", "pair", d.Pair, "horizon", d.Horizon, "product", registry.ProductName(d.Product),
				"serving", d.Serving, "wanted", d.Wanted, "reason", d.Reason)
		}
	}
	for k, d := range old {
		if _, ok := next[k]; !ok {
			s.log.Info("fallback over: the champion serves", "pair", d.Pair, "horizon", d.Horizon, "product", registry.ProductName(d.Product))
		}
	}
}

// Degraded lists the series served by a fallback (or, Serving -1, not
// served), by pair, horizon, then product.
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
		if a.Horizon != b.Horizon {
			return a.Horizon - b.Horizon
		}
		return slot(a.Product) - slot(b.Product)
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
	sp, err := newSpec(meta)
	if err != nil {
		return nil, err
	}
	m := &model{meta: meta, slug: market.PairSlug(meta.Pair), spec: sp, loadedAt: time.Now()}
	m.refs.Store(1)
	if !sp.Booster() {
		return m, nil
	}
	// Every schema appended columns to the one before, so a model of an older
	// schema reads the leading columns of today's rows: it keeps serving
	// after an upgrade until a new champion passes the gate.
	cols, known := market.FeatureSchemaColumns[meta.FeatureSchemaVersion]
	if !known || meta.FeatureSchemaVersion > market.FeatureSchemaVersion {
		return nil, fmt.Errorf("feature schema %d, this build computes %d (serving the baseline until a champion of schema %d passes the gate)",
			meta.FeatureSchemaVersion, market.FeatureSchemaVersion, market.FeatureSchemaVersion)
	}
	m.cols = cols
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
	if n != cols {
		_ = b.Close()
		return nil, fmt.Errorf("feature schema %d, this build computes %d: the model has %d features, schema %d has %d",
			meta.FeatureSchemaVersion, market.FeatureSchemaVersion, n, meta.FeatureSchemaVersion, cols)
	}
	// Requests bring the parallelism: one thread per one-row prediction.
	if err := b.SetParam("nthread", "1"); err != nil {
		_ = b.Close()
		return nil, err
	}
	m.booster = b
	if meta.SHA256 == "" { // registered before checksums: XGBoost vouched for these bytes
		if err := s.cfg.Registry.RecordChecksumIn(ctx, meta.Series(), meta.Version, art); err != nil {
			s.log.Warn("record checksum of an unverified model", "pair", meta.Pair, "horizon", meta.Horizon, "product", registry.ProductName(meta.Product),
				"version", meta.Version, "err", err)
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

// Champions returns the loaded champions of every product, by pair,
// horizon, then product.
func (s *Service) Champions() []Champion {
	return slices.Clone(s.champs.Load().list)
}

// Horizons returns the horizons pair (any spelling) has a return champion at.
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
