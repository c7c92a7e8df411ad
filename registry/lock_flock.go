//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package registry

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes a non-blocking exclusive flock. flock locks belong to the
// open file description, so two opens of the lock file exclude each other
// within one process as well as across processes.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// release closes the descriptor, which releases the flock.
func release(f *os.File) { f.Close() }
