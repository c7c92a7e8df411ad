package parquet

import (
	"context"
	"errors"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"os"
	"path/filepath"
	"time"
)

// ErrCorrupt matches (errors.Is) every error about a store file that exists
// but cannot be decoded.
var ErrCorrupt = errors.New("corrupt store file")

// CorruptError names an unreadable store file and says what is wrong with it.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt store file %s: %v", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

// decodeSafely turns a decoder panic into an error: arrow-go's readers
// may panic on malformed bytes, and one bad file must not bring the
// process down.
func decodeSafely[T any](decode func() ([]T, error)) (rows []T, err error) {
	defer func() {
		if r := recover(); r != nil {
			rows, err = nil, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return decode()
}

// quarantineDir is where a write moves a corrupt day aside: <data>/quarantine
// beside a root of <data>/parquet, keeping the partition path below it.
func quarantineDir(root, custom string) string {
	if custom != "" {
		return custom
	}
	return filepath.Join(datadir.Quarantine(filepath.Dir(root)), filepath.Base(root))
}

// quarantine moves the corrupt file at path under qdir (mirroring its path
// below root) with the time of the move in its name, and returns where.
func quarantine(root, qdir, path string, now time.Time) (string, error) {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return "", fmt.Errorf("quarantine %s: %w", path, err)
	}
	dest := filepath.Join(qdir, filepath.Dir(rel),
		"data-"+now.UTC().Format("20060102T150405.000000000Z")+".parquet")
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", fmt.Errorf("quarantine %s: %w", path, err)
	}
	if err := os.Rename(path, dest); err != nil {
		return "", fmt.Errorf("quarantine %s: %w", path, err)
	}
	return dest, nil
}

// CheckFile decodes every row of the store file at path as dataset d and
// returns a *CorruptError when it cannot.
func CheckFile(ctx context.Context, d Dataset, path string) error {
	var err error
	switch d {
	case DatasetTrades:
		_, err = tradeCodec().Read(ctx, path)
	case DatasetCandles:
		_, err = candleCodec().Read(ctx, path)
	case DatasetFeatures:
		_, err = featureCodec().Read(ctx, path)
	default:
		err = d.Validate()
	}
	return err
}

// Check decodes every file of every dataset under root and returns the
// corrupt ones and how many files it read. A missing root has none.
func Check(ctx context.Context, root string) (bad []*CorruptError, files int, err error) {
	for _, d := range Datasets() {
		parts, err := Partitions(root, d, "", time.Time{}, time.Time{})
		if err != nil {
			return bad, files, err
		}
		for _, p := range parts {
			files++
			var ce *CorruptError
			switch err := CheckFile(ctx, d, p.Path); {
			case errors.As(err, &ce):
				bad = append(bad, ce)
			case err != nil:
				return bad, files, err
			}
		}
	}
	return bad, files, nil
}
