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
	f, err := os.CreateTemp(dir, opts.temp(path))
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

// temp is the pattern of path's temporary files.
func (o Options) temp(path string) string {
	if o.Temp != "" {
		return o.Temp
	}
	return filepath.Base(path) + ".tmp-*"
}

// RemoveTemps deletes the temporary files that writes of path (with opts)
// left when their process died before the rename (SIGKILL, power loss), and
// returns their paths. A live write's temporary file looks the same: call it
// holding the lock that serialises the writers of path.
func RemoveTemps(path string, opts Options) ([]string, error) {
	stale, err := filepath.Glob(filepath.Join(filepath.Dir(path), opts.temp(path)))
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
