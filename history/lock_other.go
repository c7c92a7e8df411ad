//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package history

import "sync"

// lockMu stands in for flock where it is unavailable: it serialises the
// importers of one process, and only one process may import there.
var lockMu sync.Mutex

func lockFile(string) (func(), error) {
	lockMu.Lock()
	return lockMu.Unlock, nil
}
