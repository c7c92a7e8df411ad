// Package duckdb is the query side of the offline store: an in-process,
// in-memory DuckDB that reads the Parquet files package parquet writes.
// It holds no .duckdb file, so any number of processes may each open their
// own DB over the same root while one process writes it.
//
// OpenDataDir creates the views a user queries (tickcast sql) and export
// reads: trades, candles, features, predictions and the table models, the
// registry's versions. Query runs read-only SQL over them; Trades, Candles
// and Features read them as market records. A corrupt store file is named
// (a *parquet.CorruptError) or, with SkipCorrupt, left out of the views.
package duckdb
