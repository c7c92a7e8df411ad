package registry

import (
	"context"
	"errors"
	"fmt"
	"github.com/tickcast/tickcast/internal/atomicfile"
	"github.com/tickcast/tickcast/internal/backoff"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// FS is Blobs on a local directory: key k is the file <Root>/k.
type FS struct{ Root string }

// tmpMark is in the name of every temporary file; names starting with a dot
// (temporary files, locks) are hidden from List.
const tmpMark = ".tmp-"

func (b FS) path(key string) string { return filepath.Join(b.Root, filepath.FromSlash(key)) }

// Put replaces key atomically (internal/atomicfile): a crash leaves the old
// value or the new one. The temporary file is hidden from List.
func (b FS) Put(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path := b.path(key)
	if err := atomicfile.MkdirAll(filepath.Dir(path)); err != nil {
		return err
	}
	opts := atomicfile.Options{Temp: "." + filepath.Base(path) + tmpMark + "*"}
	err := atomicfile.WriteFunc(path, opts, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Get reads key.
func (b FS) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(b.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound("%s", key)
	}
	return data, err
}

// List walks the directory of prefix; a missing directory lists nothing.
func (b FS) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	err := filepath.WalkDir(b.path(prefix), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(b.Root, p)
		keys = append(keys, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// Delete removes key and then its directory if that is left empty, so that
// a cleaned-up version leaves no trace.
func (b FS) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path := b.path(key)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	os.Remove(filepath.Dir(path)) // fails, harmlessly, unless empty
	return nil
}

// Sweep deletes the temporary files that crashed writes left under prefix,
// and version directories left empty. Callers hold the lock of prefix, so no
// live write owns them. It keeps out of the directories under prefix that
// are not versions (v<NNNNNN>): those are other series (the products nested
// in a return series' directory), under locks of their own.
func (b FS) Sweep(ctx context.Context, prefix string) error {
	var stale, empty []string
	root := b.path(prefix)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return err
		case d.IsDir() && filepath.Dir(p) == root && !isVersionDir(d.Name()):
			return filepath.SkipDir
		case d.IsDir() && p != root:
			if ents, err := os.ReadDir(p); err == nil && len(ents) == 0 {
				empty = append(empty, p)
			}
		case strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), tmpMark):
			stale = append(stale, p)
		}
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("sweep %s: %w", prefix, err)
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale %s: %w", p, err)
		}
		os.Remove(filepath.Dir(p))
	}
	for _, p := range empty {
		os.Remove(p)
	}
	return nil
}

// Lock takes an flock on the file key, polling so that ctx can cancel the
// wait (a blocking flock cannot be interrupted).
func (b FS) Lock(ctx context.Context, key string) (func(), error) {
	path := b.path(key)
	if err := atomicfile.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	poll := backoff.Backoff{Min: time.Millisecond, Max: 10 * time.Millisecond}
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			return func() { release(f) }, nil
		}
		if err := poll.Wait(ctx); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
}
