package predict

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
)

// Defaults of Config.
const (
	DefaultInterval   = time.Minute
	DefaultStaleAfter = 2
)

// minCacheTTL keeps a prediction cached briefly even when its next candle is
// already due (a late feed): repeated requests then still share it.
const minCacheTTL = 100 * time.Millisecond

// cacheLogEvery rate-limits the logging of cache errors; all are counted.
const cacheLogEvery = 10 * time.Second

// Config configures a Service.
type Config struct {
	Registry *registry.Registry
	Features Features
	// Gaps tells which pairs have an open gap in the pipeline; nil:
	// unknown, predictions say gap_open false.
	Gaps  Gaps
	Cache Cache // shared cache (Redis); nil: NewMemoryCache() alone
	// NoNearCache turns off the in-process cache kept in front of a shared
	// one. Entries never change (a key names the candle, its features and
	// the model version), so the near cache cannot serve anything Redis
	// would not; it saves a round trip per hit.
	NoNearCache bool
	Interval    time.Duration // candle interval, default time.Minute
	StaleAfter  int           // staleness budget in candles, default 2
	Clock       Clock         // market clock; nil: WallClock{}
	// ModelMaxAge is how long after its last full training a champion may
	// serve (registry.Meta.LastFullTraining, on the wall clock): past it the
	// champion falls back as one that cannot load would, until a fresher one
	// is promoted. Baselines (version 0) never expire. 0: no limit.
	ModelMaxAge time.Duration
	// Wall is the wall clock model ages are measured on (models are trained
	// at wall time, replays run the market clock in the past); nil: WallClock{}.
	Wall Clock
	// Speed is the replay speed (market seconds per wall second), used to
	// turn a cache lifetime on the market clock into wall time; 0 or 1: real time.
	Speed  float64
	Logger *slog.Logger
}

// Options adjust one prediction request.
type Options struct {
	AllowStale bool // serve a row older than the budget, marked Stale
	NoCache    bool // skip the cache read (the result is still cached)
	// Product, when set (registry spelling: vol, quantiles, p_up; "" is
	// return, always there), must be in the answer: a pair × horizon without
	// a champion of it is CodeNoProduct, a model that could not forecast the
	// row CodeModel.
	Product string
}

// Service serves predictions of the registry's champions over the online
// features. It is safe for concurrent use.
type Service struct {
	cfg    Config
	log    *slog.Logger
	mem    *MemoryCache // in-process cache (cfg.Cache when it is one): the allocation-free hit path
	shared Cache        // the cache behind mem (Redis), or nil
	budget time.Duration

	champs    atomic.Pointer[champions]
	refreshMu sync.Mutex // one Refresh (or Close) at a time
	closed    atomic.Bool
	failed    map[failKey]failure // versions that failed to load; under refreshMu
	failRetry time.Duration       // failRetry; tests shorten it

	// inputs recycles model input rows: XGBoost predicts a row in memory it
	// has seen before about twice as fast as one in fresh memory.
	inputs sync.Pool // of *[market.NumFeatures]float32

	cacheErrs    atomic.Uint64
	lastCacheLog atomic.Int64 // unix nanos

	rejected atomic.Uint64        // feature rows refused for ±Inf or a NaN where none may be
	rejectMu sync.Mutex           // guards lastBad
	lastBad  map[string]time.Time // pair → TS of the last refused row: each row counts once
}

