// Package history holds the backfill's steps as plain Go over the Parquet
// store; the Temporal activities call them, one pair × chunk at a time.
//
// A backfill splits a pair's range into Chunks. Each chunk is imported
// (ImportTrades, or ImportCandles for candle archives), in any order and
// concurrently; RecordSources notes the files it came from. Then BuildChunk
// runs per chunk, in time order per pair, and writes the chunk's candles and
// feature rows with the same market code as the live pipeline. All writes
// merge by key in the store (latest wins), so every step can be rerun.
// Last, once every pair's chunks of a range are built, CrossFeatures runs
// over the days of the range and all the pairs together and sets the
// cross-pair features of their rows.
//
// # What a chunk builds
//
// A chunk [From, To) owns the windows starting in it (bounds rounded up to
// the interval). Its candles are those one Aggregator would emit over all
// the pair's stored trades (grace 0, then Flush), and its feature rows those
// one Features would compute over all those candles: a backfill in chunks
// equals a backfill in one go, which equals the live pipeline on the same
// trades. To get there without reading everything, BuildChunk looks one step
// beyond the chunk on each side:
//
//   - Continuation: the chunk continues the pair's stream when the store
//     holds a candle ending at From (the previous chunk's last window). Then
//     the windows from From up to the chunk's first trade are emitted as
//     empty candles (OHLC = the previous close) and the features start from
//     the stored candles before From. Otherwise the chunk starts a new
//     stream, at its first trade, with cold features, as the aggregator does
//     for a pair's first trade. The last stored trade before From is fed to
//     the aggregator first, so that a trade_id gap across the boundary marks
//     the candles it overlaps incomplete, as in one run.
//   - Data after the chunk: when the store holds a trade at or after To, the
//     windows up to To are emitted (empty ones included) and that trade is
//     fed to the aggregator, for gaps again; when it holds none, the chunk
//     ends at the window of its last trade, as Flush does at the end of a
//     replay.
//
// Hence the order: import every chunk of a pair, then build its chunks in
// time order. A chunk built before the one preceding it starts a new stream;
// building it again, in order, corrects it.
//
// Candle sources (kind "candles", e.g. Binance or Kraken OHLCVT archives)
// follow the same rules with stored candles in place of trades: the bars a
// file lacks are filled as empty candles (OHLC and VWAP = previous close,
// volume 0, Complete), from the previous bar, and up to To when a later bar
// is stored.
//
// # Cross-pair features
//
// BuildChunk writes a pair's base rows: the xp_* features missing. Their
// value at TS is market.CrossFill of the other pairs' base rows at TS, the
// function the live pipeline applies through market.Cross, so CrossFeatures
// needs every pair's candles of its days first: the backfill runs it after
// the last build, per range of days, over all its pairs. The pairs set is
// the backfill's pairs, which must be the pairs the live pipeline is
// configured with (the same set in every backfill of a store, and in
// RebuildFeatures, which takes the store's pairs): a pair left out is
// missing from the others' means, and a backfill of only some pairs crosses
// them with each other alone. CrossFeatures recomputes the base
// rows from the stored candles (the code BuildChunk runs) instead of reading
// the stored rows, whose Revision already counts the other pairs: it is
// idempotent, a retry never counts a pair twice, and any split of the days
// gives the same rows. A single pair's rows stay BuildChunk's.
package history
