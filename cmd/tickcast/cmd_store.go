package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/retention"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// cmdStore checks and compacts the files of a data directory.
func cmdStore(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("store: check, compact or rebuild-features? %w", errUsage)
	}
	switch args[0] {
	case "check":
		return storeCheck(ctx, e, args[1:])
	case "compact":
		return storeCompact(e, args[1:])
	case "rebuild-features":
		return storeRebuildFeatures(ctx, e, args[1:])
	}
	return fmt.Errorf("store: unknown action %q (check, compact, rebuild-features): %w", args[0], errUsage)
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

// storeRebuildFeatures recomputes the feature rows of a store from its
// candles: what an upgrade of the feature schema needs before training,
// since training refuses rows of another schema. Each pair's rows, then
// their cross-pair features over all the pairs rebuilt, as a backfill of
// those pairs writes them.
func storeRebuildFeatures(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("store rebuild-features", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dataDir := fs.String("data-dir", "./data", "data directory")
	pairs := fs.String("pairs", "", "pairs to rebuild, comma-separated; the cross-pair features (xp_*) average over these pairs only\n"+
		"(default: every pair with candles, which should be the live pipeline's pairs)")
	interval := fs.Duration("interval", time.Minute, "candle interval of the store")
	chunkDays := fs.Int("chunk-days", 7, "days per build chunk")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	st, err := parquet.Open(datadir.Parquet(*dataDir), parquet.Options{Logger: e.logger})
	if err != nil {
		return fmt.Errorf("store rebuild-features: %w", err)
	}
	list, err := market.SplitPairs(*pairs)
	if *pairs == "" {
		list, err = parquet.Pairs(st.Root(), parquet.DatasetCandles)
	}
	if err == nil {
		err = rebuildPairs(ctx, e, st, *dataDir, list, *interval, time.Duration(*chunkDays)*24*time.Hour)
	}
	if cerr := st.Close(context.WithoutCancel(ctx)); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store rebuild-features: %w", err)
	}
	return nil
}

func rebuildPairs(ctx context.Context, e env, st *parquet.Store, dataDir string, pairs []string, iv, chunk time.Duration) error {
	if len(pairs) == 0 {
		return fmt.Errorf("no pairs with candles in %s: %w", st.Root(), market.ErrInvalid)
	}
	start := time.Now()
	res, err := history.RebuildFeatures(ctx, st, dataDir, pairs, iv, chunk, nil)
	for _, s := range res.Pairs {
		fmt.Fprintf(e.stdout, "%s: %d feature rows of schema %d from %s to %s\n", s.Pair, s.Features, market.FeatureSchemaVersion,
			s.From.Format(time.DateOnly), s.To.Format(time.DateOnly))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "cross-pair features over %d pairs: %d rows, %d with another pair's row, in %s\n",
		len(res.Pairs), res.Cross.Features, res.Cross.Crossed, time.Since(start).Round(time.Millisecond))
	return nil
}
