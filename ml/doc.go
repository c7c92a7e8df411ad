// Package ml holds tickcast's model-evaluation domain: the supervised dataset
// built from the feature store, walk-forward splits with purge gaps, the
// baselines, the metrics and their confidence intervals, a fee-aware trading
// backtest, the hyperparameter search space and successive-halving schedule,
// and the report a training run leaves (metrics.json, summary.md,
// test_predictions.csv and four hand-written SVG plots). It imports only the
// standard library and market, and knows nothing of XGBoost: a model enters
// as predictions, importances and trial results, plain data.
//
// # Dataset
//
// Build takes one pair's feature rows (any order; sorted by TS here) and its
// candles. Rows of two pairs, of a feature schema other than
// market.FeatureSchemaVersion, two rows with one TS, candles of another pair,
// of two lengths or two candles ending at one time are errors (ErrInvalid):
// they mean the caller mixed data, and guessing would hide it. The interval is
// the candles' End − Start. For a row at ts the label is
//
//	y = ln(close of the candle ending at ts + h·interval / close at ts)
//
// and the close at ts is the row's Close, which must equal the close of the
// candle ending at ts (a mismatch is an error: the features were computed from
// other candles). A row is dropped, and counted in Dataset.Stats, when it is
// not Warm, when a feature is ±Inf or NaN where market.FeatureMayBeMissing
// does not allow it (a missing optional feature stays NaN, which XGBoost
// takes as missing, and is counted in Stats.Missing), when no candle ends at ts (its close
// cannot be checked) or when no candle ends at ts + h·interval (no label:
// the end of the data, or a gap). The horizon is a time, h intervals, not
// "h rows later", so a gap never silently stretches a label. When every row is
// dropped Build returns an empty Dataset and no error (Stats say why);
// WalkForward then refuses it.
//
// No look-ahead by construction: X at ts is exactly the feature row at ts,
// which market computes from candles ending at or before ts; the future enters
// only through the label. The tests prove it on the real Binance data:
// truncating the data after T, or shuffling or altering the candles after T
// (and recomputing every feature), leaves every row whose label time is at
// most T bit-identical, and shuffling the input order changes nothing.
//
// X is row-major []float64 with Cols = market.NumFeatures columns named
// market.FeatureNames; Float32 converts a row range for XGBoost.
// EncodeDataset/WriteDatasetFile store a Dataset bit-exactly (gob, with format
// and feature-schema versions checked on read) so that activities can pass a
// path instead of the data.
//
// # Splits and purging
//
// Dataset.WalkForward returns the final split train | purge | valid | purge |
// test in time order (test = the last testFrac of the rows, valid = validFrac
// of them just before) and k expanding-window CV folds inside train+valid.
// Purging is by time, not by index: a range may start at row b only if
//
//	TS[b] ≥ label time of the previous range's last row + h·interval
//
// i.e. label intervals (ts, ts+h·interval] of neighbouring ranges are at least
// h·interval apart; on a gap-free grid that drops 2h−1 rows (≥ h, as the issue
// asks), across a gap in the candles fewer rows but the same time. Rows are
// dropped from the end of the earlier range, never from test. Each CV fold f
// (1…k) scores on block f of k+1 equal blocks of train+valid and lays out
// the rows before it the same way (train | purge | valid | purge | test), the
// valid share being validFrac/(1−testFrac): a trial fits on Train,
// early-stops on Valid and is scored on Test, so early stopping never sees the
// rows it is scored on. The package-level WalkForward(n, …) is the same
// layout on a gap-free grid of n rows, for callers without a Dataset.
//
// # Baselines
//
// ZeroReturn predicts 0: the price persists. EMADrift is a momentum rule using
// the feature row alone: an EMA with α = 2/(p+1) follows a steady trend of s
// per candle (1−α)/α candles behind, so ema_12_dev ≈ 5.5·s, and it predicts
// h·ln(1+ema_12_dev)·2/11, the trend extrapolated over the horizon. Both are
// Predictors over x only, with no hidden state.
//
// # Metrics
//
//   - MAE and RMSE of the log returns; price MAE and RMSE of close·exp(pred)
//     against close·exp(y), in quote currency.
//   - Directional accuracy over the rows where the prediction and the realized
//     return are both non-zero (DirN of them). A zero prediction claims no
//     direction, so ZeroReturn's DirAcc is NaN, reported as "n/a" — counting its
//     zeros as wrong or as right would both be inventions. The interval is
//     Wilson's 95% score interval; with h > 1 consecutive labels overlap and
//     are not independent, so it uses DirN/h effective trials (the rows of
//     non-overlapping labels) rather than pretend to DirN.
//   - Skill = 1 − MAE(model)/MAE(baseline) with the zero-return predictions as
//     baseline, so positive skill means beating price persistence. Its 95%
//     interval is a paired circular moving-block bootstrap (both models' errors
//     resampled on the same rows) with blocks of max(h, ⌈n^(1/3)⌉) rows,
//     DefaultResamples resamples, percentile bounds; blocks keep the
//     autocorrelation of overlapping labels and volatility clusters. The seed
//     is a parameter (PCG), so equal inputs give equal intervals.
//   - Undefined values are NaN in Go and null in JSON (Metrics marshals itself;
//     encoding/json rejects NaN, which would otherwise break metrics.json and
//     Temporal payloads).
//
// Evaluate is the horizon-1 shorthand of the contract; Eval carries the
// horizon (block length, effective trials, backtest step) and must be used
// for h > 1.
//
// # Backtest
//
// Position = sign(pred) when |pred| > fee, else flat; fee defaults to
// KrakenTakerFee = 0.0040 per side, Kraken Pro's lowest-tier taker fee since
// its 2023/24 schedule (0.26% before; the machines here are offline, so it is
// a documented constant and every function takes the fee as a parameter).
// With horizon h the backtest trades every h-th row, so each position is held
// for exactly the h candles its label spans and no return is counted twice.
// PnL = Σ position·y − fee·Σ|Δposition| in log-return units (the fee enters
// linearly: −ln(1−0.004) = 0.004008), the last position closed at the end.
// A trade is a run of one non-zero position from entry to exit; the hit rate
// is the share of trades whose PnL after their entry and exit fees is
// positive; turnover is Σ|Δposition| per period traded.
//
// # Tuning
//
// SampleParams draws uniformly (log-uniformly for eta and min_child_weight)
// from max_depth 2–8, eta 0.01–0.3, subsample 0.5–1, colsample_bytree 0.5–1,
// min_child_weight 1–50, lambda 0–10, alpha 0–1, plus a seed. XGB() adds:
//
//   - objective reg:absoluteerror (XGBoost ≥ 1.7): every decision here —
//     skill, promotion — is judged on MAE, and the MAE-optimal prediction of a
//     heavy-tailed return is its conditional median, which is what this
//     objective fits (squared error chases the mean, i.e. the outliers);
//   - eval_metric mae, so early stopping watches the same loss;
//   - base_score 0: XGBoost 1.7 starts squared error at 0.5 (a 50% return)
//     while 2.x estimates the intercept; 0 is the zero-return baseline and
//     makes the versions agree;
//   - tree_method hist (fast, and the default from 2.0 on);
//   - nthread 1: trials run as parallel activities, threads would oversubscribe.
//
// SuccessiveHalving(n, eta) gives rungs r = 0…R with ⌊n/eta^r⌋ trials at
// budget eta^(r−R) of the full rounds; R is the last rung that still compares
// at least eta trials, so no full-budget rung is spent on a single survivor
// (the final fit does that). TopK selects survivors deterministically (lowest
// score, then lowest ID; failed trials never).
//
// # Report
//
// WriteReport writes metrics.json (model and baselines side by side, params,
// importance, trials, notes, and the other products' figures under
// "products"), test_predictions.csv (PredictionsHeader:
// ts,pair,horizon,last_price,realized_return,predicted_return,realized_vol,
// predicted_vol,q10,q50,q90,p_up — issue #12's output contract; ts RFC3339
// UTC, floats in shortest round-trip form, so the file recomputes the
// reported MAE exactly, a product's columns empty where it has none), summary.md (the verdict against the zero-return baseline stated
// from the skill interval: beats / not distinguishable / does not beat /
// loses) and pred_vs_realized.svg, residuals.svg, feature_importance.svg,
// tuning_history.svg. The SVGs are standalone, hand-written, with axes,
// labels and a title; they show at most 2,000 evenly spaced points, and their
// return axes span the central 99% of the values, with points beyond drawn on
// the edge and counted in the caption.
package ml
