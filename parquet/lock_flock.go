//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package parquet

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName is the advisory lock file of a partition directory; it does not
// end in .parquet, so readers' globs skip it.
const lockName = ".lock"

// lockDir takes an exclusive flock on dir's lock file, serialising the
// read-merge-rename of one partition across processes.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock in %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil // closing the descriptor releases the flock
}
