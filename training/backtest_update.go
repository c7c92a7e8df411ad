package training

import (
	"cmp"
	"context"
	"errors"
	"math"
	"time"

	"github.com/tickcast/tickcast/ml"
)

// walkUpdates serves the day's rows with model updated by policy p,
// test-then-train: at each step (every p.Every rows, at the step row's TS)
// the candidates made at the previous step are shadow-gated on the rows
// labelled since and replace the champions (vol and p_up each) if not
// worse; the champions predict the next p.Every rows; new candidates are
// made from them on the last p.Window rows labelled at the step.
func walkUpdates(ctx context.Context, ds ml.Dataset, pd productData, model BacktestModel, p BacktestPolicy, day Span) (forecast, BacktestUpdateStats, error) {
	start := time.Now()
	every := cmp.Or(p.Every, UpdateEvery)
	st := BacktestUpdateStats{MaxLead: math.MinInt64}
	w := updateWalk{ds: ds, y: map[string][]float64{ProductVol: pd.vol, ProductPUp: upTargets(pd.dir)}, scale: model.VolScale,
		champ: map[string][]byte{ProductVol: model.Vol, ProductPUp: model.PUp}, cand: map[string][]byte{}}
	var f forecast
	for now := day.Lo; now < day.Hi; now += every {
		st.Steps++
		labelled := labelledAt(ds, ds.TS[now])
		if err := w.gate(labelled, &st); err != nil {
			return f, st, err
		}
		g, err := predictBacktest(model, w.champ[ProductVol], w.champ[ProductPUp], ds, Span{now, min(now+every, day.Hi)}.rows())
		if err != nil {
			return f, st, err
		}
		f.vol, f.pUp = append(f.vol, g.vol...), append(f.pUp, g.pUp...)
		for j := range g.q {
			if f.q == nil {
				f.q = make([][]float64, len(g.q))
			}
			f.q[j] = append(f.q[j], g.q[j]...)
		}
		lo := max(0, labelled-p.Window)
		if lo < labelled {
			st.MaxLead = max(st.MaxLead, ds.LabelTime(labelled-1).Sub(ds.TS[now]))
		}
		if err := w.candidates(ctx, p.update(), lo, labelled, &st); err != nil {
			return f, st, err
		}
	}
	st.Seconds = time.Since(start).Seconds()
	return f, st, nil
}

// updateWalk holds a walk's champions and pending candidates per product.
type updateWalk struct {
	ds      ml.Dataset
	y       map[string][]float64
	scale   float64
	champ   map[string][]byte
	cand    map[string][]byte
	candEnd int // the candidates' window ends at this row (exclusive)
}

func (w *updateWalk) rows(product string, lo, hi int) UpdateRows {
	r := NewUpdateRows(w.ds, product, w.y[product], lo, hi)
	r.VolScale = w.scale
	return r
}

// gate promotes each pending candidate that is no worse than its champion
// on the rows [candEnd, labelled).
func (w *updateWalk) gate(labelled int, st *BacktestUpdateStats) error {
	for _, product := range []string{ProductVol, ProductPUp} {
		c := w.cand[product]
		if c == nil || labelled <= w.candEnd {
			continue
		}
		pass, _, err := ShadowGate(w.champ[product], c, w.rows(product, w.candEnd, labelled))
		switch {
		case errors.Is(err, ErrUpdateSkipped):
			continue
		case err != nil:
			return err
		}
		if pass {
			w.champ[product] = c
			st.Promoted++
		}
	}
	clear(w.cand)
	return nil
}

// candidates updates each champion on rows [lo, hi).
func (w *updateWalk) candidates(ctx context.Context, p UpdatePolicy, lo, hi int, st *BacktestUpdateStats) error {
	for _, product := range []string{ProductVol, ProductPUp} {
		child, _, err := Update(ctx, w.champ[product], w.rows(product, lo, hi), p)
		switch {
		case errors.Is(err, ErrUpdateSkipped):
			st.Skipped++
			continue
		case err != nil:
			return err
		}
		w.cand[product] = child
		st.Updates++
	}
	w.candEnd = hi
	return nil
}

// upTargets are p_up's update targets: 1 up, 0 down, NaN otherwise.
func upTargets(dir []ml.Dir) []float64 {
	out := make([]float64, len(dir))
	for i, d := range dir {
		switch d {
		case ml.DirUp:
			out[i] = 1
		case ml.DirDown:
			out[i] = 0
		default:
			out[i] = math.NaN()
		}
	}
	return out
}