// New returns a service and loads the current champions once; load errors
// are logged (Ready reports the outcome, Refresh or Watch retry).
func New(cfg Config) (*Service, error) {
	if cfg.Registry == nil {
		return nil, errors.New("predict: nil registry")
	}
	if cfg.Features == nil {
		return nil, errors.New("predict: nil feature store")
	}
	if cfg.Interval < 0 || cfg.StaleAfter < 0 || cfg.Speed < 0 || math.IsNaN(cfg.Speed) || math.IsInf(cfg.Speed, 0) || cfg.ModelMaxAge < 0 {
		return nil, fmt.Errorf("predict: interval %s, stale after %d, speed %g, model max age %s: want none negative",
			cfg.Interval, cfg.StaleAfter, cfg.Speed, cfg.ModelMaxAge)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.StaleAfter == 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	if cfg.Clock == nil {
		cfg.Clock = WallClock{}
	}
	if cfg.Wall == nil {
		cfg.Wall = WallClock{}
	}
	if cfg.Cache == nil {
		cfg.Cache = NewMemoryCache()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, log: cfg.Logger, budget: time.Duration(cfg.StaleAfter) * cfg.Interval}
	if m, ok := cfg.Cache.(*MemoryCache); ok {
		s.mem = m
	} else {
		s.shared = cfg.Cache
		if !cfg.NoNearCache {
			s.mem = NewMemoryCache()
		}
	}
	s.inputs.New = func() any { return new([market.NumFeatures]float32) }
	s.champs.Store(newChampions(nil, nil))
	s.failed, s.failRetry = map[failKey]failure{}, failRetry
	s.lastBad = map[string]time.Time{}
	if err := s.Refresh(context.Background()); err != nil {
		s.log.Warn("load champions", "err", err)
	}
	return s, nil
}

// Close unloads the champions (boosters close once their running
// predictions finish); later requests answer not_ready.
func (s *Service) Close() error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	s.swap(newChampions(nil, nil))
	return nil
}

// PairError is an error of one pair and horizon of PredictAll; it wraps the
// *Error (CodeOf sees through it).
type PairError struct {
	Pair    string // slug, e.g. ETH-USDT
	Horizon int
	Err     error
}

func (e *PairError) Error() string {
	return e.Pair + " h" + strconv.Itoa(e.Horizon) + ": " + e.Err.Error()
}
func (e *PairError) Unwrap() error { return e.Err }

// Predict forecasts pair (any spelling) horizon candles ahead from its
// newest feature row. Refusals are *Error values (see the Code constants).
func (s *Service) Predict(ctx context.Context, pair string, horizon int, o Options) (Prediction, error) {
	if err := checkHorizon(horizon); err != nil {
		return Prediction{}, err
	}
	c := s.champs.Load()
	p, err := c.canonical(pair)
	if err != nil {
		return Prediction{}, err
	}
	k := seriesKey{p, horizon}
	set := c.sets[k]
	if set == nil {
		return Prediction{}, s.noModel(c, p, horizon)
	}
	row, ok := s.cfg.Features.Get(p)
	if !ok {
		return Prediction{}, Errorf(CodeNoFeatures, "no feature row for %s yet", set[slotReturn].slug)
	}
	return s.serve(ctx, k, set, row, o)
}

// PredictRow forecasts from row (a candle that just closed) instead of the
// store's newest, always computing it, and caches the result for Predict.
func (s *Service) PredictRow(ctx context.Context, row market.FeatureRow, horizon int) (Prediction, error) {
	if err := checkHorizon(horizon); err != nil {
		return Prediction{}, err
	}
	c := s.champs.Load()
	p, err := c.canonical(row.Pair)
	if err != nil {
		return Prediction{}, err
	}
	k := seriesKey{p, horizon}
	set := c.sets[k]
	if set == nil {
		return Prediction{}, s.noModel(c, p, horizon)
	}
	return s.serve(ctx, k, set, row, Options{NoCache: true})
}

// PredictAll predicts every pair with a champion at horizon (0: every
// champion of every pair), by pair then horizon. Each error is a *PairError.
func (s *Service) PredictAll(ctx context.Context, horizon int, o Options) ([]Prediction, []error) {
	if horizon != 0 {
		if err := checkHorizon(horizon); err != nil {
			return []Prediction{}, []error{&PairError{Horizon: horizon, Err: err}}
		}
	}
	c := s.champs.Load()
	out := make([]Prediction, 0, len(c.list))
	var errs []error
	for _, ch := range c.list {
		if ch.Product != "" || (horizon != 0 && ch.Horizon != horizon) {
			continue
		}
		p, err := s.Predict(ctx, ch.Pair, ch.Horizon, o)
		if err != nil {
			errs = append(errs, &PairError{Pair: market.PairSlug(ch.Pair), Horizon: ch.Horizon, Err: err})
			continue
		}
		out = append(out, p)
	}
	return out, errs
}

