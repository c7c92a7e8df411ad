package training

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/registry"
)

// UpdateStep is one stateless step of a series' incremental updates, run
// every UpdateEvery candles (the Update workflow, from a schedule). All its
// state is in the registry:
//
//   - the pending child is the newest version whose Parent is the champion
//     and that was registered after the champion alias was last set (so a
//     full training, a rollback or a promotion leaves older children
//     behind). An older child of the same champion was judged and rejected:
//     a rejection is recorded by registering the next child, so a rejected
//     child that is still the newest (its successor skipped) is judged
//     again, on the same rows, to the same verdict. The challenger alias is
//     the train gate's and is not touched.
//   - with a pending child and at least Gate labelled rows after its DataTo
//     (none used to train it), ShadowGate(champion, child, the first Gate of
//     them) decides: pass sets the champion alias to the child with a reason
//     naming the figures (the API hot-swaps it), fail leaves the champion.
//     With fewer rows the step waits (UpdateWaiting), registering nothing.
//   - then (no child pending, or one just judged) a new child is fitted from
//     the champion on its newest Window labelled rows (Update) and registered
//     with its lineage (Meta.Parent, DataFrom/DataTo, TrainedAt, Params
//     update_*) as the next pending one.
//
// A champion that is a baseline, a fitted baseline without an artifact, a
// quantiles model (its booster is the vol product's), another feature
// schema, or rows that are empty, NaN or too few skip the step with a
// logged reason (UpdateSkipped, no error): the champion keeps serving. A
// champion artifact that is corrupt or does not load fails the step with
// ErrParentModel (code invalid: the activity fails without retries); the
// serving path never runs this code.
func UpdateStep(ctx context.Context, reg *registry.Registry, dataDir string, req UpdateStepRequest) (UpdateStepResult, error) {
	req, err := req.normalize()
	if err != nil {
		return UpdateStepResult{}, err
	}
	st := &updateStep{reg: reg, dir: dataDir, req: req, log: req.Logger.With("series", req.Series.String())}
	res, err := st.run(ctx)
	var skip *stepSkip
	if errors.As(err, &skip) {
		verdict := res.Reason
		res.Status, res.Reason = UpdateSkipped, skip.reason
		if res.Judged > 0 { // the verdict stands; what followed it was skipped
			res.Reason += "; after " + verdict
		}
		st.log.Info("update skipped", "reason", skip.reason, "champion", res.Champion)
		return res, nil
	}
	return res, err
}

// Outcomes of an UpdateStep (UpdateStepResult.Status).
const (
	UpdateRegistered = "registered" // a new child is pending
	UpdateWaiting    = "waiting"    // the pending child waits for Gate labelled rows
	UpdateSkipped    = "skipped"    // nothing registered: Reason says why
)

// UpdateStepRequest is one step of a series' updates.
type UpdateStepRequest struct {
	Series registry.Series
	Policy UpdatePolicy // Method continue or refresh (UpdateOff refuses the step)
	Gate   int          // labelled rows a child is shadow-scored on: 0 means UpdateGate
	// Now bounds the rows read: features and candles before it, so a row is
	// labelled once its h-th candle has started before Now. The activity
	// passes the wall clock; tests a time in the real data.
	Now time.Time
	// Interval is the candle length (0: 1 minute), which sizes the read.
	Interval time.Duration
	Logger   *slog.Logger // nil: discard
}

func (r UpdateStepRequest) normalize() (UpdateStepRequest, error) {
	r.Gate = cmp.Or(r.Gate, UpdateGate)
	r.Interval = cmp.Or(r.Interval, time.Minute)
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case r.Policy.Method != UpdateContinue && r.Policy.Method != UpdateRefresh:
		return r, invalidf("update step: method %q (want %s or %s; updates are off by default)", r.Policy.Method, UpdateContinue, UpdateRefresh)
	case r.Policy.Window < MinUpdateRows:
		return r, invalidf("update step: window %d rows, want at least %d", r.Policy.Window, MinUpdateRows)
	case r.Gate < 1 || r.Now.IsZero() || r.Interval < time.Second:
		return r, invalidf("update step: gate %d rows, now %s, interval %s", r.Gate, r.Now, r.Interval)
	}
	return r, nil
}

