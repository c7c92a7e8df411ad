//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package registry

import (
	"os"
	"sync"
)

// held stands in for flock where it is unavailable: it serialises the
// writers of one process, and only one process may write there.
var held sync.Map // lock path → struct{}

func tryLock(f *os.File) (bool, error) {
	_, busy := held.LoadOrStore(f.Name(), struct{}{})
	return !busy, nil
}

func release(f *os.File) {
	held.Delete(f.Name())
	f.Close()
}
