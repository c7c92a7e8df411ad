package duckdb

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tickcast/tickcast/parquet"
)

// A glob query fails as a whole when one of its files is corrupt. Checking
// every file before every query would double the cost of the healthy case,
// so the store is queried by glob as before, and only a failed query is
// diagnosed file by file.

// diagnose diagnoses a failed query (qerr) over parts: it queries each file
// alone and returns the readable ones when the query may go on without the
// others (SkipCorrupt, no row delivered yet), or when a file only vanished
// (a write moved it to the quarantine). Otherwise it returns an error naming
// every corrupt file, or qerr when no file is to blame.
func diagnose[T any](ctx context.Context, db *DB, t table[T], parts []parquet.Partition, pair string, q Query, qerr error, delivered bool) ([]parquet.Partition, error) {
	var bad []error
	vanished := false
	good := slices.DeleteFunc(slices.Clone(parts), func(p parquet.Partition) bool {
		if _, err := os.Stat(p.Path); errors.Is(err, fs.ErrNotExist) {
			vanished = true // moved to the quarantine since the listing
			return true
		}
		err := run(ctx, db, t, filesSource([]parquet.Partition{p}), pair, q, func(T) error { return nil })
		if err != nil && ctx.Err() == nil {
			bad = append(bad, &parquet.CorruptError{Path: p.Path, Err: firstLine(err)})
			return true
		}
		return false
	})
	switch {
	case ctx.Err() != nil:
		return nil, errors.Join(qerr, ctx.Err())
	case delivered:
		return nil, errors.Join(append(bad, qerr)...)
	case len(bad) == 0 && vanished:
		return good, nil
	case len(bad) == 0:
		return nil, qerr
	case !db.opts.SkipCorrupt:
		return nil, errors.Join(bad...)
	}
	for _, err := range bad {
		var ce *parquet.CorruptError
		if !errors.As(err, &ce) {
			return nil, err
		}
		db.skipped.add(ce.Path)
		db.opts.Logger.Warn("skipped a corrupt store file; its rows are missing from this query", "path", ce.Path, "err", ce.Err)
	}
	return good, nil
}

// firstLine keeps what is wrong: DuckDB's message goes on to quote the SQL.
func firstLine(err error) error {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(strings.TrimSpace(msg))
}

// Skipped returns the corrupt files that queries skipped, once each, in order.
func (db *DB) Skipped() []string { return db.skipped.list() }

// skipped remembers the corrupt files found, with their size and mtime, so
// that later queries leave them out at once (no failed query, no diagnosis)
// until the file changes, say when a write moved it to the quarantine.
type skipped struct {
	mu    sync.Mutex
	paths []string
	stamp map[string]stamp
}

type stamp struct {
	size  int64
	mtime time.Time
}

func stampOf(path string) (stamp, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, false
	}
	return stamp{fi.Size(), fi.ModTime()}, true
}

func (s *skipped) add(path string) {
	st, ok := stampOf(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.paths, path) {
		s.paths = append(s.paths, path)
	}
	if s.stamp == nil {
		s.stamp = make(map[string]stamp)
	}
	if ok {
		s.stamp[path] = st
	}
}

// known drops the parts that are known corrupt and unchanged since.
func (s *skipped) known(parts []parquet.Partition) []parquet.Partition {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.stamp) == 0 {
		return parts
	}
	return slices.DeleteFunc(slices.Clone(parts), func(p parquet.Partition) bool {
		old, bad := s.stamp[p.Path]
		now, ok := stampOf(p.Path)
		return bad && ok && now == old
	})
}

// knownPaths is known for bare paths.
func (s *skipped) knownPaths(paths []string) []string {
	parts := make([]parquet.Partition, len(paths))
	for i, p := range paths {
		parts[i].Path = p
	}
	out := make([]string, 0, len(paths))
	for _, p := range s.known(parts) {
		out = append(out, p.Path)
	}
	return out
}

func (s *skipped) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}
