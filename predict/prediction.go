// Package predict turns the champion models of a pair and horizon and the
// pair's freshest feature row into a prediction, with caching and staleness
// rules. It holds no HTTP: package api serves it.
//
// A pair × horizon serves when its return product has a champion; each other
// registry product with a champion there (vol, quantiles, p_up) adds its
// forecast, by the artifact contract: vol "xgboost" exp(output) × vol_scale,
// "har-rv" a HAR over the row's realized-vol features, "last-rv" the row's
// realized vol over h candles; quantiles q = z·σ from "xgboost-vol-z" (the vol
// booster), "xgboost-vol-z-terciles" (the same, z of σ's tercile),
// "har-gaussian" or "last-rv-gaussian" (Gaussian z), served as prices last
// close × exp(q); p_up "xgboost" (binary:logistic) or "climatology".
// Refresh documents the fallbacks, and why an older feature schema's booster
// falls back instead of being fed the columns it knew.
package predict

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
)

// Prediction is one forecast of a pair's close Horizon candles after AsOf.
type Prediction struct {
	Pair       string    `json:"pair"`        // URL spelling, e.g. ETH-USDT (market.PairSlug)
	AsOf       time.Time `json:"as_of"`       // end of the newest candle the features describe
	Horizon    int       `json:"horizon"`     // candles ahead
	TargetTime time.Time `json:"target_time"` // AsOf + Horizon candles: when the forecast can be scored
	// PredictedReturn is the forecast log return ln(close at TargetTime / LastPrice).
	PredictedReturn float64  `json:"predicted_return"`
	PredictedPrice  float64  `json:"predicted_price"` // LastPrice · exp(PredictedReturn)
	LastPrice       float64  `json:"last_price"`      // close of the candle ending at AsOf
	Model           ModelRef `json:"model"`           // the return product's model
	// Vol, Quantiles and PUp are the other products' forecasts for the same
	// horizon, each by its own champion (registry products vol, quantiles,
	// p_up); nil when the pair × horizon has no champion of the product, or
	// its model could not forecast this row (a feature it needs missing).
	Vol          *Forecast  `json:"vol,omitempty"`
	Quantiles    *Quantiles `json:"quantiles,omitempty"`
	PUp          *Forecast  `json:"p_up,omitempty"`
	FeatureAgeMS int64      `json:"feature_age_ms"` // now − AsOf on the market clock, at serve time
	// Complete and Revision are those of the feature row the prediction
	// was made from: complete when no trade of its candles is known to be
	// missing; the revision grows with every correction of its candles.
	Complete bool `json:"complete"`
	Revision int  `json:"revision"`
	// GapOpen is the pipeline's gap state of the pair when the prediction
	// was served: an outage not yet resolved or a trade_id gap not yet
	// repaired, so newer rows may still change. False where the state is
	// unknown (Config.Gaps nil: API replicas over Redis).
	GapOpen bool `json:"gap_open"`
	// Degraded is set when a fallback model answered in place of a
	// champion (of any product) that could not be loaded or whose feature
	// schema is older than this build's, or that was last trained longer
	// ago than Config.ModelMaxAge; DegradedReason says why ("vol: …" for a
	// product other than return).
	Degraded       bool   `json:"degraded"`
	DegradedReason string `json:"degraded_reason,omitempty"`
	Cached         bool   `json:"cached"`
	Stale          bool   `json:"stale,omitempty"` // only when the caller allowed stale answers
}

// ModelRef names the registered model version that made a prediction.
// TrainedAt and UpdatedAt are zero (left out of the JSON) for a baseline,
// version 0, which is not trained.
type ModelRef struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	// TrainedAt is the last full training of the model
	// (registry.Meta.LastFullTraining): Config.ModelMaxAge counts from it.
	TrainedAt time.Time `json:"trained_at,omitzero"`
	// UpdatedAt is the last update of the model: when the version was
	// registered, TrainedAt unless it updated its parent incrementally.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// NewModelRef is the reference to the version meta describes.
func NewModelRef(meta registry.Meta) ModelRef {
	ref := ModelRef{Name: meta.Name, Version: meta.Version}
	if meta.Version != 0 {
		ref.TrainedAt, ref.UpdatedAt = meta.LastFullTraining().UTC(), meta.CreatedAt.UTC()
	}
	return ref
}

// Forecast is one figure of a product with the version that made it: the
// realized volatility of the h-candle log returns (vol: √Σr² over (AsOf,
// TargetTime]), or the probability that the close at TargetTime is above
// LastPrice (p_up).
type Forecast struct {
	Value float64  `json:"value"`
	Model ModelRef `json:"model"`
}

// Quantiles are the 10%, 50% and 90% quantiles of the close at TargetTime,
// as prices (LastPrice · exp(q) of the log-return quantiles q): the price
// should stay in [P10, P90] 80% of the time.
type Quantiles struct {
	P10   float64  `json:"p10"`
	P50   float64  `json:"p50"`
	P90   float64  `json:"p90"`
	Model ModelRef `json:"model"`
}

// Features is the online feature store: the newest row per pair.
// *online.Latest implements it.
type Features interface {
	Get(pair string) (market.FeatureRow, bool)
	All() []market.FeatureRow
}

// Gaps is the pipeline's gap state per pair (canonical spelling):
// *online.Gaps implements it.
type Gaps interface {
	Open(pair string) bool
}

// Cache stores encoded predictions until their candle is superseded.
// Implementations: the in-memory cache of this package and package redis.
// A cache error never fails a request: the service computes instead.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// Error codes; package api maps them to HTTP statuses.
const (
	CodeBadRequest  = "bad_request"    // 400: malformed pair or horizon
	CodeUnknownPair = "unknown_pair"   // 404: no model and no features for the pair
	CodeNoModel     = "no_model"       // 404: no champion for this pair and horizon
	CodeNoFeatures  = "no_features"    // 503: the pair has a model but no feature row yet
	CodeWarmingUp   = "warming_up"     // 503: the newest row is not warm (window not full)
	CodeStale       = "stale_features" // 503: the newest row is older than the budget
	CodeNotReady    = "not_ready"      // 503: no champion loaded yet
	CodeModel       = "model_error"    // 503: the model failed (it is logged)
	CodeBadFeatures = "bad_features"   // 503: the row has ±Inf, or NaN in a required feature: not served (counted)
	CodeNoProduct   = "no_product"     // 404: the pair × horizon has no champion of the product asked for
)

// Error is a refusal with a code the API maps to a status and a message
// meant for the caller.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an *Error.
func Errorf(code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err if it is (or wraps) an *Error, else "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
