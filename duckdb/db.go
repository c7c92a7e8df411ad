package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	duckdbdriver "github.com/duckdb/duckdb-go/v2"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// DB queries a Parquet store root. It is safe for concurrent use.
type DB struct {
	root string
	sql  *sql.DB
}

// Query selects rows of one pair in [From, To). Pair may be any spelling
// market.NormalizePair accepts, or "" for every pair; zero times are
// unbounded.
type Query struct {
	Pair     string
	From, To time.Time
}

// Open starts an in-memory DuckDB over root. The root need not exist yet:
// queries of a missing store return nothing.
func Open(ctx context.Context, root string) (*DB, error) {
	abs, err := checkRoot(root)
	if err != nil {
		return nil, err
	}
	conn, err := duckdbdriver.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb over %s: %w", abs, err)
	}
	db := sql.OpenDB(conn)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb over %s: %w", abs, err)
	}
	return &DB{root: abs, sql: db}, nil
}

// Close releases the database.
func (db *DB) Close() error { return db.sql.Close() }

// checkRoot rejects roots that would break the quoted SQL string literal or
// act as glob patterns: the root is the only text spliced into SQL.
func checkRoot(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("store root %q: %w", root, err)
	}
	if strings.ContainsAny(abs, "'*?[]{}") {
		return "", fmt.Errorf("store root %q: quote or glob characters: %w", abs, market.ErrInvalid)
	}
	return abs, nil
}

// Pairs lists the pairs (v2 names) stored in dataset d.
func (db *DB) Pairs(ctx context.Context, d parquet.Dataset) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return parquet.Pairs(db.root, d)
}
