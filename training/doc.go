// Package training holds model training as plain Go over the store and the
// registry: the dataset store (a pair's supervised rows built from the stored
// feature rows and candles, written once under a content hash, decoded once
// per worker), the split policy (walk-forward CV folds and the final train |
// valid | test split), tuning trials and the final fit (XGBoost), the
// evaluation against the baselines and its report, registration, and the
// gate's scores. It knows nothing of Temporal: the activities call it one
// step at a time, resolve the paths a request names, heartbeat the progress
// the callbacks here report, and map the errors' codes (market.Error; code
// invalid for what no retry can fix) to Temporal's.
//
// # Forecast products
//
// The first product is the log return h candles ahead (ml.Dataset.Y),
// fitted with XGBoost's absolute error (ml.Objective), scored by MAE,
// against ml.Baselines. What is specific to it lives in returns.go — the
// metric (returnsMAE), the test window's metrics (scoreReturns) and their
// registry keys (registryMetrics). The vol, quantile and p_up products
// (issue #12) live in product*.go: TrainProducts fits them on the same
// dataset and splits, with targets from the pair's candles, scores them
// against their baselines on the same test rows, decides each gate with
// the same rule (LossGate) and leaves products.json beside the model, which
// Evaluate merges into the report; RegisterProducts records them in the
// registry, one series per product.
package training
