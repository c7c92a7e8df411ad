package training

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/xgboost"
)

// Walk-forward backtest of the training loop (issue #13 item 5), one pair ×
// horizon × day at a time so that a workflow can fan the days out: on day
// d, (a) a model fitted once before the window and frozen, (b) the products
// refitted on every row labelled before d (the daily full retrain), (c) (b)
// updated every N candles during d (Update + ShadowGate, test-then-train)
// and (d) the baselines fitted on (b)'s training rows are scored on d's
// rows. BacktestAggregate turns the days into skills with day-block
// bootstrap CIs. docs/backtest.md has the method and the figures.

// Forecaster names of a day's losses beside the baselines' (ml.Baseline*).
const (
	BacktestFrozen  = "frozen"  // (a)
	BacktestRetrain = "retrain" // (b)
	BacktestUpdated = "updated" // (c), with BacktestDayInput.Update
	// backtestAltPrefix + PolicyKey names (b) updated with an alternative
	// policy (the policy selection's candidates).
	backtestAltPrefix = "update:"
)

// backtestValidFrac is the share of the rows labelled before d that a
// retrain holds out as validation (early stopping, vol_scale, z): the last
// ones, after a purge gap of h rows, as Split's validFrac.
const backtestValidFrac = validFrac

// BacktestSeries is one pair × horizon's dataset and candles (ml.Build over
// the store's rows: the activity loads it from the data directory; it is
// never serialized).
type BacktestSeries struct {
	DS      ml.Dataset
	Candles []market.Candle
}

// BacktestPolicy is an update policy with its cadence: Every candles a
// candidate is made from the champion on the rows labelled by then and
// shadow-gated on the Every rows labelled next.
type BacktestPolicy struct {
	Method string `json:"method"` // UpdateContinue or UpdateRefresh; UpdateOff: no updates
	Trees  int    `json:"trees,omitempty"`
	Window int    `json:"window"`
	Every  int    `json:"every"` // 0: UpdateEvery
}

// Key names the policy, e.g. "continue-t5-w1440-n60".
func (p BacktestPolicy) Key() string {
	if p.Method == UpdateOff {
		return "off"
	}
	return fmt.Sprintf("%s-t%d-w%d-n%d", p.Method, p.Trees, p.Window, cmp.Or(p.Every, UpdateEvery))
}

func (p BacktestPolicy) update() UpdatePolicy {
	return UpdatePolicy{Method: p.Method, Trees: p.Trees, Window: p.Window}
}

// BacktestModel is the products fitted on the rows labelled before
// Before: the frozen model (a) of a backtest, an input artifact, and each
// day's retrain (b). It is JSON (the boosters as UBJ bytes).
type BacktestModel struct {
	Before    time.Time `json:"before"`
	Train     Span      `json:"train"` // dataset rows
	Valid     Span      `json:"valid"`
	LastLabel time.Time `json:"last_label"` // the latest label time of a train or valid row: ≤ Before
	Vol       []byte    `json:"vol"`        // UBJ booster on ln vol
	VolScale  float64   `json:"vol_scale"`
	// Quantiles: predicted vol × Z[tercile][level]; QuantMethod vol-z uses
	// Z[0] for every σ, vol-z-terciles cuts σ at ZCut.
	QuantMethod string        `json:"quant_method"`
	Z           [3][3]float64 `json:"z"`
	ZCut        [2]float64    `json:"z_cut"`
	PUp         []byte        `json:"p_up"` // UBJ binary:logistic booster
	Seconds     float64       `json:"seconds"`
}

func (m BacktestModel) volZ() ml.VolZ {
	if m.QuantMethod == methodVolZTerciles {
		return ml.VolZ{Cut: m.ZCut, Z: m.Z}
	}
	return ml.GlobalVolZ(m.Z[0])
}

// BacktestFit are the fixed settings of every fit in a backtest.
type BacktestFit struct {
	Params  ml.TrialParams `json:"params"` // tuned once before the window; zero: the products' fixed candidate only
	Rounds  int            `json:"rounds"` // 0: 400
	Threads int            `json:"threads"`
}