func checkHorizon(h int) error {
	if h < 1 || h > market.MaxHorizon {
		return Errorf(CodeBadRequest, "horizon %d: want 1 to %d candles", h, market.MaxHorizon)
	}
	return nil
}

// canonical resolves a pair spelling, without allocating for the canonical
// and slug spellings of champion pairs.
func (c *champions) canonical(pair string) (string, error) {
	if p, ok := c.names[pair]; ok {
		return p, nil
	}
	p, err := market.NormalizePair(pair)
	if err != nil {
		return "", Errorf(CodeBadRequest, "pair %q: want BASE-QUOTE, e.g. ETH-USDT", pair)
	}
	return p, nil
}

// noModel explains why (pair, horizon) has no champion.
func (s *Service) noModel(c *champions, pair string, horizon int) error {
	slug := market.PairSlug(pair)
	if hs := c.horizons[pair]; len(hs) > 0 {
		list := make([]string, len(hs))
		for i, h := range hs {
			list[i] = strconv.Itoa(h)
		}
		return Errorf(CodeNoModel, "no champion for %s at horizon %d; horizons with one: %s", slug, horizon, strings.Join(list, ", "))
	}
	if len(c.models) == 0 {
		return Errorf(CodeNotReady, "no champion model loaded yet")
	}
	if _, ok := s.cfg.Features.Get(pair); ok {
		return Errorf(CodeNoModel, "no champion for %s at any horizon", slug)
	}
	return Errorf(CodeUnknownPair, "unknown pair %s: no model and no features", slug)
}

// noProduct explains that the pair × horizon k serves no model of product,
// naming the products it has and the horizons that have the product.
func (s *Service) noProduct(c *champions, k seriesKey, set *modelSet, product string) error {
	var have, hs []string
	for _, p := range registry.Products {
		if set[slot(productSpelling(p))] != nil {
			have = append(have, p)
		}
	}
	for _, h := range c.horizons[k.pair] {
		if set := c.sets[seriesKey{k.pair, h}]; set != nil && set[slot(product)] != nil {
			hs = append(hs, strconv.Itoa(h))
		}
	}
	with := "none"
	if len(hs) > 0 {
		with = strings.Join(hs, ", ")
	}
	return Errorf(CodeNoProduct, "no %s champion for %s at horizon %d; products at horizon %d: %s; horizons with %s: %s",
		product, set[slotReturn].slug, k.horizon, k.horizon, strings.Join(have, ", "), product, with)
}

// checkRow refuses a row with a value no model may see (badFeature),
// counting each such row once.
func (s *Service) checkRow(row *market.FeatureRow, slug string) error {
	i, bad := badFeature(row)
	if !bad {
		return nil
	}
	s.rejectMu.Lock()
	if !s.lastBad[row.Pair].Equal(row.TS) {
		s.lastBad[row.Pair] = row.TS
		s.rejected.Add(1)
		s.log.Warn("feature row refused", "pair", row.Pair, "ts", row.TS, "feature", market.FeatureNames[i], "value", row.Values[i])
	}
	s.rejectMu.Unlock()
	return Errorf(CodeBadFeatures, "feature row of %s at %s has %s = %g, which no model may see: not served",
		slug, row.TS.UTC().Format(time.RFC3339), market.FeatureNames[i], row.Values[i])
}

// RejectedRows counts the feature rows refused since New (each once): ±Inf
// anywhere, or NaN in a feature that may not be missing.
func (s *Service) RejectedRows() uint64 { return s.rejected.Load() }

