package duckdb

import (
	"context"
	"errors"
	"fmt"

	duckdbdriver "github.com/duckdb/duckdb-go/v2"
	"github.com/tickcast/tickcast/market"
)

// ErrReadOnly is returned for a statement that is not a query: the views
// read the store and nothing may write it (or anything else) through them.
var ErrReadOnly = fmt.Errorf("only SELECT, DESCRIBE, SHOW, SUMMARIZE, PRAGMA and EXPLAIN statements run here: %w", market.ErrInvalid)

// Query runs one read-only statement over the views of OpenDataDir and
// streams its rows to fn with the column names; a result of no rows calls
// fn once with a nil row, for its columns. A failure DuckDB blames
// on no file (bad SQL, an unknown column) is returned as DuckDB words it.
// When it fails on a corrupt store file, the file is named (a
// *parquet.CorruptError); with SkipCorrupt the views leave it out and the
// statement runs again, unless fn already had rows.
func (db *DB) Query(ctx context.Context, text string, fn func(cols []string, row []any) error) error {
	for {
		delivered := false
		var fnErr error
		err := db.readOnly(ctx, text)
		if errors.Is(err, ErrReadOnly) {
			return err
		}
		if err == nil {
			err = db.query(ctx, text, func(cols []string, row []any) error {
				delivered, fnErr = true, fn(cols, row)
				return fnErr
			})
		}
		if err == nil || fnErr != nil || ctx.Err() != nil {
			return err
		}
		if delivered {
			return db.blame(ctx, err)
		}
		if err := db.repair(ctx, err, nil); err != nil {
			return err
		}
	}
}

func (db *DB) query(ctx context.Context, text string, fn func([]string, []any) error) error {
	rows, err := db.sql.QueryContext(ctx, text)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for ; rows.Next(); n++ {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			vals[i] = plain(v)
		}
		if err := fn(cols, vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil || n > 0 {
		return err
	}
	return fn(cols, nil)
}

// readOnly refuses every statement but queries, by DuckDB's own parse,
// and more than one statement (PrepareContext would run all but the last).
func (db *DB) readOnly(ctx context.Context, text string) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(c any) error {
		st, err := c.(*duckdbdriver.Conn).Prepare(text)
		var de *duckdbdriver.Error
		if err != nil && !errors.As(err, &de) {
			return fmt.Errorf("%w (one statement at a time)", err)
		}
		if err != nil {
			return err
		}
		defer st.Close()
		typ, err := st.(*duckdbdriver.Stmt).StatementType()
		if err != nil {
			return err
		}
		if typ != duckdbdriver.STATEMENT_TYPE_SELECT && typ != duckdbdriver.STATEMENT_TYPE_EXPLAIN {
			return ErrReadOnly
		}
		return nil
	})
}

// plain turns the driver's types into plain Go values: a MAP into a
// map[string]any, a DECIMAL into a float64, an INTERVAL, a UUID or a BLOB
// into a string; lists and structs hold plain values too.
func plain(v any) any {
	switch v := v.(type) {
	case duckdbdriver.OrderedMap:
		return plainMap(v.Keys(), v.Values())
	case duckdbdriver.Map:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(plain(k))] = plain(x)
		}
		return m
	case duckdbdriver.Decimal:
		return v.Float64()
	case duckdbdriver.Interval:
		return fmt.Sprintf("%d months %d days %dus", v.Months, v.Days, v.Micros)
	case duckdbdriver.UUID:
		return v.String()
	case []byte:
		return string(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = plain(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = plain(x)
		}
		return out
	}
	return v
}

func plainMap(keys, vals []any) map[string]any {
	m := make(map[string]any, len(keys))
	for i, k := range keys {
		m[fmt.Sprint(plain(k))] = plain(vals[i])
	}
	return m
}