// BacktestDayInput is one step of a backtest: pair × horizon × day.
type BacktestDayInput struct {
	Pair    string         `json:"pair"`
	Horizon int            `json:"horizon"`
	Day     time.Time      `json:"day"` // start of the day scored: rows with TS in [Day, Day+24h)
	Fit     BacktestFit    `json:"fit"`
	Frozen  BacktestModel  `json:"frozen"` // (a), FitBacktestModel before the window
	Update  BacktestPolicy `json:"update"` // (c)
	// Alternatives are more update policies scored beside Update (named
	// "update:"+Key), for choosing the policy (ChooseUpdatePolicy).
	Alternatives []BacktestPolicy `json:"alternatives,omitempty"`
	Series       *BacktestSeries  `json:"-"` // loaded by the caller
}

// DayLoss is a forecaster's summed loss over a day's scored rows.
type DayLoss struct {
	Sum     float64 `json:"sum"`
	Rows    int     `json:"rows"`
	Covered int     `json:"covered,omitempty"` // quantiles: rows inside the q10–q90 band
}

// BacktestUpdateStats sum up a day's update walk of one policy.
type BacktestUpdateStats struct {
	Steps    int     `json:"steps"`
	Updates  int     `json:"updates"` // candidates made (vol and p_up each)
	Promoted int     `json:"promoted"`
	Skipped  int     `json:"skipped"`
	Seconds  float64 `json:"seconds"`
	// MaxLead is the largest label time of a row an update trained on minus
	// the step's time: ≤ 0 means no update saw a label from its future.
	MaxLead time.Duration `json:"max_lead_ns"`
}

// BacktestDayResult is a day's per-product, per-forecaster summed losses
// (the metric of each product: vol MAE, quantiles mean pinball over the
// levels, p_up Brier on the non-tie rows) and what the fits saw.
type BacktestDayResult struct {
	Pair    string        `json:"pair"`
	Horizon int           `json:"horizon"`
	Day     time.Time     `json:"day"`
	Scored  Span          `json:"scored"` // the day's rows; losses on those with every target and baseline
	Rows    int           `json:"rows"`
	Retrain BacktestModel `json:"retrain"` // without its boosters
	// Losses[product][forecaster].
	Losses  map[string]map[string]DayLoss  `json:"losses"`
	Updates map[string]BacktestUpdateStats `json:"updates"` // by policy key
	Seconds float64                        `json:"seconds"`
	FitSecs float64                        `json:"fit_seconds"`
}

