package driftwatch

import (
	"fmt"
	"time"

	"github.com/tickcast/tickcast/drift"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
)

// champion is the pair's return champion at its shortest horizon: the
// model whose training rows are the pair's PSI reference (ok false: none).
func (w *Watcher) champion(pair string) (predict.Champion, bool) {
	for _, c := range w.cfg.Models.Champions() { // by pair, horizon, product
		if c.Product == "" && sameUnit(c.Pair, pair) {
			return c, true
		}
	}
	return predict.Champion{}, false
}

func sameUnit(a, b string) bool {
	if a == b {
		return true
	}
	na, errA := market.NormalizePair(a)
	nb, errB := market.NormalizePair(b)
	return errA == nil && errB == nil && na == nb
}

// checkChampion rebuilds the pair's PSI monitor when its champion's
// version changed: in the background from the champion's training rows,
// or off (logged once per version, with the reason) when the champion is a
// baseline or its rows cannot be read. Called with w.mu held.
func (w *Watcher) checkChampion(pair string, st *pairState) {
	c, ok := w.champion(pair)
	version := c.Meta.Version
	if !ok {
		version = 0
	}
	if version == st.psiFor {
		return
	}
	st.psi, st.psiFor = nil, version
	switch {
	case !ok:
		st.psiOff = "no champion"
	case version == 0:
		st.psiOff = "the champion is a baseline: no training rows"
	case w.cfg.Rows == nil:
		st.psiOff = "no feature store to read the training rows from"
	case c.Meta.DataFrom.IsZero() || c.Meta.DataTo.IsZero():
		st.psiOff = fmt.Sprintf("champion v%d names no training span", version)
	default:
		st.psiOff = "building the reference"
		w.bg.Go(func() { w.build(pair, st, c) })
		return
	}
	w.log.Info("drift: PSI off", "pair", pair, "reason", st.psiOff)
}

// build makes the PSI monitor of champion c from its training rows and
// installs it unless the champion changed meanwhile.
func (w *Watcher) build(pair string, st *pairState, c predict.Champion) {
	psi, n, err := w.newPSI(pair, c.Meta.DataFrom, c.Meta.DataTo)
	w.mu.Lock()
	defer w.mu.Unlock()
	if st.psiFor != c.Meta.Version {
		return
	}
	if err != nil {
		st.psiOff = err.Error()
		w.log.Info("drift: PSI off", "pair", pair, "version", c.Meta.Version, "reason", st.psiOff)
		return
	}
	st.psi, st.psiOff = psi, ""
	w.log.Info("drift: PSI on", "pair", pair, "version", c.Meta.Version, "training_rows", n,
		"from", c.Meta.DataFrom.UTC().Format(time.RFC3339), "to", c.Meta.DataTo.UTC().Format(time.RFC3339))
}

// newPSI is a monitor against the rows of [from, to] (to inclusive: the
// last training row), calibrated on them, and how many rows it read.
func (w *Watcher) newPSI(pair string, from, to time.Time) (*drift.PSI, int, error) {
	rows, err := w.cfg.Rows(pair, from, to.Add(time.Nanosecond))
	if err != nil {
		return nil, 0, fmt.Errorf("read the training rows: %w", err)
	}
	ref, err := drift.NewReference(rows)
	if err != nil {
		return nil, len(rows), fmt.Errorf("%d training rows in the store: %w", len(rows), err)
	}
	if ref, err = drift.Calibrate(ref, w.cfg.PSI, rows); err != nil {
		return nil, len(rows), err
	}
	psi, err := drift.NewPSI(ref, w.cfg.PSI)
	return psi, len(rows), err
}
