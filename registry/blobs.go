package registry

import (
	"context"
	"errors"

	"github.com/tickcast/tickcast/market"
)

// ErrNotFound is wrapped by errors about missing versions, aliases and
// series; those errors are *market.Error of code not_found (notFound), so
// every edge maps them without knowing the registry.
var ErrNotFound = errors.New("not found")

// notFound is the registry's not-found error: a market.Error of code
// not_found whose message is the formatted text, wrapping ErrNotFound.
func notFound(format string, args ...any) error {
	return market.Errorf(market.CodeNotFound, format+": %w", append(args, ErrNotFound)...)
}

// Blobs is the storage seam of the registry: a flat namespace of
// slash-separated keys, as in object storage. FS is the local implementation;
// an S3-like one would map Put to PutObject (atomic by nature), List to
// ListObjectsV2 and Lock to a lease object created with a conditional put.
type Blobs interface {
	// Put stores data at key atomically: readers see the old value or the
	// new one, never part of it, and the value is durable when Put returns.
	Put(ctx context.Context, key string, data []byte) error
	// Get returns the value at key, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// List returns the keys under prefix (recursively), sorted. Internal
	// objects (temporary files, locks) are not listed.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Lock takes an exclusive lock named key, held across processes until
	// unlock is called; it waits until ctx is done.
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// sweeper is implemented by Blobs that can leave debris after a crash (FS:
// temporary files). Sweep is only called with the series lock held.
type sweeper interface {
	Sweep(ctx context.Context, prefix string) error
}