// serve applies the row rules, then answers from the cache or the models.
func (s *Service) serve(ctx context.Context, k seriesKey, set *modelSet, row market.FeatureRow, o Options) (Prediction, error) {
	m := set[slotReturn]
	if !row.Warm {
		return Prediction{}, Errorf(CodeWarmingUp, "features of %s are warming up: fewer than %d candles seen", m.slug, market.FeatureWindow)
	}
	now := s.now(row.Pair)
	age := max(now.Sub(row.TS), 0) // a clock a little behind the feed is not ahead of it
	stale := age > s.budget
	if stale && !o.AllowStale {
		return Prediction{}, Errorf(CodeStale, "newest feature row of %s is %s old, over the budget of %d candles (%s)",
			m.slug, age.Round(time.Millisecond), s.cfg.StaleAfter, s.budget)
	}
	if err := s.checkRow(&row, m.slug); err != nil {
		return Prediction{}, err
	}
	for {
		if o.Product != "" && set[slot(o.Product)] == nil {
			return Prediction{}, s.noProduct(s.champs.Load(), k, set, o.Product)
		}
		if !m.reads(&row) {
			s.log.Error("feature schema mismatch", "pair", k.pair, "horizon", k.horizon, "row_schema", row.SchemaVersion,
				"model_schema", m.meta.FeatureSchemaVersion, "version", m.meta.Version)
			return Prediction{}, Errorf(CodeModel, "feature row of %s has schema %d, model v%d expects %d",
				m.slug, row.SchemaVersion, m.meta.Version, m.meta.FeatureSchemaVersion)
		}
		var kb [160]byte
		key := appendCacheKey(kb[:0], m.slug, k.horizon, row.TS, FeatureDigest(row.Close, row.Values[:]), m.meta.Version)
		key = appendProductVersions(key, set)
		if !o.NoCache {
			if p, ok := s.cacheGet(ctx, key, k.horizon, set, row.TS, now); ok {
				p.Cached, p.FeatureAgeMS, p.Stale = true, age.Milliseconds(), stale
				s.annotate(&p, k, set, row)
				return p, s.require(p, o.Product)
			}
		}
		p, ok, err := s.compute(set, row, k.horizon)
		if err != nil {
			return Prediction{}, err
		}
		if !ok { // swapped out between the lookup and the call: ask the new champions
			if set = s.champs.Load().sets[k]; set == nil {
				return Prediction{}, s.noModel(s.champs.Load(), k.pair, k.horizon)
			}
			m = set[slotReturn]
			continue
		}
		p.FeatureAgeMS = age.Milliseconds()
		s.annotate(&p, k, set, row)
		s.cacheSet(ctx, key, p, row.TS, now)
		p.Stale = stale
		return p, s.require(p, o.Product)
	}
}

// require is the CodeModel error of a prediction without the product the
// request asked for, although its model serves (it could not forecast the row).
func (s *Service) require(p Prediction, product string) error {
	if product == "" || (product == registry.ProductVol && p.Vol != nil) ||
		(product == registry.ProductQuantiles && p.Quantiles != nil) || (product == registry.ProductPUp && p.PUp != nil) {
		return nil
	}
	return Errorf(CodeModel, "the %s model of %s at horizon %d could not forecast the row at %s (a feature it needs is missing)",
		product, p.Pair, p.Horizon, p.AsOf.Format(time.RFC3339))
}

// annotate sets the data-quality fields, which describe the moment of
// serving rather than the cached computation: the row's completeness, the
// pipeline's gap state and whether a fallback model answered.
func (s *Service) annotate(p *Prediction, k seriesKey, set *modelSet, row market.FeatureRow) {
	p.Complete, p.Revision = row.Complete, row.Revision
	p.GapOpen = s.cfg.Gaps != nil && s.cfg.Gaps.Open(k.pair)
	p.DegradedReason = s.champs.Load().degradation(k, set)
	p.Degraded = p.DegradedReason != ""
}

// compute runs the models of set on row; ok is false when one was closed
// before it could be used. The return model's failure fails the
// prediction; another product's leaves it out (logged).
func (s *Service) compute(set *modelSet, row market.FeatureRow, horizon int) (p Prediction, ok bool, err error) {
	m := set[slotReturn]
	out, live, err := s.run(m, &row)
	if !live {
		return Prediction{}, false, nil
	}
	if err != nil {
		s.log.Error("model prediction failed", "pair", m.meta.Pair, "horizon", horizon, "version", m.meta.Version, "err", err)
		return Prediction{}, false, Errorf(CodeModel, "model v%d of %s failed", m.meta.Version, m.slug)
	}
	ret := out[0]
	price := row.Close * math.Exp(ret)
	if math.IsInf(price, 0) || math.IsNaN(price) {
		s.log.Error("model prediction not finite", "pair", m.meta.Pair, "horizon", horizon, "version", m.meta.Version, "return", ret, "close", row.Close)
		return Prediction{}, false, Errorf(CodeModel, "model v%d of %s gave no finite prediction", m.meta.Version, m.slug)
	}
	asOf := row.TS.UTC()
	p = Prediction{
		Pair: m.slug, AsOf: asOf, Horizon: horizon, TargetTime: asOf.Add(time.Duration(horizon) * s.cfg.Interval),
		PredictedReturn: ret, PredictedPrice: price, LastPrice: row.Close,
		Model: NewModelRef(m.meta),
	}
	for _, pm := range set[slotReturn+1:] {
		if pm != nil && !s.addProduct(&p, pm, &row) {
			return Prediction{}, false, nil
		}
	}
	return p, true, nil
}

