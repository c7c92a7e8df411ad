// Package driftwatch runs package drift's detectors over the live feature
// rows and starts a full retraining when one fires: a Watcher per process,
// fed every row predict.Service.Follow sees, one regime detector per pair
// and, when the pair's champion is a trained model, a PSI monitor against
// that champion's training rows. A firing is logged with its figures,
// counted, and starts Train at every champion horizon of the pair through
// a Trainer (temporalclient.DriftTrainer), at most once per pair × horizon
// per hour.
package driftwatch

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/tickcast/tickcast/drift"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
)

// Trainer starts a full retraining of pair at horizon, the firing at
// market time at, reason the detector's. started is false (and err nil)
// when the retraining of that pair × horizon for at's hour was already
// started; id names the workflow either way.
type Trainer interface {
	StartTrain(ctx context.Context, pair string, horizon int, at time.Time, reason string) (id string, started bool, err error)
}

// Models is what serves (*predict.Service): the horizons to retrain and
// the champions whose training rows are the PSI reference.
type Models interface {
	Horizons(pair string) []int
	Champions() []predict.Champion
}

// Rows reads a pair's stored feature rows with ts in [from, to)
// ((*parquet.Reader).Features).
type Rows func(pair string, from, to time.Time) ([]market.FeatureRow, error)

// Config configures a Watcher.
type Config struct {
	Trainer Trainer // required
	Models  Models  // required
	// Rows, when set, gives the PSI reference (the champion's training
	// rows) and the day of rows that primes a pair's regime detector on
	// its first live row; nil: PSI off, the regime detector blind for its
	// first day.
	Rows     Rows
	Regime   drift.RegimeConfig // zero: drift.DefaultRegime
	PSI      drift.PSIConfig    // zero: drift.DefaultPSI
	PH       drift.PHConfig     // zero: drift.DefaultPH (error drift, ObserveLoss)
	Interval time.Duration      // candle interval, default time.Minute
	// StartTimeout bounds one StartTrain call, default 30 s.
	StartTimeout time.Duration
	Metrics      *Metrics // nil: NewMetrics()
	Logger       *slog.Logger
}

// Watcher feeds live rows to each pair's detectors. Observe is called from
// one goroutine (Follow's); reference builds and training starts run in
// the background (Wait waits for them).
type Watcher struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	bg      sync.WaitGroup

	mu      sync.Mutex
	pairs   map[string]*pairState
	ph      map[phKey]*drift.PageHinkley // error drift per pair × horizon
	started map[startKey]bool            // pair × horizon × hour: a start asked for
}

// pairState is one pair's detectors.
type pairState struct {
	last   time.Time // newest row seen: corrected rows are not fed twice
	regime *drift.Regime
	psi    *drift.PSI // nil: off (psiOff says why) or being built
	psiFor int        // the champion version psi is (being) built for; -1: none yet
	psiOff string
}

type phKey struct {
	pair    string
	horizon int
}

type startKey struct {
	pair    string
	horizon int
	hour    int64 // unix hour of the firing row
}

// New returns a Watcher under cfg.
func New(cfg Config) (*Watcher, error) {
	if cfg.Regime == (drift.RegimeConfig{}) {
		cfg.Regime = drift.DefaultRegime
	}
	if cfg.PSI == (drift.PSIConfig{}) {
		cfg.PSI = drift.DefaultPSI
	}
	if _, err := drift.NewRegime(cfg.Regime); err != nil {
		return nil, err
	}
	if cfg.PH == (drift.PHConfig{}) {
		cfg.PH = drift.DefaultPH
	}
	if _, err := drift.NewPageHinkley(cfg.PH); err != nil {
		return nil, err
	}
	cfg.Interval = cmpOr(cfg.Interval, time.Minute)
	cfg.StartTimeout = cmpOr(cfg.StartTimeout, 30*time.Second)
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics,
		pairs: map[string]*pairState{}, ph: map[phKey]*drift.PageHinkley{}, started: map[startKey]bool{}}, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Observe feeds one live row to its pair's detectors and acts on their
// decisions (predict.Drift). Rows not newer than the pair's newest are
// corrections and ignored.
func (w *Watcher) Observe(ctx context.Context, row market.FeatureRow) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.pair(row)
	if !row.TS.After(st.last) {
		return
	}
	st.last = row.TS
	w.checkChampion(row.Pair, st)
	w.act(ctx, row, st.regime.Add(row))
	if st.psi != nil {
		w.act(ctx, row, st.psi.Add(row))
	}
}

// ObserveLoss feeds the error-drift detector of pair × horizon one scored
// vol forecast: x = (|error of the model| − |error of last-rv|) / last-rv's
// forecast, the loss difference Page–Hinkley was calibrated on
// (docs/drift.md); at is the forecast's target time. A firing retrains that
// horizon. Non-finite x is ignored.
func (w *Watcher) ObserveLoss(ctx context.Context, pair string, horizon int, at time.Time, x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	if p, err := market.NormalizePair(pair); err == nil {
		pair = p // the scorer keys by slug (ETH-USDT); rows and Train by name
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	k := phKey{pair, horizon}
	ph := w.ph[k]
	if ph == nil {
		ph, _ = drift.NewPageHinkley(w.cfg.PH) // checked by New
		w.ph[k] = ph
	}
	if d := ph.Add(x); d.Fire {
		w.actOn(ctx, market.FeatureRow{Pair: pair, TS: at}, d, []int{horizon})
	}
}

// Wait waits for the reference builds and training starts under way.
func (w *Watcher) Wait() { w.bg.Wait() }

// pair returns row's pair state, made (and primed) on its first row.
func (w *Watcher) pair(row market.FeatureRow) *pairState {
	if st, ok := w.pairs[row.Pair]; ok {
		return st
	}
	g, _ := drift.NewRegime(w.cfg.Regime) // checked by New
	st := &pairState{regime: g, psiFor: -1}
	w.pairs[row.Pair] = st
	w.prime(row, st)
	return st
}

// prime feeds the regime detector the stored rows of the day before row,
// so that it is not blind for a day after a restart.
func (w *Watcher) prime(row market.FeatureRow, st *pairState) {
	if w.cfg.Rows == nil {
		return
	}
	span := time.Duration(w.cfg.Regime.RefRows+w.cfg.Regime.Lag) * w.cfg.Interval
	rows, err := w.cfg.Rows(row.Pair, row.TS.Add(-span), row.TS)
	if err != nil {
		w.log.Warn("drift: regime detector not primed from the store: blind for its first day", "pair", row.Pair, "err", err)
		return
	}
	for _, r := range rows {
		st.regime.Add(r)
		st.last = r.TS
	}
	w.log.Info("drift: regime detector primed from the store", "pair", row.Pair, "rows", len(rows))
}