// UpdateStepResult is what a step did; Status is UpdateRegistered,
// UpdateWaiting or UpdateSkipped, whether or not a child was judged first.
type UpdateStepResult struct {
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Champion int    `json:"champion"` // the version serving after the step
	// Judged is the child the shadow gate judged (0: none), Promoted its
	// verdict, Gate the figures.
	Judged   int          `json:"judged,omitempty"`
	Promoted bool         `json:"promoted,omitempty"`
	Gate     *GateFigures `json:"gate,omitempty"`
	Pending  int          `json:"pending,omitempty"` // the child waiting or just registered
	Stats    UpdateStats  `json:"stats,omitzero"`    // of the child registered
}

// stepSkip ends a step without an error: the reason is logged and returned.
type stepSkip struct{ reason string }

func (s *stepSkip) Error() string { return "update skipped: " + s.reason }

func skipStep(format string, args ...any) error { return &stepSkip{fmt.Sprintf(format, args...)} }

type updateStep struct {
	reg *registry.Registry
	dir string
	req UpdateStepRequest
	log *slog.Logger

	champ    registry.Meta
	since    time.Time // when the champion alias was set
	model    []byte    // the champion's artifact
	volScale float64
	ds       ml.Dataset
	y        []float64 // ds's targets of the product
}

func (st *updateStep) run(ctx context.Context) (UpdateStepResult, error) {
	var res UpdateStepResult
	if err := st.loadChampion(ctx); err != nil {
		return res, err
	}
	res.Champion = st.champ.Version
	child, err := st.pending(ctx)
	if err != nil {
		return res, err
	}
	if err := st.readRows(child); err != nil {
		return res, err
	}
	if child != nil {
		done, err := st.judge(ctx, child, &res)
		if err != nil || !done {
			return res, err
		}
	}
	return res, st.fit(ctx, &res)
}

// loadChampion reads the champion's meta and artifact and refuses what
// Update cannot update.
func (st *updateStep) loadChampion(ctx context.Context) error {
	s := st.req.Series
	a, err := st.reg.AliasesIn(ctx, s)
	if err != nil {
		return err
	}
	if a.Champion == nil {
		return skipStep("%s has no champion", s)
	}
	st.since = a.Champion.Since
	if st.champ, err = st.reg.VersionIn(ctx, s, a.Champion.Version); err != nil {
		return err
	}
	return st.loadModel(ctx)
}

func (st *updateStep) loadModel(ctx context.Context) error {
	c := st.champ
	switch {
	case c.Version == 0 || c.Artifact == "":
		return skipStep("champion v%d is %s, without a booster to update", c.Version, c.Name)
	case c.Product == ProductQuantiles:
		return skipStep("champion v%d is a quantiles model (%s): its booster is the vol product's, not updated here", c.Version, c.Name)
	case c.Name != ml.ModelXGBoost:
		return skipStep("champion v%d is %s, which Update cannot update", c.Version, c.Name)
	case c.FeatureSchemaVersion != market.FeatureSchemaVersion:
		return skipStep("champion v%d has feature schema %d, the store %d: the next full training replaces it", c.Version, c.FeatureSchemaVersion, market.FeatureSchemaVersion)
	}
	var err error
	if st.model, err = st.reg.Artifact(ctx, c); err != nil {
		return invalid(fmt.Errorf("champion v%d: %w: %w", c.Version, ErrParentModel, err))
	}
	st.volScale = 1
	if c.Product == ProductVol {
		if st.volScale, err = strconv.ParseFloat(c.Params[ParamVolScale], 64); err != nil || !(st.volScale > 0) {
			return invalid(fmt.Errorf("champion v%d: %w: %s %q", c.Version, ErrParentModel, ParamVolScale, c.Params[ParamVolScale]))
		}
	}
	return nil
}

// pending is the champion's newest child registered since the alias was
// set, or nil.
func (st *updateStep) pending(ctx context.Context) (*registry.Meta, error) {
	ms, err := st.reg.ListIn(ctx, st.req.Series)
	if err != nil {
		return nil, err
	}
	var out *registry.Meta
	for i := range ms {
		m := &ms[i]
		if m.Parent == st.champ.Version && m.Version != st.champ.Version && !m.CreatedAt.Before(st.since) && (out == nil || m.Version > out.Version) {
			out = m
		}
	}
	return out, nil
}