// addProduct adds pm's forecast of row to p; false when pm was closed
// meanwhile. A forecast pm cannot make leaves p without it.
func (s *Service) addProduct(p *Prediction, pm *model, row *market.FeatureRow) bool {
	product := pm.meta.Product
	if !pm.reads(row) {
		s.log.Warn("feature schema mismatch: product left out", "pair", pm.meta.Pair, "horizon", p.Horizon, "product", product,
			"row_schema", row.SchemaVersion, "model_schema", pm.meta.FeatureSchemaVersion)
		return true
	}
	out, live, err := s.run(pm, row)
	if !live {
		return false
	}
	if err != nil {
		s.log.Debug("product left out", "pair", pm.meta.Pair, "horizon", p.Horizon, "product", product, "version", pm.meta.Version, "err", err)
		return true
	}
	ref := NewModelRef(pm.meta)
	switch product {
	case registry.ProductVol:
		p.Vol = &Forecast{Value: out[0], Model: ref}
	case registry.ProductPUp:
		p.PUp = &Forecast{Value: out[0], Model: ref}
	case registry.ProductQuantiles:
		q := Quantiles{P10: row.Close * math.Exp(out[0]), P50: row.Close * math.Exp(out[1]), P90: row.Close * math.Exp(out[2]), Model: ref}
		if finite(q.P10) && finite(q.P50) && finite(q.P90) {
			p.Quantiles = &q
		}
	}
	return true
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// errNotFinite is a model's output that is not a finite figure (or a
// probability outside [0, 1]), or a baseline missing a feature it reads.
var errNotFinite = errors.New("no finite forecast (a feature it reads missing, or the model's output)")

// run is m's forecast of row (ml.ProductRule.Eval over the booster's output); live
// is false when m was closed before it could be used.
func (s *Service) run(m *model, row *market.FeatureRow) (out [numQuantiles]float64, live bool, err error) {
	raw := 0.0
	if m.booster != nil {
		// The model input is the row's values as float32, in FeatureRow
		// order, as training laid them out (ml.Dataset.Float32); NaN is
		// XGBoost's missing value (the features allowed to be missing). A
		// model of an older schema reads its leading columns.
		x := s.inputs.Get().(*[market.NumFeatures]float32)
		for i, v := range row.Values {
			x[i] = float32(v)
		}
		if !m.acquire() {
			s.inputs.Put(x)
			return out, false, nil
		}
		res, err := m.booster.PredictDense(x[:m.cols], 1, m.cols)
		m.release()
		s.inputs.Put(x)
		if err == nil && len(res) != 1 {
			err = fmt.Errorf("%d outputs for one row", len(res))
		}
		if err != nil {
			return out, true, err
		}
		raw = float64(res[0])
	}
	out, ok := m.spec.Eval(row.Values[:], raw)
	if !ok {
		return out, true, errNotFinite
	}
	return out, true, nil
}

// cacheGet looks key up in the near cache, then the shared one (filling
// the near cache on a hit); a cache error or an undecodable value is a miss.
func (s *Service) cacheGet(ctx context.Context, key []byte, horizon int, set *modelSet, ts, now time.Time) (Prediction, bool) {
	if s.mem != nil {
		if p, ok := s.mem.getPrediction(key); ok || s.shared == nil {
			return p, ok
		}
	}
	b, ok, err := s.shared.Get(ctx, string(key))
	if err != nil {
		s.cacheError("get", err)
		return Prediction{}, false
	}
	if !ok {
		return Prediction{}, false
	}
	var p Prediction
	if err := json.Unmarshal(b, &p); err != nil {
		s.cacheError("decode", fmt.Errorf("value of %s: %w", string(key), err))
		return Prediction{}, false
	}
	if version := set[slotReturn].meta.Version; p.Horizon != horizon || p.Model.Version != version || !set.made(p) {
		s.cacheError("decode", fmt.Errorf("value of %s: horizon %d version %d, want %d %d (and the products' versions)",
			string(key), p.Horizon, p.Model.Version, horizon, version))
		return Prediction{}, false
	}
	if s.mem != nil {
		s.mem.setPrediction(string(key), &p, s.cacheTTL(ts, now))
	}
	return p, true
}

// cacheTTL is how long the prediction of the row at ts lives: until the
// next candle is due, converted from market time to wall time.
func (s *Service) cacheTTL(ts, now time.Time) time.Duration {
	ttl := ts.Add(s.cfg.Interval).Sub(now)
	if s.cfg.Speed > 0 && s.cfg.Speed != 1 {
		ttl = time.Duration(float64(ttl) / s.cfg.Speed)
	}
	return max(ttl, minCacheTTL)
}

// cacheSet stores p in the near and the shared cache until the next candle
// of its row is due.
func (s *Service) cacheSet(ctx context.Context, key []byte, p Prediction, ts, now time.Time) {
	ttl := s.cacheTTL(ts, now)
	if s.mem != nil {
		s.mem.setPrediction(string(key), &p, ttl)
	}
	if s.shared == nil {
		return
	}
	b, err := json.Marshal(p)
	if err == nil {
		err = s.cfg.Cache.Set(ctx, string(key), b, ttl)
	}
	if err != nil {
		s.cacheError("set", err)
	}
}

func (s *Service) cacheError(op string, err error) {
	n := s.cacheErrs.Add(1)
	now := time.Now().UnixNano()
	last := s.lastCacheLog.Load()
	if now-last >= int64(cacheLogEvery) && s.lastCacheLog.CompareAndSwap(last, now) {
		s.log.Warn("prediction cache failing; serving uncached", "op", op, "err", err, "errors_total", n)
	}
}

// CacheErrors counts the cache errors served around since New.
func (s *Service) CacheErrors() uint64 { return s.cacheErrs.Load() }

// FeatureAge is how old pair's newest feature row is on the market clock.
func (s *Service) FeatureAge(pair string) (time.Duration, bool) {
	p, err := s.champs.Load().canonical(pair)
	if err != nil {
		return 0, false
	}
	row, ok := s.cfg.Features.Get(p)
	if !ok {
		return 0, false
	}
	return s.now(row.Pair).Sub(row.TS), true
}

// now is the market time of pair: its own clock when the clock keeps one
// per pair.
func (s *Service) now(pair string) time.Time {
	if pc, ok := s.cfg.Clock.(PairClock); ok {
		return pc.NowFor(pair)
	}
	return s.cfg.Clock.Now()
}

// Ready reports whether the service can answer: a champion is loaded and
// some champion pair has a feature row within the staleness budget.
func (s *Service) Ready() (ok bool, reason string) {
	c := s.champs.Load()
	if len(c.models) == 0 {
		return false, "no champion model loaded"
	}
	var ages []string
	for _, ch := range c.list {
		if ch.Product != "" || ch.Horizon != c.horizons[ch.Pair][0] {
			continue // one look per pair
		}
		row, ok := s.cfg.Features.Get(ch.Pair)
		if !ok {
			continue
		}
		age := s.now(row.Pair).Sub(row.TS)
		if age <= s.budget {
			return true, ""
		}
		ages = append(ages, fmt.Sprintf("%s %s old", market.PairSlug(ch.Pair), age.Round(time.Second)))
	}
	if len(ages) == 0 {
		return false, "no feature rows yet for the champion pairs"
	}
	return false, fmt.Sprintf("feature rows of the champion pairs are over the budget of %s: %s", s.budget, strings.Join(ages, ", "))
}
