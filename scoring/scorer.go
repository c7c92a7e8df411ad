// Package scoring keeps score of the predictions tickcast serves: each one is
// recorded once (serves are counted), joined to the realized close when its
// target candle's feature row arrives, and folded into a rolling MAE of log
// returns next to the zero-return baseline, per pair and horizon, with the
// products' live scores beside theirs (ProductScore: vol MAE, band coverage,
// Brier; kept in memory only), and prequentially over the last hour and day
// of market time (Score.Windows, see prequential.go). Final rows (scored, or
// expired without a realized price) are appended to Parquet.
//
// Time is the market's: the newest feature row or prediction seen, never the
// wall clock, so a replay at any speed scores and expires the same way.
package scoring

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
)

// Config configures a Scorer.
type Config struct {
	Dir      string        // where Parquet files go: <data>/parquet/predictions; "" keeps nothing on disk
	Interval time.Duration // candle interval, default time.Minute
	Window   int           // rolling N, default 60
	Keep     int           // recent per pair+horizon, default 1440
	Logger   *slog.Logger
	// OnVolScored, when set, is told of every vol forecast on its first
	// scoring (corrections are not repeated), outside the scorer's lock:
	// error-drift detection feeds on it.
	OnVolScored func(VolScore)
}

// VolScore is one served vol forecast scored at its target: the absolute
// errors of the model and of last-rv, and last-rv's forecast (the scale).
type VolScore struct {
	Pair                  string // slug, as the scorer keys it (ETH-USDT)
	Horizon               int
	At                    time.Time // the target time
	ModelErr, BaselineErr float64
	Baseline              float64
}

// ExpireAfter is how many candles past its target a prediction waits for a
// realized row before it is written unscored and forgotten; a scored one is
// kept as long, so that a corrected row can re-score it.
const ExpireAfter = 60

// maxBacklog bounds the rows a failing disk keeps in memory for retries.
const maxBacklog = 1 << 20

// Score is the rolling accuracy of one pair and horizon.
type Score struct {
	Pair        string           `json:"pair"`
	Horizon     int              `json:"horizon"`
	Window      int              `json:"window"`
	N           int              `json:"n"`
	MAE         float64          `json:"mae"`
	BaselineMAE float64          `json:"baseline_mae"`
	Skill       float64          `json:"skill"`    // 1 − MAE/BaselineMAE; 0 when the baseline MAE is 0
	Model       predict.ModelRef `json:"model"`    // of the newest scored
	Products    ProductScore     `json:"products"` // vol, band and direction over the same window
	// Windows are the prequential scores over the last hour and day of
	// market time (keys: Windows' names), every product beside its baseline.
	Windows map[string]WindowScore `json:"windows"`
	// UpdatedAt is the target time of the newest scored prediction (market time).
	UpdatedAt time.Time `json:"updated_at"`
}

// Scored is a recorded prediction with its outcome; the realized fields are
// nil while it is pending and when it expired unscored.
type Scored struct {
	predict.Prediction
	Served           int      `json:"served"`
	RealizedPrice    *float64 `json:"realized_price,omitempty"`
	RealizedReturn   *float64 `json:"realized_return,omitempty"`
	AbsError         *float64 `json:"abs_error,omitempty"`
	BaselineAbsError *float64 `json:"baseline_abs_error,omitempty"`
}

// Scorer records, scores and persists predictions. It is safe for
// concurrent use.
type Scorer struct {
	cfg     Config
	log     *slog.Logger
	grace   int64 // ExpireAfter candles, in ns
	slots   int   // candles of the longest of Windows: a series' buckets
	flushMu sync.Mutex

	mu       sync.Mutex
	entries  map[key]*entry         // every live prediction, for dedup
	byTarget map[targetKey][]*entry // live predictions by the row that scores them
	series   map[seriesKey]*series
	last     map[string]market.FeatureRow // newest row per pair (slug): the as-of row of what is recorded next
	clock    int64                        // newest market time seen, unix ns
	queue    []*entry                     // final rows not yet flushed
	backlog  []Scored                     // rows a failed flush keeps for the next
	seq      uint64                       // file name counter, guarded by flushMu
}

type key struct {
	pair    string
	horizon int
	asOf    int64
	version int
}

type targetKey struct {
	pair string
	ts   int64
}

type seriesKey struct {
	pair    string
	horizon int
}

// entry is a recorded prediction. Its outcome is held as plain floats so
// that scoring does not allocate; export builds the pointers.
type entry struct {
	p       predict.Prediction
	key     key
	target  int64
	served  int
	scored  bool
	queued  bool
	price   float64 // realized close
	ret     float64 // realized log return
	absErr  float64
	baseErr float64
	baseRV  float64 // the as-of row's realized vol over h candles (last-rv), NaN when unknown
	prod    outcome // the products' scores
}