// readRows reads the newest Window rows (and, for a pending child, the
// rows since its DataTo) labelled before Now, with the product's targets.
func (st *updateStep) readRows(child *registry.Meta) error {
	r, s := st.req, st.req.Series
	iv := r.Interval
	from := r.Now.Add(-time.Duration(r.Policy.Window+s.Horizon+2) * iv)
	if child != nil && child.DataTo.Before(from) {
		from = child.DataTo
	}
	store := &parquet.Reader{Root: datadir.Parquet(st.dir), SkipCorrupt: true, Logger: st.log}
	rows, err := store.Features(s.Pair, from, r.Now)
	if err != nil {
		return fmt.Errorf("read features %s: %w", s.Pair, err)
	}
	if len(rows) < 2 {
		return skipStep("%d feature rows of %s in [%s, %s)", len(rows), s.Pair, stamp(from), stamp(r.Now))
	}
	candles, err := store.Candles(s.Pair, from.Add(-2*iv), r.Now)
	if err != nil {
		return fmt.Errorf("read candles %s: %w", s.Pair, err)
	}
	if st.ds, err = ml.Build(rows, candles, s.Horizon); err != nil {
		return skipStep("rows of %s: %v", s.Pair, err)
	}
	if st.ds.Len() == 0 {
		return skipStep("no labelled row of %s in [%s, %s) (%+v)", s.Pair, stamp(from), stamp(r.Now), st.ds.Stats)
	}
	if st.y, err = ProductTargets(st.ds, candles, s.Product); err != nil {
		return err
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// rows are rows [lo, hi) of the dataset as the product's UpdateRows.
func (st *updateStep) rows(lo, hi int) UpdateRows {
	r := NewUpdateRows(st.ds, st.req.Series.Product, st.y, lo, hi)
	r.VolScale = st.volScale
	return r
}

// judge shadow-scores the pending child on the first Gate labelled rows
// after its DataTo; done is false while there are fewer.
func (st *updateStep) judge(ctx context.Context, child *registry.Meta, res *UpdateStepResult) (done bool, err error) {
	lo, hi, n := st.gateRows(child.DataTo)
	if n < st.req.Gate {
		res.Status, res.Pending = UpdateWaiting, child.Version
		res.Reason = fmt.Sprintf("child v%d waits for %d labelled rows after %s, %d so far", child.Version, st.req.Gate, stamp(child.DataTo), n)
		st.log.Info("update waiting", "child", child.Version, "rows", n, "gate", st.req.Gate)
		return false, nil
	}
	model, err := st.reg.Artifact(ctx, *child)
	if err != nil {
		return false, invalid(fmt.Errorf("child v%d: %w: %w", child.Version, ErrParentModel, err))
	}
	pass, f, err := ShadowGate(st.model, model, st.rows(lo, hi))
	if err != nil {
		return false, invalid(err)
	}
	res.Judged, res.Gate = child.Version, &f
	verdict := fmt.Sprintf("update v%d (%s of v%d on %s … %s): shadow %s %.6g vs champion v%d's %.6g on the next %d labelled rows %s … %s",
		child.Version, cmp.Or(child.Params[paramUpdateMethod], "update"), st.champ.Version, stamp(child.DataFrom), stamp(child.DataTo),
		f.Metric, f.Child, st.champ.Version, f.Parent, f.Rows, stamp(st.ds.TS[lo]), stamp(st.ds.TS[hi-1]))
	st.log.Info("update judged", "child", child.Version, "promoted", pass, "verdict", verdict)
	if !pass {
		res.Reason = "rejected: " + verdict
		return true, nil
	}
	if err := st.promote(ctx, child, "promoted: "+verdict); err != nil {
		res.Reason = "not promoted: " + verdict
		return false, err
	}
	res.Champion, res.Promoted, res.Reason = child.Version, true, "promoted: "+verdict
	return true, nil
}

// gateRows are the rows after to, up to the Gate-th with a finite target:
// [lo, hi) and how many of them have one.
func (st *updateStep) gateRows(to time.Time) (lo, hi, n int) {
	lo = st.ds.Len()
	for i, ts := range st.ds.TS {
		if ts.After(to) {
			lo = i
			break
		}
	}
	for hi = lo; hi < st.ds.Len() && n < st.req.Gate; hi++ {
		if finite(st.y[hi]) {
			n++
		}
	}
	return lo, hi, n
}

// promote points the champion alias at child, unless it moved since the
// step read it (a full training, a rollback): then the child is left.
func (st *updateStep) promote(ctx context.Context, child *registry.Meta, reason string) error {
	s := st.req.Series
	a, err := st.reg.AliasesIn(ctx, s)
	if err != nil {
		return err
	}
	if a.Champion == nil || a.Champion.Version != st.champ.Version {
		return skipStep("the champion moved during the step (was v%d): child v%d left", st.champ.Version, child.Version)
	}
	if err := st.reg.SetAliasIn(ctx, s, registry.Champion, child.Version, reason); err != nil {
		return err
	}
	st.champ, st.since = *child, time.Time{}
	return st.loadModel(ctx)
}

// Params of an update version (its lineage beside Meta.Parent).
const (
	paramUpdateMethod    = "update_method"
	paramUpdateTrees     = "update_trees"
	paramUpdateWindow    = "update_window"
	paramUpdateRows      = "update_rows"
	paramUpdateNaNLabels = "update_nan_labels"
	paramUpdateRounds    = "update_rounds" // trees after the update
)

// fit updates the champion on the newest Window rows and registers the
// child, pending.
func (st *updateStep) fit(ctx context.Context, res *UpdateStepResult) error {
	n := st.ds.Len()
	lo := max(0, n-st.req.Policy.Window)
	if newest := st.ds.TS[n-1]; !newest.After(st.champ.DataTo) {
		return skipStep("no row after champion v%d's data (to %s): nothing new to update on", st.champ.Version, stamp(st.champ.DataTo))
	}
	model, stats, err := Update(ctx, st.model, st.rows(lo, n), st.req.Policy)
	switch {
	case errors.Is(err, ErrUpdateSkipped):
		return skipStep("%s", strings.TrimPrefix(market.ErrorMessage(err), "update skipped: "))
	case errors.Is(err, ErrParentModel):
		return invalid(fmt.Errorf("champion v%d: %w", st.champ.Version, err))
	case err != nil:
		return err
	}
	from, to := st.labelledSpan(lo, n)
	m, err := st.reg.Register(ctx, st.childMeta(stats, from, to), model)
	if err != nil {
		return err
	}
	res.Status, res.Pending, res.Stats = UpdateRegistered, m.Version, stats
	reason := fmt.Sprintf("child v%d of v%d registered: %s on %d rows %s … %s", m.Version, st.champ.Version, stats.Method, stats.Rows, stamp(from), stamp(to))
	if res.Reason != "" { // a verdict came first
		reason = res.Reason + "; " + reason
	}
	res.Reason = reason
	st.log.Info("update registered", "child", m.Version, "parent", st.champ.Version, "method", stats.Method, "rows", stats.Rows,
		"from", from, "to", to, "seconds", stats.Seconds)
	return nil
}

// labelledSpan is the first and last ts of rows [lo, hi) with a finite
// target: the time span the child trained on.
func (st *updateStep) labelledSpan(lo, hi int) (from, to time.Time) {
	for i := lo; i < hi; i++ {
		if finite(st.y[i]) {
			if from.IsZero() {
				from = st.ds.TS[i]
			}
			to = st.ds.TS[i]
		}
	}
	return from, to
}

func (st *updateStep) childMeta(stats UpdateStats, from, to time.Time) registry.Meta {
	c, p := st.champ, st.req.Policy
	params := maps.Clone(c.Params)
	if params == nil {
		params = map[string]string{}
	}
	for k, v := range map[string]int{paramUpdateTrees: p.Trees, paramUpdateWindow: p.Window, paramUpdateRows: stats.Rows,
		paramUpdateNaNLabels: stats.NaNLabels, paramUpdateRounds: stats.RoundsAfter} {
		params[k] = strconv.Itoa(v)
	}
	params[paramUpdateMethod] = p.Method
	if p.Method == UpdateRefresh {
		delete(params, paramUpdateTrees)
	}
	return registry.Meta{Pair: c.Pair, Horizon: c.Horizon, Product: c.Product, Name: c.Name, Artifact: modelFile,
		FeatureSchemaVersion: c.FeatureSchemaVersion, Params: params, DataFrom: from, DataTo: to,
		TrainedAt: c.LastFullTraining(), Parent: c.Version}
}
