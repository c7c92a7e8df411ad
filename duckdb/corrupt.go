package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"

	duckdbdriver "github.com/duckdb/duckdb-go/v2"
	"github.com/tickcast/tickcast/parquet"
)

// A query over a view fails as a whole when one of its files is corrupt.
// Checking every file before every query would double the cost of the
// healthy case, so only a failed query is diagnosed, file by file.

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
		var ce *parquet.CorruptError
		if !errors.As(err, &ce) {
			return nil, err
		}
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

// firstLine keeps what is wrong: DuckDB's message goes on to quote the SQL.
func firstLine(err error) error {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(strings.TrimSpace(msg))
}

// Skipped returns the corrupt files that queries skipped, once each, in order.
func (db *DB) Skipped() []string { return db.skipped.list() }

// skipped lists the corrupt files that the views left out.
type skipped struct {
	mu    sync.Mutex
	paths []string
}

func (s *skipped) add(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.paths, path) {
		s.paths = append(s.paths, path)
	}
}

func (s *skipped) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}