type series struct {
	recent  ring     // last Keep recorded
	window  ring     // last Window scored, in scoring order
	live    []*entry // recorded and not yet dropped, in record order
	buckets buckets  // prequential losses by target candle
}

// New returns a Scorer; the directory is created by the first flush.
func New(cfg Config) (*Scorer, error) {
	if cfg.Interval == 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Window == 0 {
		cfg.Window = 60
	}
	if cfg.Keep == 0 {
		cfg.Keep = 1440
	}
	if cfg.Interval < 0 || cfg.Window < 0 || cfg.Keep < 0 {
		return nil, fmt.Errorf("scoring: negative interval, window or keep: %+v", cfg)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scorer{
		cfg:      cfg,
		log:      cfg.Logger,
		grace:    int64(ExpireAfter) * int64(cfg.Interval),
		slots:    candles(Windows[len(Windows)-1].Span, cfg.Interval),
		entries:  make(map[key]*entry),
		byTarget: make(map[targetKey][]*entry),
		series:   make(map[seriesKey]*series),
		last:     make(map[string]market.FeatureRow),
	}, nil
}

// Record notes that p was served. The first serve of a (pair, horizon,
// as_of, model version) records it; a repeat only counts, with one map
// lookup under the mutex and no allocation.
func (s *Scorer) Record(p predict.Prediction) {
	k := key{p.Pair, p.Horizon, p.AsOf.UnixNano(), p.Model.Version}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[k]; ok {
		e.served++
		return
	}
	s.recordNew(k, p)
}

func (s *Scorer) recordNew(k key, p predict.Prediction) {
	if err := validate(&p, s.cfg.Interval); err != nil {
		s.log.Debug("scoring: prediction not recorded", "err", err)
		return
	}
	if p.Pair != k.pair { // another spelling: it may be known under the slug
		k.pair = p.Pair
		if e, ok := s.entries[k]; ok {
			e.served++
			return
		}
	}
	e := &entry{p: p, key: k, target: p.TargetTime.UnixNano(), served: 1, baseRV: math.NaN(), prod: unscored()}
	if r, ok := s.last[k.pair]; ok && r.TS.UnixNano() == k.asOf {
		e.baseRV = rvAt(&r, k.horizon)
	}
	s.entries[k] = e
	tk := targetKey{k.pair, e.target}
	s.byTarget[tk] = append(s.byTarget[tk], e)
	se := s.seriesOf(seriesKey{k.pair, k.horizon})
	se.recent.push(e)
	se.live = append(se.live, e)
	s.clock = max(s.clock, k.asOf)
}

// validate normalizes p's pair to its slug and fills a missing target time;
// it refuses what could never be scored.
func validate(p *predict.Prediction, iv time.Duration) error {
	pair, err := market.NormalizePair(p.Pair)
	if err != nil {
		return err
	}
	p.Pair = market.PairSlug(pair)
	switch {
	case p.Horizon < 1:
		return fmt.Errorf("%s: horizon %d", p.Pair, p.Horizon)
	case p.AsOf.IsZero():
		return fmt.Errorf("%s: zero as_of", p.Pair)
	case !positive(p.LastPrice) || math.IsNaN(p.PredictedReturn) || math.IsInf(p.PredictedReturn, 0):
		return fmt.Errorf("%s h%d at %s: last price %g, predicted return %g", p.Pair, p.Horizon, p.AsOf, p.LastPrice, p.PredictedReturn)
	}
	if p.TargetTime.IsZero() {
		p.TargetTime = p.AsOf.Add(time.Duration(p.Horizon) * iv)
	}
	return nil
}

func positive(x float64) bool { return x > 0 && !math.IsInf(x, 1) }

func (s *Scorer) seriesOf(k seriesKey) *series {
	se := s.series[k]
	if se == nil {
		se = &series{recent: newRing(s.cfg.Keep), window: newRing(s.cfg.Window)}
		s.series[k] = se
	}
	return se
}

// Observe takes a feature row as the realized outcome at row.TS: every
// prediction of row.Pair targeting row.TS is scored against row.Close (again,
// with the new close, when a corrected row comes). It also advances the
// market clock, which expires predictions left unscored too long.
func (s *Scorer) Observe(row market.FeatureRow) {
	pair := market.PairSlug(row.Pair)
	ts := row.TS.UnixNano()
	var vols []VolScore
	s.mu.Lock()
	s.clock = max(s.clock, ts)
	if r, ok := s.last[pair]; !ok || !row.TS.Before(r.TS) {
		s.last[pair] = row
	}
	if positive(row.Close) {
		for _, e := range s.byTarget[targetKey{pair, ts}] {
			first := !e.scored
			s.score(e, &row)
			if first && s.cfg.OnVolScored != nil && finite(e.prod.volErr) && finite(e.prod.volBaseErr) && e.baseRV > 0 {
				vols = append(vols, VolScore{Pair: e.key.pair, Horizon: e.key.horizon, At: row.TS,
					ModelErr: e.prod.volErr, BaselineErr: e.prod.volBaseErr, Baseline: e.baseRV})
			}
		}
	}
	s.sweep()
	s.mu.Unlock()
	for _, v := range vols {
		s.cfg.OnVolScored(v)
	}
}

func (s *Scorer) score(e *entry, row *market.FeatureRow) {
	close := row.Close
	se := s.series[seriesKey{e.key.pair, e.key.horizon}]
	if se.buckets == nil {
		se.buckets = make(buckets, s.slots)
	}
	candle := e.target / int64(s.cfg.Interval)
	if e.scored { // a corrected row: its new losses replace the old
		se.buckets.add(e, candle, -1)
	}
	e.prod = scoreProducts(&e.p, row, e.baseRV)
	r := math.Log(close / e.p.LastPrice)
	first := !e.scored
	e.scored, e.price, e.ret = true, close, r
	e.absErr = math.Abs(e.p.PredictedReturn - r)
	e.baseErr = math.Abs(r)
	if first {
		se.window.push(e)
	}
	se.buckets.add(e, candle, 1)
	s.enqueue(e)
}

func (s *Scorer) enqueue(e *entry) {
	if !e.queued {
		e.queued = true
		s.queue = append(s.queue, e)
	}
}

// sweep drops the predictions whose target is more than ExpireAfter candles
// old, queueing the unscored ones to be written as expired. Each series is
// walked from its oldest record; a late record of an older as_of waits
// behind a younger one, which bounds memory all the same.
func (s *Scorer) sweep() {
	for _, se := range s.series {
		n := 0
		for n < len(se.live) && se.live[n].target+s.grace < s.clock {
			s.drop(se.live[n])
			se.live[n] = nil
			n++
		}
		se.live = se.live[n:]
	}
}

func (s *Scorer) drop(e *entry) {
	if !e.scored {
		s.enqueue(e)
	}
	delete(s.entries, e.key)
	tk := targetKey{e.key.pair, e.target}
	list := slices.DeleteFunc(s.byTarget[tk], func(x *entry) bool { return x == e })
	if len(list) == 0 {
		delete(s.byTarget, tk)
	} else {
		s.byTarget[tk] = list
	}
}

// Scores returns the rolling score of every pair and horizon with at least
// one scored prediction, over its last Window scored, sorted by pair and
// horizon.
func (s *Scorer) Scores() []Score {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Score, 0, len(s.series))
	for k, se := range s.series {
		if sc, ok := s.scoreOf(k, se); ok {
			out = append(out, sc)
		}
	}
	slices.SortFunc(out, func(a, b Score) int {
		return cmp.Or(cmp.Compare(a.Pair, b.Pair), cmp.Compare(a.Horizon, b.Horizon))
	})
	return out
}

