// Package atomicfile replaces files whole, so that readers and crashes
// never see half a file: write a temporary file beside the target, fsync it,
// rename it over the target, fsync the directory.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data (mode 0644). The directory must exist.
func Write(path string, data []byte) error {
	return WriteFunc(path, Options{}, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Options adapt WriteFunc to a directory's readers.
type Options struct {
	// Temp names the temporary file: a pattern for os.CreateTemp in the
	// target's directory, which the directory's readers must not mistake
	// for a finished file. Default "<base>.tmp-*".
	Temp string
	// BeforeRename, when set, runs between writing the temporary file and
	// renaming it; an error abandons the write (a test hook).
	BeforeRename func(tmp string) error
}

// WriteFunc replaces path (mode 0644) with what write writes, unbuffered.
// The directory must exist. On failure the old file is left as it was and
// the temporary file is removed.
func WriteFunc(path string, opts Options, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if opts.Temp == "" {
		opts.Temp = filepath.Base(path) + ".tmp-*"
	}
	f, err := os.CreateTemp(dir, opts.Temp)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err := writeAndSync(f, write); err != nil {
		return err
	}
	if opts.BeforeRename != nil {
		if err := opts.BeforeRename(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

func writeAndSync(f *os.File, write func(io.Writer) error) error {
	if err := write(f); err != nil {
		return err
	}
	// CreateTemp makes 0600 files; ours are meant for other readers too.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// SyncDir fsyncs a directory so that a rename in it survives a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// MkdirAll creates dir and its missing parents (0755), fsyncing each parent
// so that the chain of directory entries to a renamed file survives a crash.
func MkdirAll(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	if err := SyncDir(parent); err != nil {
		return fmt.Errorf("sync dir %s: %w", parent, err)
	}
	return nil
}