// BacktestDay scores one day of a backtest (see the package comment above).
// The retrain and the baselines see only the rows labelled at the day's
// start; each update only the rows labelled at its step.
func BacktestDay(ctx context.Context, in BacktestDayInput) (BacktestDayResult, error) {
	start := time.Now()
	if in.Series == nil || in.Series.DS.Len() == 0 {
		return BacktestDayResult{}, invalidf("backtest %s h%d: no series", in.Pair, in.Horizon)
	}
	ds := in.Series.DS
	day := Span{firstAtOrAfter(ds, in.Day), firstAtOrAfter(ds, in.Day.Add(24*time.Hour))}
	if day.Len() == 0 {
		return BacktestDayResult{}, invalidf("backtest %s h%d: no rows on %s", in.Pair, in.Horizon, in.Day.Format(time.DateOnly))
	}
	model, pd, err := fitBacktest(ctx, *in.Series, in.Fit, in.Day)
	if err != nil {
		return BacktestDayResult{}, err
	}
	res := BacktestDayResult{Pair: ds.Pair, Horizon: ds.Horizon, Day: in.Day, Scored: day, FitSecs: model.Seconds,
		Losses: map[string]map[string]DayLoss{}, Updates: map[string]BacktestUpdateStats{}}
	res.Retrain = model
	res.Retrain.Vol, res.Retrain.PUp = nil, nil
	fcs, err := backtestForecasts(ctx, ds, pd, in, model, day, &res)
	if err != nil {
		return BacktestDayResult{}, err
	}
	res.Rows = scoreDay(res.Losses, pd, fcs, day)
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// forecast is one forecaster's predictions of a day's rows (index j = row
// day.Lo+j); a nil field: it does not forecast that product.
type forecast struct {
	name string
	vol  []float64
	q    [][]float64
	pUp  []float64
}

// backtestForecasts are the models' and baselines' predictions of the day.
func backtestForecasts(ctx context.Context, ds ml.Dataset, pd productData, in BacktestDayInput, model BacktestModel, day Span, res *BacktestDayResult) ([]forecast, error) {
	rows := spanRows(day)
	var fcs []forecast
	for _, m := range []struct {
		name  string
		model BacktestModel
	}{{BacktestFrozen, in.Frozen}, {BacktestRetrain, model}} {
		f, err := predictBacktest(m.model, m.model.Vol, m.model.PUp, ds, rows)
		if err != nil {
			return nil, fmt.Errorf("backtest %s: %w", m.name, err)
		}
		f.name = m.name
		fcs = append(fcs, f)
	}
	policies := append([]BacktestPolicy{in.Update}, in.Alternatives...)
	for k, p := range policies {
		name := BacktestUpdated
		if k > 0 {
			name = backtestAltPrefix + p.Key()
		}
		if p.Method == UpdateOff {
			f := fcs[1]
			f.name = name
			fcs = append(fcs, f)
			continue
		}
		f, st, err := walkUpdates(ctx, ds, pd, model, p, day)
		if err != nil {
			return nil, fmt.Errorf("backtest %s: %w", p.Key(), err)
		}
		f.name, res.Updates[p.Key()] = name, st
		fcs = append(fcs, f)
	}
	return append(fcs, dayBaselines(pd, model.Train, day)...), nil
}

// dayBaselines are the vol, quantile and p_up baselines of the day's rows,
// fitted on the retrain's training rows.
func dayBaselines(pd productData, train, day Span) []forecast {
	rows := spanRows(day)
	har := pick(pd.har, rows)
	uq := ml.EmpiricalQuantiles(pick(pd.ret, pd.labelled(train)), ml.QuantileLevels)
	uncond := make([][]float64, len(uq))
	for j, v := range uq {
		uncond[j] = constant(len(rows), v)
	}
	clim := ml.Climatology(pick(pd.dir, train.rows()))
	return []forecast{
		{name: ml.BaselineLastRV, vol: pick(pd.lastRV, rows)},
		{name: ml.BaselineEWMA, vol: pick(pd.ewma, rows)},
		{name: ml.BaselineHAR, vol: har},
		{name: ml.BaselineUncondQuantiles, q: uncond},
		{name: ml.BaselineHARGaussian, q: ml.GaussianQuantiles(0, har, ml.QuantileLevels)},
		{name: ml.BaselineClimatology, pUp: constant(len(rows), clim)},
		{name: backtestCoin, pUp: constant(len(rows), 0.5)},
	}
}

// backtestCoin is the p_up baseline 0.5.
const backtestCoin = "coin"

func (s Span) rows() []int { return spanRows(s) }

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// scoreDay adds each forecaster's summed losses over the day's rows with
// every target and baseline defined; it returns their number.
func scoreDay(losses map[string]map[string]DayLoss, pd productData, fcs []forecast, day Span) int {
	scored := pd.scored(day)
	offs := make([]int, len(scored))
	for j, i := range scored {
		offs[j] = i - day.Lo
	}
	vol, ret, dir := pick(pd.vol, scored), pick(pd.ret, scored), pick(pd.dir, scored)
	add := func(product, name string, l DayLoss) {
		if losses[product] == nil {
			losses[product] = map[string]DayLoss{}
		}
		losses[product][name] = l
	}
	for _, f := range fcs {
		if f.vol != nil {
			add(ProductVol, f.name, sumLoss(ml.AbsErrors(pick(f.vol, offs), vol)))
		}
		if f.q != nil {
			q := pickQ(f.q, offs)
			rows, _ := ml.PinballLosses(q, ret, ml.QuantileLevels)
			l := sumLoss(rows)
			for t, r := range ret {
				if q[0][t] <= r && r <= q[2][t] {
					l.Covered++
				}
			}
			add(ProductQuantiles, f.name, l)
		}
		if f.pUp != nil {
			brier, _ := ml.DirLosses(pick(f.pUp, offs), dir)
			add(ProductPUp, f.name, sumLoss(brier))
		}
	}
	return len(scored)
}

func sumLoss(v []float64) DayLoss {
	l := DayLoss{Rows: len(v)}
	for _, x := range v {
		l.Sum += x
	}
	return l
}

// predictBacktest is m's forecast of rows with the given vol and p_up
// boosters (m's own, or updated ones): vol, its quantiles, p_up.
func predictBacktest(m BacktestModel, vol, pUp []byte, ds ml.Dataset, rows []int) (forecast, error) {
	raw, err := predictBytes(vol, ds, rows)
	if err != nil {
		return forecast{}, err
	}
	p, err := predictBytes(pUp, ds, rows)
	if err != nil {
		return forecast{}, err
	}
	sigma := expAll(raw, m.VolScale)
	return forecast{vol: sigma, q: volZQuantiles(sigma, m.volZ()), pUp: p}, nil
}

func predictBytes(model []byte, ds ml.Dataset, rows []int) ([]float64, error) {
	b, err := loadParent(model, ds.Cols)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return predictRows(b, ds, rows)
}

// firstAtOrAfter is the first row of ds with TS ≥ t.
func firstAtOrAfter(ds ml.Dataset, t time.Time) int {
	i, _ := slices.BinarySearchFunc(ds.TS, t, func(a, b time.Time) int { return a.Compare(b) })
	return i
}

// labelledAt is the number of leading rows of ds whose label is known at t
// (LabelTime ≤ t): TS is increasing, so LabelTime is too.
func labelledAt(ds ml.Dataset, t time.Time) int {
	lag := time.Duration(ds.Horizon) * ds.Interval
	return firstAtOrAfter(ds, t.Add(-lag).Add(time.Nanosecond))
}

// FitBacktestModel fits the products on the rows of s labelled at before,
// as a daily retrain does: all of them, the last backtestValidFrac as
// validation after a purge gap of h rows.
func FitBacktestModel(ctx context.Context, s BacktestSeries, fit BacktestFit, before time.Time) (BacktestModel, error) {
	m, _, err := fitBacktest(ctx, s, fit, before)
	return m, err
}

func fitBacktest(ctx context.Context, s BacktestSeries, fit BacktestFit, before time.Time) (BacktestModel, productData, error) {
	start := time.Now()
	ds, h := s.DS, s.DS.Horizon
	n := labelledAt(ds, before)
	v := n - int(math.Round(backtestValidFrac*float64(n)))
	m := BacktestModel{Before: before, Train: Span{0, v - h}, Valid: Span{v, n}}
	if m.Train.Len() < 100 || m.Valid.Len() < 20 {
		return m, productData{}, invalidf("backtest %s h%d: %d rows labelled before %s", ds.Pair, h, n, before.Format(time.DateTime))
	}
	m.LastLabel = ds.LabelTime(n - 1)
	pd, err := buildProductData(ds, s.Candles, m.Train)
	if err != nil {
		return m, pd, err
	}
	req := ProductsRequest{Params: fit.Params, Rounds: fit.Rounds, Threads: fit.Threads}
	train, valid := pd.labelled(m.Train), pd.labelled(m.Valid)
	vol, err := fitVolModel(ctx, ds, pd, req, train, valid)
	if err != nil {
		return m, pd, err
	}
	defer vol.close()
	dir, err := fitDirModel(ctx, ds, pd, req, train, valid)
	if err != nil {
		return m, pd, err
	}
	defer dir.close()
	if err := m.keep(vol, dir.booster, pick(pd.ret, valid)); err != nil {
		return m, pd, err
	}
	m.Seconds = time.Since(start).Seconds()
	return m, pd, nil
}

// keep stores the boosters and the quantile method with the lower
// validation pinball loss (vol-z on a tie), as chooseQuantiles chooses.
func (m *BacktestModel) keep(vol volModel, pUp *xgboost.Booster, validRet []float64) error {
	var err error
	if m.Vol, err = vol.booster.Save("ubj"); err != nil {
		return fmt.Errorf("backtest: save vol: %w", err)
	}
	if m.PUp, err = pUp.Save("ubj"); err != nil {
		return fmt.Errorf("backtest: save p_up: %w", err)
	}
	m.VolScale, m.QuantMethod = vol.scale, methodVolZ
	m.Z = [3][3]float64{[3]float64(vol.z), [3]float64(vol.z), [3]float64(vol.z)}
	global := validPinball(volZQuantiles(vol.validSigma, ml.GlobalVolZ([3]float64(vol.z))), validRet)
	if validPinball(volZQuantiles(vol.validSigma, vol.zt), validRet) < global && !math.IsInf(vol.zt.Cut[0], 0) {
		m.QuantMethod, m.Z, m.ZCut = methodVolZTerciles, vol.zt.Z, vol.zt.Cut
	}
	return nil
}
