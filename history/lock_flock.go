//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package history

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on path, serialising the
// read-merge-rename of a source record across processes.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing the descriptor releases the flock
}