func (s *Scorer) scoreOf(k seriesKey, se *series) (Score, bool) {
	newest, ok := se.window.newest()
	if !ok {
		return Score{}, false
	}
	var sum, base float64
	n := se.window.each(func(e *entry) {
		sum += e.absErr
		base += e.baseErr
	})
	sc := Score{
		Pair: k.pair, Horizon: k.horizon, Window: s.cfg.Window, N: n,
		MAE: sum / float64(n), BaselineMAE: base / float64(n),
		Model: newest.p.Model, UpdatedAt: newest.p.TargetTime, Products: productScore(se.window.each),
	}
	if sc.BaselineMAE > 0 {
		sc.Skill = 1 - sc.MAE/sc.BaselineMAE
	}
	sc.Windows = make(map[string]WindowScore, len(Windows))
	now := s.clock / int64(s.cfg.Interval)
	for _, w := range Windows {
		sc.Windows[w.Name] = se.buckets.window(now, candles(w.Span, s.cfg.Interval)) // made by the first score
	}
	return sc, true
}

// Recent returns up to limit (≤ 0: all kept) of the last Keep predictions
// recorded for pair (any spelling) and horizon, by as_of, newest last;
// pending ones are included with nil outcomes.
func (s *Scorer) Recent(pair string, horizon int, limit int) []Scored {
	p, err := market.NormalizePair(pair)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	se := s.series[seriesKey{market.PairSlug(p), horizon}]
	var out []Scored
	if se != nil {
		out = make([]Scored, 0, se.recent.len())
		se.recent.each(func(e *entry) { out = append(out, e.export()) })
	}
	s.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Scored) int { return a.AsOf.Compare(b.AsOf) })
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}

func (e *entry) export() Scored {
	sc := Scored{Prediction: e.p, Served: e.served}
	if e.scored {
		v := [4]float64{e.price, e.ret, e.absErr, e.baseErr} // one allocation for the four
		sc.RealizedPrice, sc.RealizedReturn, sc.AbsError, sc.BaselineAbsError = &v[0], &v[1], &v[2], &v[3]
	}
	return sc
}
