package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"time"

	"github.com/tickcast/tickcast/internal/retention"
	"github.com/tickcast/tickcast/parquet"
)

// cmdStore checks and compacts the files of a data directory.
func cmdStore(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("store: check or compact? %w", errUsage)
	}
	switch args[0] {
	case "check":
		return storeCheck(ctx, e, args[1:])
	case "compact":
		return storeCompact(e, args[1:])
	}
	return fmt.Errorf("store: unknown action %q (check, compact): %w", args[0], errUsage)
}

// storeCheck decodes every Parquet file of every dataset and lists the
// unreadable ones; any makes it fail, so scripts and probes can act.
func storeCheck(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("store check", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dataDir := fs.String("data-dir", "./data", "data directory")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	start := time.Now()
	bad, files, err := parquet.Check(ctx, datadir.Parquet(*dataDir))
	for _, ce := range bad {
		fmt.Fprintf(e.stdout, "corrupt %s: %v\n", ce.Path, ce.Err)
	}
	if err != nil {
		return fmt.Errorf("store check: %w", err)
	}
	fmt.Fprintf(e.stdout, "checked %d Parquet files in %s: %d corrupt\n", files, time.Since(start).Round(time.Millisecond), len(bad))
	if len(bad) > 0 {
		return fmt.Errorf("store check: %d corrupt files (export --skip-corrupt reads around them; the next write of a day moves its file to the quarantine)", len(bad))
	}
	return nil
}

// storeCompact applies the retention of the late, dead-letter and gap files.
func storeCompact(e env, args []string) error {
	fs := flag.NewFlagSet("store compact", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dataDir := fs.String("data-dir", "./data", "data directory")
	keepDays := fs.Int("keep-days", int(retention.DefaultKeep/(24*time.Hour)), "delete rotated and per-day files not modified for this many days (at least 1)")
	maxMB := fs.Int64("max-mb", retention.DefaultMaxBytes>>20, "rotate a file larger than this many MiB")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *keepDays < 1 || *maxMB < 1 {
		return fmt.Errorf("store compact: --keep-days and --max-mb must be at least 1: %w", errUsage)
	}
	opts := retention.Options{Keep: time.Duration(*keepDays) * 24 * time.Hour, MaxBytes: *maxMB << 20, Logger: e.logger}
	r, err := retention.Compact(*dataDir, opts, time.Now())
	for _, f := range r.Rotated {
		fmt.Fprintln(e.stdout, "rotated", f)
	}
	for _, f := range r.Deleted {
		fmt.Fprintln(e.stdout, "deleted", f)
	}
	if err != nil {
		return fmt.Errorf("store compact: %w", err)
	}
	fmt.Fprintf(e.stdout, "rotated %d, deleted %d (%d bytes), kept %d files\n", len(r.Rotated), len(r.Deleted), r.Freed, r.Kept)
	return nil
}
