// Package online is tickcast's online feature store: the newest feature row
// of each pair, in memory for the prediction API, with optional JSON
// persistence so that a restart serves features before the next candle.
package online
