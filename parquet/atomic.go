package parquet

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/tickcast/tickcast/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// atomicWrite writes path through a temporary file in the same directory,
// fsynced and renamed over path, so that readers and crashes never see
// half a file. beforeRename, when set, is a test hook that can fail.
func atomicWrite(path string, write func(io.Writer) error, beforeRename func(tmp string) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tmpPattern)
	if err != nil {
		return fmt.Errorf("create temp in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := writeAndSync(f, write); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if beforeRename != nil {
		if err := beforeRename(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return atomicfile.SyncDir(dir)
}

func writeAndSync(f *os.File, write func(io.Writer) error) error {
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	// CreateTemp makes 0600 files; store files are meant for other readers.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// removeStale deletes temporary files that a crashed write left in dir.
// Callers hold the partition lock, so no live write owns them.
func removeStale(dir string) ([]string, error) {
	stale, err := filepath.Glob(filepath.Join(dir, tmpPattern))
	if err != nil {
		return nil, err
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove stale %s: %w", p, err)
		}
	}
	return stale, nil
}
