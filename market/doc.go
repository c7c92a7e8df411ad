// Package market holds tickcast's domain: trades, candles, feature rows, the
// event-time candle aggregator and the feature calculator. It imports only the
// standard library so that the live pipeline and the backfill share one code path.
package market
