package stream

import (
	"testing"

	"github.com/tickcast/tickcast/predict"
)

// A prediction's products (vol, quantiles as prices, p_up), each with its
// model, reach subscribers as the REST route serves them.
func TestProductsOnTheStream(t *testing.T) {
	s := newServer(t, Config{})
	ws := s.dial(t, "?pairs=ETH-USDT")
	wantSubscribed(t, readFrame(t, ws), false, "ETH-USDT")
	want := pred("ETH-USDT", 1)
	want.Vol = &predict.Forecast{Value: 0.0016, Model: predict.ModelRef{Name: "xgboost", Version: 2}}
	want.Quantiles = &predict.Quantiles{P10: 2198.4, P50: 2203.2, P90: 2208.1, Model: predict.ModelRef{Name: "xgboost-vol-z", Version: 2}}
	want.PUp = &predict.Forecast{Value: 0.52, Model: predict.ModelRef{Name: "climatology", Version: 1}}
	s.hub.Publish(want)
	f := readFrame(t, ws)
	wantPrediction(t, f, "ETH-USDT", 1)
	got := f.Prediction
	if got.Vol == nil || *got.Vol != *want.Vol || got.Quantiles == nil || *got.Quantiles != *want.Quantiles || got.PUp == nil || *got.PUp != *want.PUp {
		t.Fatalf("products did not round-trip: vol %+v, quantiles %+v, p_up %+v", got.Vol, got.Quantiles, got.PUp)
	}
}
