// Package retention bounds the append-only JSONL files the pipelines write
// under the data directory (late trades, dead letters, gaps).
//
// A Benthos file output keeps its file open and appends to it while the
// path it interpolates stays the same, so a file it may still write is
// never truncated nor deleted under its name: it is rotated by renaming
// (the writer goes on appending to the renamed file, nothing is lost, until
// it reopens its path: another path interpolated, or a restart). Files are
// deleted only when nothing can write them any more: rotated files and
// per-day files (<YYYY-MM-DD>.jsonl) once they have not been modified for
// Keep.
package retention

import (
	"errors"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultKeep     = 30 * 24 * time.Hour
	DefaultMaxBytes = 64 << 20
)

// Options tune Compact; the zero value takes the defaults.
type Options struct {
	Keep     time.Duration // a closed file not modified for Keep is deleted; at least a day
	MaxBytes int64         // a file larger than this is rotated
	Logger   *slog.Logger  // a line per rotated or deleted file; default discard
}

func (o Options) withDefaults() Options {
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	// Under a day, today's per-day file could look closed and be deleted
	// while its writer still appends to it.
	o.Keep = max(o.Keep, 24*time.Hour)
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Report says what Compact did, paths relative to the data directory.
type Report struct {
	Rotated, Deleted []string
	Freed            int64 // bytes of the deleted files
	Kept             int   // files left under their name
}

// rotatedName matches the names Compact renames files to.
var rotatedName = regexp.MustCompile(`\.\d{8}T\d{6}Z\.jsonl$`)

// dayName matches per-day files, which nothing writes after their day.
var dayName = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}\.jsonl$`)

// Compact applies the retention to the directories the pipelines append to
// (datadir.Appended) of dataDir at now. A missing
// directory has nothing to compact.
func Compact(dataDir string, opts Options, now time.Time) (Report, error) {
	opts = opts.withDefaults()
	var r Report
	for _, d := range datadir.Appended() {
		if err := compactDir(dataDir, d, opts, now, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

func compactDir(dataDir, dir string, opts Options, now time.Time, r *Report) error {
	entries, err := os.ReadDir(filepath.Join(dataDir, dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("compact %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		if err := compactFile(dataDir, filepath.Join(dir, e.Name()), opts, now, r); err != nil {
			return err
		}
	}
	return nil
}

// compactFile deletes a closed file idle for Keep, and rotates a file its
// writer may still hold when it is too large or idle for Keep (so that the
// next run can delete it).
func compactFile(dataDir, rel string, opts Options, now time.Time, r *Report) error {
	path := filepath.Join(dataDir, rel)
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("compact %s: %w", rel, err)
	}
	idle := now.Sub(fi.ModTime()) >= opts.Keep
	closed := rotatedName.MatchString(rel) || dayName.MatchString(filepath.Base(rel))
	switch {
	case closed && idle:
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("compact %s: %w", rel, err)
		}
		r.Deleted, r.Freed = append(r.Deleted, rel), r.Freed+fi.Size()
		opts.Logger.Info("deleted a file past its retention", "file", rel, "bytes", fi.Size(), "modified", fi.ModTime())
	case !rotatedName.MatchString(rel) && (idle || fi.Size() > opts.MaxBytes):
		to, err := rotate(dataDir, rel, now)
		if err != nil {
			return err
		}
		r.Rotated = append(r.Rotated, rel)
		opts.Logger.Info("rotated a file", "file", rel, "to", to, "bytes", fi.Size(), "modified", fi.ModTime())
	default:
		r.Kept++
	}
	return nil
}

// rotate renames rel to <name>.<UTC time>.jsonl, never over another file.
func rotate(dataDir, rel string, now time.Time) (string, error) {
	to := strings.TrimSuffix(rel, ".jsonl") + "." + now.UTC().Format("20060102T150405Z") + ".jsonl"
	if _, err := os.Lstat(filepath.Join(dataDir, to)); err == nil {
		return "", fmt.Errorf("rotate %s: %s exists", rel, to)
	}
	if err := os.Rename(filepath.Join(dataDir, rel), filepath.Join(dataDir, to)); err != nil {
		return "", fmt.Errorf("rotate %s: %w", rel, err)
	}
	return to, nil
}
