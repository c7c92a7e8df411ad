package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	duckdbdriver "github.com/duckdb/duckdb-go/v2"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
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

// repair finds the corrupt files behind qerr among the named views' files
// (every view when names is nil): it returns an error naming them, or,
// with SkipCorrupt, recreates the views without them and returns nil so
// that the caller runs its query again. qerr itself comes back when no
// file is to blame.
func (db *DB) repair(ctx context.Context, qerr error, names []string) error {
	if !fileError(qerr) {
		return qerr
	}
	for _, v := range db.views.defs {
		if names != nil && !slices.Contains(names, v.name) {
			continue
		}
		files := db.views.get(v.name)
		good, err := db.dropCorrupt(ctx, files, qerr)
		if errors.Is(err, qerr) {
			continue // none of this view's files
		}
		if err != nil {
			return err
		}
		if err := db.createView(ctx, v, good); err != nil {
			return err
		}
		return nil
	}
	return qerr
}

// blame names the corrupt files behind qerr, for a query that cannot run
// again (rows already went out): qerr joined with them.
func (db *DB) blame(ctx context.Context, qerr error) error {
	var all []string
	for _, v := range db.views.defs {
		all = append(all, db.views.get(v.name)...)
	}
	bad, _ := db.findCorrupt(ctx, all, qerr)
	return errors.Join(append(bad, qerr)...)
}

// dropCorrupt returns files without the corrupt ones behind qerr and any
// that vanished (a write moved them to the quarantine). Corrupt files are
// an error naming them unless SkipCorrupt, which logs and lists them; it
// returns qerr when no file is to blame.
func (db *DB) dropCorrupt(ctx context.Context, files []string, qerr error) ([]string, error) {
	if !fileError(qerr) {
		return nil, qerr
	}
	bad, gone := db.findCorrupt(ctx, files, qerr)
	switch {
	case ctx.Err() != nil:
		return nil, errors.Join(qerr, ctx.Err())
	case len(bad) == 0 && len(gone) == 0:
		return nil, qerr
	case len(bad) > 0 && !db.opts.SkipCorrupt:
		return nil, errors.Join(bad...)
	}
	for _, err := range bad {
		ce := err.(*parquet.CorruptError)
		gone = append(gone, ce.Path)
		db.skipped.add(ce.Path)
		db.opts.Logger.Warn("skipped a corrupt store file; its rows are missing from this query", "path", ce.Path, "err", ce.Err)
	}
	return slices.DeleteFunc(slices.Clone(files), func(f string) bool { return slices.Contains(gone, f) }), nil
}

// findCorrupt reads files one by one, those qerr names first (the others
// only when none of those is corrupt): each corrupt one is a
// *parquet.CorruptError; gone lists the files that no longer exist.
func (db *DB) findCorrupt(ctx context.Context, files []string, qerr error) (bad []error, gone []string) {
	named := slices.DeleteFunc(slices.Clone(files), func(f string) bool { return !strings.Contains(qerr.Error(), f) })
	for _, set := range [][]string{named, files} {
		for _, f := range set {
			if ctx.Err() != nil {
				return bad, gone
			}
			if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
				gone = append(gone, f)
			} else if err := db.readAll(ctx, f); err != nil && ctx.Err() == nil {
				bad = append(bad, &parquet.CorruptError{Path: f, Err: firstLine(err)})
			}
		}
		if len(bad) > 0 {
			return bad, gone
		}
	}
	return bad, gone
}

// readAll decodes every value of one file.
func (db *DB) readAll(ctx context.Context, file string) error {
	rows, err := db.sql.QueryContext(ctx, "SELECT * FROM read_parquet("+fileList([]string{file})+")")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// fileError reports whether err may come from a file: not a statement
// DuckDB could not parse or bind, nor a value it could not compute.
func fileError(err error) bool {
	var de *duckdbdriver.Error
	if !errors.As(err, &de) {
		return !errors.Is(err, sql.ErrConnDone)
	}
	switch de.Type {
	case duckdbdriver.ErrorTypeParser, duckdbdriver.ErrorTypeSyntax, duckdbdriver.ErrorTypeBinder,
		duckdbdriver.ErrorTypeCatalog, duckdbdriver.ErrorTypeParameterNotResolved,
		duckdbdriver.ErrorTypeParameterNotAllowed, duckdbdriver.ErrorTypeDivideByZero,
		duckdbdriver.ErrorTypeOutOfRange, duckdbdriver.ErrorTypeInterrupt, duckdbdriver.ErrorTypeConversion,
		duckdbdriver.ErrorTypeMismatchType, duckdbdriver.ErrorTypeInvalidType, duckdbdriver.ErrorTypeNotImplemented,
		duckdbdriver.ErrorTypePermission, duckdbdriver.ErrorTypeSettings:
		return false
	}
	return true
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
