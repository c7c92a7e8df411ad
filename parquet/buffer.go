package parquet

import (
	"context"
	"errors"
	"github.com/tickcast/tickcast/internal/atomicfile"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"time"
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
	root, qdir   string // store root and quarantine directory
}

// buffer holds a partition's rows in chunks of encodeRows: a day of rows
// grows without being copied (nor held twice while it grows), and an
// appending day is written chunk by chunk as it is.
type buffer[T any, K comparable] struct {
	c      *codec[T, K]
	chunks [][]T
	n      int
}

func (b *buffer[T, K]) len() int { return b.n }

func (b *buffer[T, K]) add(row T) {
	last := len(b.chunks) - 1
	if last < 0 || len(b.chunks[last]) >= encodeRows {
		size := encodeRows
		if last < 0 {
			size = 0 // small partitions (a day of candles) stay small
		}
		b.chunks = append(b.chunks, make([]T, 0, size))
		last++
	}
	b.chunks[last] = append(b.chunks[last], row)
	b.n++
}

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
	old, err := readOld(ctx, b.c, path, env)
	if err != nil {
		return 0, err
	}
	chunks := merge(b.c, append([][]T{old}, b.chunks...))
	write := func(w io.Writer) error { return b.c.Write(w, chunks...) }
	n := 0
	for _, ch := range chunks {
		n += len(ch)
	}
	return n, atomicWrite(path, write, env.beforeRename)
}

// readOld reads the partition's current rows. A corrupt file is moved to
// the quarantine and the write goes on without its rows: refusing would
// block the day for good, and readers cannot see those rows anyway; the
// repair or a backfill can fetch them again.
func readOld[T any, K comparable](ctx context.Context, c *codec[T, K], path string, env writeEnv) ([]T, error) {
	old, err := c.Read(ctx, path)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		return old, err
	}
	dest, qerr := quarantine(env.root, env.qdir, path, time.Now())
	if qerr != nil {
		return nil, errors.Join(err, qerr)
	}
	env.log.Error("moved a corrupt store file to the quarantine; its rows are lost from the store until refetched (repair or backfill)",
		"path", path, "quarantined", dest, "err", ce.Err)
	return nil, nil
}

// merge applies the rows of the chunks, in order (the file's, then the
// buffered), by key: a later row replaces an earlier one in place, so each
// key appears once; the result is sorted by time. Rows that only append
// (each following the last, as a replay writes them) are kept as they are,
// without a key map, a sort or a copy.
func merge[T any, K comparable](c *codec[T, K], chunks [][]T) [][]T {
	if appends(c, chunks) {
		return chunks
	}
	n := 0
	for _, ch := range chunks {
		n += len(ch)
	}
	out := make([]T, 0, n)
	at := make(map[K]int, n)
	for _, src := range chunks {
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
	return [][]T{out}
}

// appends reports whether the chunks' rows follow each other row by row.
func appends[T any, K comparable](c *codec[T, K], chunks [][]T) bool {
	var prev *T
	for _, src := range chunks {
		for i := range src {
			if prev != nil && !c.follows(prev, &src[i]) {
				return false
			}
			prev = &src[i]
		}
	}
	return true
}
