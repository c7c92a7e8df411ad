//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package connect

import (
	"os"
	"syscall"
)

// lockFence takes an exclusive flock on path (created when missing); the
// store's writers in every process serialise on it.
func lockFence(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing the descriptor releases the flock
}
