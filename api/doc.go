// Package api is tickcast's HTTP API (Echo v4): predictions for the trading
// bot, their history and scores, candles, the model registry (read, and
// promote/rollback behind an admin key), a WebSocket stream of predictions,
// health, readiness, Prometheus metrics and the OpenAPI document.
//
// The whole surface is listed in routes.go; handlers are methods of Server
// returning echo.HandlerFunc; every error leaves as JSON
// {"error": code, "message": text} through one HTTPErrorHandler (errors.go).
package api
