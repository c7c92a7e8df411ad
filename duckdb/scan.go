package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// table describes how one dataset is selected and decoded.
type table[T any] struct {
	dataset  parquet.Dataset
	columns  []string // selected in this order, then scanned by scan
	optional []col    // columns older files may lack (NULL there in the view)
	timeCol  string
	orderBy  []string // total order: time, pair, then the rest of the key
	scan     func(*sql.Rows) (T, error)
}

// run streams the rows of one query over src to fn.
func run[T any](ctx context.Context, db *DB, t table[T], src, pair string, q Query, fn func(T) error) error {
	text, args := t.query(src, pair, q)
	rows, err := db.sql.QueryContext(ctx, text, args...)
	if err != nil {
		return fmt.Errorf("query %s %s: %w", t.dataset, pair, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := t.scan(rows)
		if err != nil {
			return fmt.Errorf("scan %s: %w", t.dataset, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s %s: %w", t.dataset, pair, err)
	}
	return nil
}

// collect is each into a slice.
func collect[T any](ctx context.Context, db *DB, t table[T], q Query) ([]T, error) {
	var out []T
	err := each(ctx, db, t, q, func(v T) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

func normalize(pair string) (string, error) {
	if pair == "" {
		return "", nil
	}
	return market.NormalizePair(pair)
}

// query builds the SELECT over src (a view). Only constant names reach the
// text; values are parameters. The date conditions on the hive column let
// DuckDB skip whole files.
func (t table[T]) query(src, pair string, q Query) (string, []any) {
	var where []string
	var args []any
	if pair != "" {
		where, args = append(where, `pair = ?`), append(args, pair)
	}
	if !q.From.IsZero() {
		where = append(where, `date >= ?::DATE`, quote(t.timeCol)+` >= ?`)
		args = append(args, day(q.From), q.From)
	}
	if !q.To.IsZero() {
		where = append(where, `date <= ?::DATE`, quote(t.timeCol)+` < ?`)
		args = append(args, day(q.To.Add(-time.Microsecond)), q.To)
	}
	text := "SELECT " + quoteAll(t.columns) + " FROM " + src
	if len(where) > 0 {
		text += " WHERE " + strings.Join(where, " AND ")
	}
	return text + " ORDER BY " + quoteAll(t.orderBy), args
}

func readParquet(files string) string {
	return fmt.Sprintf(`read_parquet(%s, hive_partitioning = true, union_by_name = true, `+
		`hive_types = {'%s': VARCHAR, '%s': DATE})`, files, parquet.PairKey, parquet.DateKey)
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func quote(name string) string { return `"` + name + `"` }

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// withColumns makes the optional columns exist even when no file of
// src has them (an older schema), reading as NULL: union_by_name only
// covers columns that some file of the list holds.
func withColumns(src string, optional []col) string {
	cols := make([]string, len(optional))
	for i, c := range optional {
		cols[i] = "NULL::" + c.typ + " AS " + quote(c.name)
	}
	return "(SELECT * FROM " + src + " UNION ALL BY NAME SELECT " + strings.Join(cols, ", ") + " WHERE false)"
}
