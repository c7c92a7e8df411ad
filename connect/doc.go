// Package connect holds tickcast's Benthos (Redpanda Connect core) plugins —
// the kraken_trades and trade_replay inputs, the candles and features
// processors and the tickcast_store output — and the environment that
// registers them, so that pipelines are plain YAML users can edit and test.
//
// Messages between stages carry a record as JSON (market's wire encoding) and
// two metadata keys: tickcast_kind (trade, tick, candle, feature, gap,
// late_trade) and tickcast_pair. Ticks carry the stream's clock in tickcast_ts
// so that windows close on time even when no trade arrives; replays drive that
// clock from event time, so a replay at any speed gives the same candles.
package connect
