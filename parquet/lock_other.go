//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package parquet

// lockDir is a no-op where flock is unavailable: there, only one process
// may write a store directory at all.
func lockDir(string) (func(), error) { return func() {}, nil }
