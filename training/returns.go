package training

import (
	"math"
	"strings"

	"github.com/tickcast/tickcast/ml"
)

// What is specific to the one forecast product so far, the log return h
// candles ahead (ml.Dataset.Y): its metric, its baselines and reference, and
// the metrics a report and the registry keep of it. A product of its own
// (realized volatility, return quantiles, direction probability) brings its
// own versions of these; the fit, the dataset store and the splits stay.

// gateReference is the model of the registry's baseline version
// (registry.BaselineName), what serves while no model has passed the gate.
var gateReference ml.Predictor = ml.ZeroReturn{}

// returnsBaselineLosses are every return baseline's absolute errors on rows
// s of ds, by name: the gate's candidate must beat the strongest of them.
func returnsBaselineLosses(ds ml.Dataset, s Span) map[string][]float64 {
	out := map[string][]float64{}
	for name, p := range ml.Baselines(ds.Horizon) {
		out[name] = ml.AbsErrors(ds.Predict(p, s.Lo, s.Hi), ds.Y[s.Lo:s.Hi])
	}
	return out
}

// returnsMAE is the metric of return forecasts, lower is better: the trials'
// score and what the gate compares; NaN without rows. The same sum as the
// report's model_mae (ml.Eval), so the gate and the report agree.
func returnsMAE(pred, realized []float64) float64 {
	return ml.Mean(ml.AbsErrors(pred, realized))
}

// scoreReturns evaluates the return predictions pred and every baseline's
// on rows test of ds with the same metrics, skill against zero-return.
func scoreReturns(ds ml.Dataset, test Span, pred []float64, seed int64) (ml.Metrics, map[string]ml.Metrics) {
	realized, closes := ds.Y[test.Lo:test.Hi], ds.Close[test.Lo:test.Hi]
	ev := ml.Eval{Horizon: ds.Horizon, Fee: ml.KrakenTakerFee, Seed: seed}
	base := map[string][]float64{}
	for name, p := range ml.Baselines(ds.Horizon) {
		base[name] = ds.Predict(p, test.Lo, test.Hi)
	}
	zero := base[ml.BaselineZero]
	model := ev.Evaluate(pred, realized, closes, zero)
	baselines := make(map[string]ml.Metrics, len(base))
	for name, p := range base {
		baselines[name] = ev.Evaluate(p, realized, closes, zero)
	}
	return model, baselines
}

// registryMetrics flattens a report's metrics into the registry's keys:
// the model's (model_mae, rmse, dir_acc, skill, pnl, …) and each baseline's
// MAE (baseline_mae is zero-return's, the gate's reference).
func registryMetrics(r ml.Report) map[string]float64 {
	m := r.Metrics
	out := map[string]float64{
		"model_mae": m.MAE, "rmse": m.RMSE, "price_mae": m.PriceMAE, "price_rmse": m.PriceRMSE,
		"dir_acc": m.DirAcc, "dir_acc_lo": m.DirAccLo, "dir_acc_hi": m.DirAccHi,
		"skill": m.Skill, "skill_lo": m.SkillLo, "skill_hi": m.SkillHi,
		"pnl": m.Backtest.PnL, "hit_rate": m.Backtest.HitRate, "turnover": m.Backtest.Turnover,
		"trades": float64(m.Backtest.Trades), "test_rows": float64(m.N),
	}
	for name, b := range r.Baselines {
		key := strings.ReplaceAll(name, "-", "_")
		out[key+"_mae"], out[key+"_rmse"], out[key+"_pnl"] = b.MAE, b.RMSE, b.Backtest.PnL
	}
	out["baseline_mae"] = r.Baselines[ml.BaselineZero].MAE
	for k, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(out, k) // undefined; JSON cannot carry it
		}
	}
	return out
}
