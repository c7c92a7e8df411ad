package parquet

import (
	"context"
	"github.com/tickcast/tickcast/internal/atomicfile"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
)

// partition is the write buffer of one partition, whatever its row type.
type partition interface {
	len() int
	flush(ctx context.Context, dir string, env writeEnv) (rows int, err error)
}

// writeEnv is what a flush needs from its Store.
type writeEnv struct {
	log          *slog.Logger
	beforeRename func(tmp string) error
}

type buffer[T any, K comparable] struct {
	c    *codec[T, K]
	rows []T
}

func (b *buffer[T, K]) len() int { return len(b.rows) }

// flush merges the buffered rows into the partition file under the
// partition lock and replaces the file atomically; it returns the row
// count of the new file.
func (b *buffer[T, K]) flush(ctx context.Context, dir string, env writeEnv) (int, error) {
	if err := atomicfile.MkdirAll(dir); err != nil {
		return 0, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	stale, err := removeStale(dir)
	if err != nil {
		return 0, err
	}
	if len(stale) > 0 {
		env.log.Warn("removed temporary files of an interrupted write", "dir", dir, "files", len(stale))
	}
	path := filepath.Join(dir, FileName)
	old, err := readFile(ctx, b.c, path)
	if err != nil {
		return 0, err
	}
	rows := merge(b.c, old, b.rows)
	write := func(w io.Writer) error { return writeRows(w, b.c, rows) }
	return len(rows), atomicWrite(path, write, env.beforeRename)
}

// merge applies rows over old by key: a later row replaces an earlier one
// in place, so each key appears once; the result is sorted by time. Rows
// that only append (each following the last, as a replay writes them) are
// joined without a key map or a sort.
func merge[T any, K comparable](c *codec[T, K], old, rows []T) []T {
	if appends(c, old, rows) {
		if len(old) == 0 {
			return rows
		}
		return slices.Concat(old, rows)
	}
	out := make([]T, 0, len(old)+len(rows))
	at := make(map[K]int, len(old)+len(rows))
	for _, src := range [][]T{old, rows} {
		for i := range src {
			k := c.key(&src[i])
			if j, ok := at[k]; ok {
				out[j] = src[i]
				continue
			}
			at[k] = len(out)
			out = append(out, src[i])
		}
	}
	slices.SortFunc(out, c.compare)
	return out
}

// appends reports whether old then rows follow each other row by row.
func appends[T any, K comparable](c *codec[T, K], old, rows []T) bool {
	var prev *T
	for _, src := range [][]T{old, rows} {
		for i := range src {
			if prev != nil && !c.follows(prev, &src[i]) {
				return false
			}
			prev = &src[i]
		}
	}
	return true
}
