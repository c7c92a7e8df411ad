package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	duckdbdriver "github.com/duckdb/duckdb-go/v2"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// DB queries the views of a data directory's Parquet store (OpenDataDir).
// It is safe for concurrent use.
type DB struct {
	root    string // the store root, datadir.Parquet
	sql     *sql.DB
	opts    Options
	skipped skipped
	views   *viewSet
}

// Options tune a DB; the zero value is strict.
type Options struct {
	// SkipCorrupt answers a query from the other files when a file it
	// reads is corrupt; the file is logged (warn) and listed in Skipped.
	// Without it the query fails with a *parquet.CorruptError naming it.
	SkipCorrupt bool
	Logger      *slog.Logger // default: discard
}

// Query selects rows of one pair in [From, To). Pair may be any spelling
// market.NormalizePair accepts, or "" for every pair; zero times are
// unbounded.
type Query struct {
	Pair     string
	From, To time.Time
}

// open starts an in-memory DuckDB over the store root, without views
// (OpenDataDir adds them). The root need not exist yet.
func open(ctx context.Context, root string, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
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
	return &DB{root: abs, sql: db, opts: opts}, nil
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
