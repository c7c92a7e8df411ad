// Package archive reads historical market data files into the domain's
// records, for the backfill to import into the store: Binance klines and
// Kraken's OHLCVT candles (ReadCandles), Kraken trade CSVs (ReadTrades).
// Detect tells the formats apart by their first line, Open reads .gz files
// transparently and DefaultPair takes the pair from a file name.
//
// # Fields the candle files lack
//
// The candle formats have no VWAP, and Binance's 6-column klines also no
// trade count and no taker side. Candles are set as follows, and the Source
// of a file lists the same in its Notes:
//
//   - VWAP = (high + low + close) / 3, the typical price. A candle needs a
//     positive VWAP (the candle codec rejects anything else, NaN included),
//     and the typical price is exactly what the features use in place of a
//     missing VWAP, so the feature rows are the same as with no VWAP at all.
//   - Trades = 0 when the file has no count. Such a candle still has its
//     volume: an empty window is one with Volume 0, not Trades 0. Its
//     trade_count feature is missing (NaN), not log1p(0) = 0.
//   - BuyVolume = SellVolume = 0 without a taker side: with Volume > 0, the
//     imbalance features over it are missing (NaN), not 0 (see
//     market.FeatureMayBeMissing).
//   - FirstTradeID = LastTradeID = 0, Complete = true, Repaired = false.
//
// Bars a file lacks (Kraken omits minutes without trades) are not filled
// here: the history package fills them, with the aggregator's rule for
// empty windows.
package archive
