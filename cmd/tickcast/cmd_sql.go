package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tickcast/tickcast/duckdb"
	"github.com/tickcast/tickcast/parquet"
)

// sqlStdin is where sql reads its statements without a QUERY argument.
var sqlStdin io.Reader = os.Stdin

// cmdSQL runs read-only SQL over the store's views (trades, candles,
// features, predictions, models) in an in-memory DuckDB.
func cmdSQL(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: tickcast sql [--data-dir D] [--skip-corrupt] [--format table|csv|json] [QUERY]\n\n"+
			"Runs QUERY, or the ;-separated statements read from stdin, over the views "+strings.Join(duckdb.Views(), ", ")+
			"\n(read-only: SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN). json prints one object per row.")
		fs.PrintDefaults()
	}
	dataDir := fs.String("data-dir", "./data", "data directory")
	format := fs.String("format", "table", "table, csv or json (one object per line)")
	skip := fs.Bool("skip-corrupt", false, "leave out corrupt store files (each logged) instead of failing with their path")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	w, ok := newResultWriter(*format)
	if !ok {
		return fmt.Errorf("sql: --format %q: want table, csv or json: %w", *format, errUsage)
	}
	stmts, err := sqlStatements(fs.Args())
	if err != nil {
		return err
	}
	db, err := duckdb.OpenDataDir(ctx, *dataDir, duckdb.Options{SkipCorrupt: *skip, Logger: e.logger})
	if err != nil {
		return sqlError(err)
	}
	defer db.Close()
	out := bufio.NewWriter(e.stdout)
	for i, s := range stmts {
		if err := runStatement(ctx, db, s, w, out, i > 0); err != nil {
			out.Flush()
			if len(stmts) > 1 {
				err = fmt.Errorf("statement %d: %w", i+1, err)
			}
			return sqlError(err)
		}
	}
	if skipped := db.Skipped(); len(skipped) > 0 {
		e.logger.Warn("sql skipped corrupt store files: their rows are missing", "count", len(skipped), "files", skipped)
	}
	return out.Flush()
}

func sqlError(err error) error {
	if errors.Is(err, parquet.ErrCorrupt) {
		return fmt.Errorf("sql: %w (tickcast store check lists every corrupt file; --skip-corrupt reads the others)", err)
	}
	return fmt.Errorf("sql: %w", err)
}

// sqlStatements is the QUERY argument, or the statements read from stdin.
func sqlStatements(args []string) ([]string, error) {
	if len(args) > 1 {
		return nil, fmt.Errorf("sql: %d arguments after the flags: give QUERY as one quoted argument, after the flags: %w", len(args), errUsage)
	}
	text := strings.Join(args, " ")
	if len(args) == 0 {
		b, err := io.ReadAll(sqlStdin)
		if err != nil {
			return nil, fmt.Errorf("sql: read stdin: %w", err)
		}
		text = string(b)
	}
	stmts := splitStatements(text)
	if len(stmts) == 0 {
		return nil, fmt.Errorf("sql: no statement (give QUERY or write statements to stdin): %w", errUsage)
	}
	return stmts, nil
}

// splitStatements splits text at the semicolons outside quotes and
// comments, dropping empty statements.
func splitStatements(text string) []string {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(text)
			}
		case c == ';':
			out = appendStatement(out, text[start:i])
			start = i + 1
		}
	}
	if start < len(text) {
		out = appendStatement(out, text[start:])
	}
	return out
}

func appendStatement(out []string, s string) []string {
	if s = strings.TrimSpace(s); s != "" && !onlyComments(s) {
		out = append(out, s)
	}
	return out
}

func onlyComments(s string) bool {
	for line := range strings.Lines(s) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}

func runStatement(ctx context.Context, db *duckdb.DB, stmt string, w resultWriter, out io.Writer, more bool) error {
	if more {
		if err := w.separate(out); err != nil {
			return err
		}
	}
	started := false
	err := db.Query(ctx, stmt, func(cols []string, row []any) error {
		if !started {
			started = true
			if err := w.header(out, cols); err != nil {
				return err
			}
		}
		if row == nil {
			return nil
		}
		return w.row(out, row)
	})
	if err != nil {
		return err
	}
	return w.end(out)
}
