//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package connect

import "sync"

var fenceMu sync.Mutex

// lockFence serialises fenced writes within the process where flock is
// unavailable: there, one process writes a data directory.
func lockFence(string) (func(), error) {
	fenceMu.Lock()
	return fenceMu.Unlock, nil
}
