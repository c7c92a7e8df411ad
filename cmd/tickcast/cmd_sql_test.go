package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/parquet"
)

// files lists every file under dir, to show that sql writes none.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	mustOK(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	}))
	return out
}

func TestSQLOverTheRealStore(t *testing.T) {
	dataDir, n := realETHStore(t)
	before := files(t, dataDir)
	q := `SELECT count(*) AS n, min(start) AS first, max(close) > 0 AS ok FROM candles WHERE pair = 'ETH/USDT'`
	out, _, err := runCapture(t, "sql", "--data-dir", dataDir, q)
	mustOK(t, err)
	want := "n       first                 ok\n" +
		"------  --------------------  ----\n" +
		"130708  2025-05-20T00:00:00Z  true\n(1 row)\n"
	if n != 130_708 || out != want {
		t.Fatalf("table:\n%s\nwant\n%s", out, want)
	}
	out, _, err = runCapture(t, "sql", "--data-dir", dataDir, "--format", "csv", q)
	mustOK(t, err)
	if out != "n,first,ok\n130708,2025-05-20T00:00:00Z,true\n" {
		t.Fatalf("csv:\n%s", out)
	}
	out, _, err = runCapture(t, "sql", "--format", "json", "--data-dir", dataDir,
		`SELECT start, close FROM candles ORDER BY start LIMIT 2`)
	mustOK(t, err)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], `{"start":"2025-05-20T00:00:00Z","close":`) {
		t.Fatalf("json:\n%s", out)
	}
	if after := files(t, dataDir); !slices.Equal(before, after) {
		t.Fatalf("sql changed the data directory: %v, was %v", after, before)
	}
}

func TestSQLStatementsFromStdin(t *testing.T) {
	dataDir := t.TempDir() // a store with no dataset at all
	sqlStdin = strings.NewReader("-- the missing datasets are empty views\nSELECT count(*) AS trades FROM trades;\n" +
		"SELECT 'a;b' AS s, count(*) AS models FROM models; ;\nDESCRIBE predictions;\n")
	t.Cleanup(func() { sqlStdin = os.Stdin })
	out, _, err := runCapture(t, "sql", "--data-dir", dataDir, "--format", "csv")
	mustOK(t, err)
	if !strings.HasPrefix(out, "trades\n0\n\ns,models\na;b,0\n\ncolumn_name,column_type,") || !strings.Contains(out, "\nas_of,TIMESTAMP WITH TIME ZONE,") {
		t.Fatalf("out:\n%s", out)
	}
	if got := files(t, dataDir); len(got) != 0 {
		t.Fatalf("sql wrote %v", got)
	}
}

func TestSQLErrors(t *testing.T) {
	dataDir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"SELEC 1"}, "syntax error"},
		{[]string{"SELECT nope FROM candles"}, "nope"},
		{[]string{"SELECT * FROM bananas"}, "bananas"},
		{[]string{"COPY (SELECT 1) TO '" + filepath.Join(dataDir, "x.csv") + "'"}, "only SELECT"},
		{[]string{"CREATE TABLE t AS SELECT 1"}, "only SELECT"},
		{[]string{"--format", "xml", "SELECT 1"}, "--format"},
		{[]string{" ; "}, "no statement"},
		{[]string{"SELECT 1", "--format", "csv"}, "one quoted argument"},
	} {
		_, _, err := runCapture(t, append([]string{"sql", "--data-dir", dataDir}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, parquet.ErrCorrupt) {
			t.Errorf("%q: %v, want an error with %q", tt.args, err, tt.want)
		}
	}
	if got := files(t, dataDir); len(got) != 0 {
		t.Fatalf("sql wrote %v", got)
	}
}

func TestSQLCorruptDay(t *testing.T) {
	dataDir, n := realETHStore(t)
	day := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	bad := filepath.Join(parquet.PartitionDir(datadir.Parquet(dataDir), parquet.DatasetCandles, "ETH/USDT", day), parquet.FileName)
	b, err := os.ReadFile(bad)
	mustOK(t, err)
	mustOK(t, os.WriteFile(bad, b[:len(b)/3], 0o644))
	q := "SELECT count(*) FROM candles"
	_, _, err = runCapture(t, "sql", "--data-dir", dataDir, q)
	if !errors.Is(err, parquet.ErrCorrupt) || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "--skip-corrupt") {
		t.Fatalf("without --skip-corrupt: %v, want an error naming %s", err, bad)
	}
	out, logs, err := runCapture(t, "sql", "--data-dir", dataDir, "--skip-corrupt", "--format", "csv", q)
	mustOK(t, err)
	if out != "count_star()\n"+strconv.Itoa(n-1440)+"\n" || !strings.Contains(logs, bad) || !strings.Contains(logs, "count=1") {
		t.Fatalf("with --skip-corrupt: %s\nlogs:\n%s", out, logs)
	}
}
