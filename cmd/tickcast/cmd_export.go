package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tickcast/tickcast/duckdb"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

type exportFlags struct {
	dataDir, pair, from, to, format string
	skipCorrupt                     bool
}

// cmdExport prints a dataset of the store to stdout: a query of its view
// (duckdb.OpenDataDir, the views tickcast sql queries).
func cmdExport(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("export: which dataset? trades, candles or features: %w", errUsage)
	}
	dataset := args[0]
	fs := flag.NewFlagSet("export "+dataset, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f exportFlags
	fs.StringVar(&f.dataDir, "data-dir", "./data", "data directory")
	fs.StringVar(&f.pair, "pair", "", "pair (any spelling), required")
	fs.StringVar(&f.from, "from", "", "first time included (RFC3339)")
	fs.StringVar(&f.to, "to", "", "first time excluded (RFC3339)")
	fs.StringVar(&f.format, "format", "csv", "csv or jsonl")
	fs.BoolVar(&f.skipCorrupt, "skip-corrupt", false, "export the other days when a store file is corrupt (each logged, and counted at the end) instead of failing with its path")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	q, err := f.query()
	if err != nil {
		return err
	}
	if !slices.Contains([]string{duckdb.ViewTrades, duckdb.ViewCandles, duckdb.ViewFeatures}, dataset) {
		return fmt.Errorf("export: unknown dataset %q (trades, candles, features): %w", dataset, errUsage)
	}
	// The view of the dataset alone: another dataset's corrupt file cannot fail it.
	db, err := duckdb.OpenDataDir(ctx, f.dataDir, duckdb.Options{SkipCorrupt: f.skipCorrupt, Logger: e.logger}, dataset)
	if err == nil {
		defer db.Close()
		w := bufio.NewWriter(e.stdout)
		if err = export(ctx, db, dataset, q, f.format, w); err == nil {
			err = w.Flush()
		}
	}
	if errors.Is(err, parquet.ErrCorrupt) {
		return fmt.Errorf("export %s %s: %w (tickcast store check lists every corrupt file; --skip-corrupt exports the other days)", dataset, q.Pair, err)
	}
	if err != nil {
		return err
	}
	if skipped := db.Skipped(); len(skipped) > 0 {
		e.logger.Warn("export skipped corrupt store files: their rows are missing", "count", len(skipped), "files", skipped)
	}
	return nil
}

func (f exportFlags) query() (duckdb.Query, error) {
	var q duckdb.Query
	if f.pair == "" {
		return q, fmt.Errorf("export: --pair is required: %w", errUsage)
	}
	p, err := market.NormalizePair(f.pair)
	if err != nil {
		return q, err
	}
	q.Pair = p
	if q.From, err = parseTime("from", f.from); err != nil {
		return q, err
	}
	q.To, err = parseTime("to", f.to)
	if f.format != "csv" && f.format != "jsonl" {
		return q, fmt.Errorf("export: --format %q: want csv or jsonl: %w", f.format, errUsage)
	}
	return q, err
}

func parseTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q: want RFC3339: %w", name, s, err)
	}
	return t, nil
}

// recordWriter writes one dataset's records as CSV (with a header) or JSON lines.
type recordWriter struct {
	csv    *csv.Writer
	w      io.Writer
	rec    []string
	buf    []byte
	header []string
	wrote  bool
}

func newRecordWriter(w io.Writer, format string, header []string) *recordWriter {
	rw := &recordWriter{w: w, header: header}
	if format == "csv" {
		rw.csv = csv.NewWriter(w)
	}
	return rw
}

func writeRecord[R wire.Record](rw *recordWriter, r R) error {
	if rw.csv == nil {
		rw.buf = append(wire.AppendJSON(rw.buf[:0], r), '\n')
		_, err := rw.w.Write(rw.buf)
		return err
	}
	if !rw.wrote {
		rw.wrote = true
		if err := rw.csv.Write(rw.header); err != nil {
			return err
		}
	}
	rw.rec = wire.AppendCSV(rw.rec[:0], r)
	return rw.csv.Write(rw.rec)
}

// close writes the CSV header even when no row matched, so tools see the columns.
func (rw *recordWriter) close() error {
	if rw.csv == nil {
		return nil
	}
	if !rw.wrote {
		if err := rw.csv.Write(rw.header); err != nil {
			return err
		}
	}
	rw.csv.Flush()
	return rw.csv.Error()
}

func export(ctx context.Context, db *duckdb.DB, dataset string, q duckdb.Query, format string, w io.Writer) error {
	var err error
	switch dataset {
	case "trades":
		rw := newRecordWriter(w, format, wire.TradeCSVHeader)
		err = db.EachTrade(ctx, q, func(t market.Trade) error { return writeRecord(rw, t) })
		return firstErr(err, rw.close())
	case "candles":
		rw := newRecordWriter(w, format, wire.CandleCSVHeader)
		err = db.EachCandle(ctx, q, func(c market.Candle) error { return writeRecord(rw, c) })
		return firstErr(err, rw.close())
	case "features":
		rw := newRecordWriter(w, format, wire.FeatureCSVHeader())
		err = db.EachFeature(ctx, q, func(r market.FeatureRow) error { return writeRecord(rw, r) })
		return firstErr(err, rw.close())
	}
	return fmt.Errorf("export: unknown dataset %q (trades, candles, features): %w", dataset, errUsage)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
