// Package memo keeps the last few values loaded by key, loading each once
// however many goroutines ask for it at the same time: what a Temporal
// worker needs when every activity of a workflow reads the same big file.
package memo

import (
	"slices"
	"sync"
)

// Cache keeps the Size most recently used values. Keep, when set, decides
// after a load whether the value stays cached (failed or oversized loads
// are handed to their waiters, then forgotten, so the next caller loads
// again); without it only failed loads are forgotten. The zero value with a
// Size is ready; it is safe for concurrent use.
type Cache[K comparable, V any] struct {
	Size int
	Keep func(V, error) bool

	mu      sync.Mutex
	entries []*entry[K, V] // most recently used last
}

type entry[K comparable, V any] struct {
	key   K
	ready chan struct{} // closed once loaded
	v     V
	err   error
}

// Get returns the value of key, calling load when no caller has (or is).
func (c *Cache[K, V]) Get(key K, load func() (V, error)) (V, error) {
	e, mine := c.entry(key)
	if mine {
		e.v, e.err = load()
		close(e.ready)
		if !c.keep(e) {
			c.forget(e)
		}
	}
	<-e.ready
	return e.v, e.err
}

func (c *Cache[K, V]) keep(e *entry[K, V]) bool {
	if c.Keep != nil {
		return c.Keep(e.v, e.err)
	}
	return e.err == nil
}

func (c *Cache[K, V]) entry(key K) (*entry[K, V], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.key == key {
			c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
			return e, false
		}
	}
	e := &entry[K, V]{key: key, ready: make(chan struct{})}
	c.entries = append(c.entries, e)
	if n := max(c.Size, 1); len(c.entries) > n {
		c.entries = slices.Delete(c.entries, 0, len(c.entries)-n)
	}
	return e, true
}

func (c *Cache[K, V]) forget(e *entry[K, V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.entries, e); i >= 0 {
		c.entries = slices.Delete(c.entries, i, i+1)
	}
}

// Len is how many values are cached.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
