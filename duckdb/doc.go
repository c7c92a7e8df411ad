// Package duckdb is the query side of the offline store: an in-process,
// in-memory DuckDB that reads the Parquet files package parquet writes.
// It holds no .duckdb file, so any number of processes may each open their
// own DB over the same root while one process writes it.
//
// Open queries the store by dataset, listing the files of each query's
// range. OpenDataDir adds the views a user queries (tickcast sql) and
// export reads: trades, candles, features, predictions and the table
// models, the registry's versions; Query runs read-only SQL over them.
package duckdb
