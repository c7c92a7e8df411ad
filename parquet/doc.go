// Package parquet is tickcast's offline store: trades, candles and feature
// rows as Parquet files written with arrow-go and read back by DuckDB.
//
// # Layout
//
//	<root>/<dataset>/pair_slug=<PairSlug>/date=<YYYY-MM-DD>/data.parquet
//
// dataset is trades, candles or features. The directories are hive
// partitions, so read_parquet(..., hive_partitioning=true) sees pair_slug
// ("BTC-USD") and date (the UTC day of ts for trades and features, of start
// for candles). The hive key is pair_slug, not pair, because every file also
// holds a real pair column with the WebSocket v2 name ("BTC/USD") and the two
// would clash under hive partitioning. Columns carry the record field names
// of docs/architecture.md; timestamps are TIMESTAMP(MICROS, UTC-adjusted);
// files are zstd-compressed with row groups of at most 128Ki rows.
//
// # Writes
//
// A Store buffers rows per partition and writes a partition when it holds
// Options.FlushRows rows, when a newer day starts for its pair, when all
// buffers together exceed Options.MaxBufferedRows, and on Flush and Close.
// Writing a partition merges the rows of its current file with the buffered
// ones by key — trades (pair, trade_id), or (pair, ts, price, qty, side) when
// trade_id is 0; candles (pair, start); features (pair, ts) — where the row
// added last replaces older ones, so a corrected candle re-emitted later wins
// and replaying the same input is idempotent. Output rows are sorted by time
// (then by the rest of the key), so equal input gives byte-identical files.
//
// Every write goes to data.parquet.tmp-<random> in the partition directory,
// is fsynced and renamed over data.parquet: readers see the old file or the
// new one, never half a file. A write that fails leaves the old file intact
// and the rows buffered for the next Flush.
//
// # Corrupt files
//
// A file that cannot be decoded is a *CorruptError (errors.Is ErrCorrupt)
// naming it: ReadTrades and friends fail with it, a Reader with SkipCorrupt
// logs it and reads the other files, and a write of its partition moves it
// to the quarantine (Options.QuarantineDir) and writes the day from the new
// rows alone. Check decodes every file of a root.
//
// # Concurrency
//
// A Store is safe for concurrent use. Run one writer process per store
// directory; where several processes must share a root (scaled mode), give
// them different datasets or pairs. The read-merge-rename of a partition
// holds an advisory lock (flock on a .lock file in the partition directory,
// on Unix) so that two writers of one partition serialise instead of losing
// rows, but "the newest row wins" then means "the last flush wins".
package parquet
