package parquet

import (
	"bufio"
	"io"
	"path/filepath"

	"github.com/tickcast/tickcast/internal/atomicfile"
)

// atomicWrite replaces path with what write writes (through a 1 MiB
// buffer), by atomicfile under a temporary name that readers' globs never
// match. beforeRename, when set, is a test hook that can fail.
func atomicWrite(path string, write func(io.Writer) error, beforeRename func(tmp string) error) error {
	opts := atomicfile.Options{Temp: tmpPattern, BeforeRename: beforeRename}
	return atomicfile.WriteFunc(path, opts, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// removeStale deletes temporary files that a crashed write left in dir.
// Callers hold the partition lock, so no live write owns them.
func removeStale(dir string) ([]string, error) {
	return atomicfile.RemoveTemps(filepath.Join(dir, FileName), atomicfile.Options{Temp: tmpPattern})
}
