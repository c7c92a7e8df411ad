// Package duckdb is the query side of the offline store: an in-process,
// in-memory DuckDB that reads the Parquet files package parquet writes.
// It holds no .duckdb file, so any number of processes may each open their
// own DB over the same root while one process writes it.
package duckdb
