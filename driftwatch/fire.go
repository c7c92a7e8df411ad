package driftwatch

import (
	"context"
	"time"

	"github.com/tickcast/tickcast/drift"
	"github.com/tickcast/tickcast/market"
)

// act logs and counts a firing and starts the retraining of every
// champion horizon of the pair not yet started in the firing row's hour.
// Called with w.mu held; the starts run in the background.
func (w *Watcher) act(ctx context.Context, row market.FeatureRow, d drift.Decision) {
	if !d.Fire {
		return
	}
	w.actOn(ctx, row, d, w.cfg.Models.Horizons(row.Pair))
}

// actOn is act for the horizons hs (error drift: the one whose scores fired).
func (w *Watcher) actOn(ctx context.Context, row market.FeatureRow, d drift.Decision, hs []int) {
	w.metrics.fired.WithLabelValues(market.PairSlug(row.Pair), d.Kind).Inc()
	if len(hs) == 0 {
		w.log.Warn("drift fired: no champion horizon to retrain", "pair", row.Pair, "kind", d.Kind,
			"at", row.TS.UTC().Format(time.RFC3339), "reason", d.Reason, "figures", d.Figures)
		return
	}
	hour := row.TS.Unix() / 3600
	w.forget(hour)
	for _, h := range hs {
		k := startKey{row.Pair, h, hour}
		w.log.Info("drift fired: retrain", "pair", row.Pair, "horizon", h, "kind", d.Kind,
			"at", row.TS.UTC().Format(time.RFC3339), "reason", d.Reason, "figures", d.Figures, "already_this_hour", w.started[k])
		if w.started[k] {
			continue
		}
		w.started[k] = true
		w.bg.Go(func() { w.start(ctx, k, row.TS, d) })
	}
}

// forget drops the starts of hours before the previous one.
func (w *Watcher) forget(hour int64) {
	for k := range w.started {
		if k.hour < hour-1 {
			delete(w.started, k)
		}
	}
}

// start asks the Trainer for one retraining; a failed start frees its
// hour, so the next firing tries again.
func (w *Watcher) start(ctx context.Context, k startKey, at time.Time, d drift.Decision) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.StartTimeout)
	defer cancel()
	id, started, err := w.cfg.Trainer.StartTrain(ctx, k.pair, k.horizon, at, d.Kind+": "+d.Reason)
	switch {
	case err != nil:
		w.mu.Lock()
		delete(w.started, k)
		w.mu.Unlock()
		w.log.Warn("drift: retraining not started", "pair", k.pair, "horizon", k.horizon, "kind", d.Kind, "err", err)
	case !started:
		w.log.Info("drift: retraining already started this hour", "pair", k.pair, "horizon", k.horizon, "workflow_id", id)
	default:
		w.metrics.started.WithLabelValues(market.PairSlug(k.pair)).Inc()
		w.log.Info("drift: retraining started", "pair", k.pair, "horizon", k.horizon, "kind", d.Kind, "workflow_id", id)
	}
}
