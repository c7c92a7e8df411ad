package training

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/internal/datadir"
)

// fixtureDir copies the hand-made malformed run folders (testdata/runs, fixtures)
// into a new data directory.
func fixtureDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/runs")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Partial and corrupt folders are skipped with a reason; a bad products
// section loads the rest with a note.
func TestRunsMalformed(t *testing.T) {
	dir := fixtureDir(t)
	list, err := ListRuns(t.Context(), dir, nil, RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Runs) != 1 || list.Runs[0].Key != "20260104T000000Z-badproducts" || len(list.Runs[0].Products) != 1 {
		t.Fatalf("runs %+v", list.Runs)
	}
	reasons := map[string]string{}
	for _, s := range list.Skipped {
		reasons[s.Dir] = s.Reason
	}
	for d, want := range map[string]string{
		"ETH-USDT/h1/20260101T000000Z-partial":      "no metrics.json",
		"ETH-USDT/h1/20260102T000000Z-corrupt":      "metrics.json: unexpected end",
		"ETH-USDT/h5/20260103T000000Z-wronghorizon": "not this folder's",
		"ETH-USDT/hx/notarun":                       "not a run folder",
		"eth-usdt/h1/20260108T000000Z-lowercase":    "not a run folder",
	} {
		if !strings.Contains(reasons[d], want) {
			t.Errorf("%s: reason %q, want %q in it", d, reasons[d], want)
		}
	}
	run, err := LoadRun(t.Context(), dir, nil, "ETH-USDT.h1.20260104T000000Z-badproducts")
	if err != nil || run.Details != nil || !strings.Contains(strings.Join(run.Notes, " "), "products section") ||
		!slices.Equal(run.Plots, []string{"residuals.svg"}) {
		t.Errorf("run %+v (%v)", run, err)
	}
	if _, err := LoadRun(t.Context(), dir, nil, "ETH-USDT.h1.20260102T000000Z-corrupt"); err == nil {
		t.Error("a corrupt run loaded")
	}
	if list, err := ListRuns(t.Context(), t.TempDir(), nil, RunFilter{}); err != nil || len(list.Runs) != 0 {
		t.Errorf("no reports: %+v (%v)", list, err)
	}
}

// RunFile gives only regular files directly inside a run's folder: no
// "..", no separators, no symlink out of the reports.
func TestRunFileTraversal(t *testing.T) {
	dir := fixtureDir(t)
	id := "ETH-USDT.h1.20260104T000000Z-badproducts"
	if p, err := RunFile(dir, id, "residuals.svg"); err != nil || filepath.Base(p) != "residuals.svg" {
		t.Fatalf("plot: %q (%v)", p, err)
	}
	secret := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(datadir.Reports(dir), "ETH-USDT", "h1", "20260104T000000Z-badproducts")
	if err := os.Symlink(secret, filepath.Join(run, "link.svg")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, name string }{
		{id, "../../../../secret.txt"}, {id, ".."}, {id, "../20260102T000000Z-corrupt/metrics.json"}, {id, "link.svg"},
		{id, "missing.svg"}, {id, ""}, {id, `..\secret.txt`}, {id, ".hidden"},
		{"ETH-USDT.h1...", "secret.txt"}, {"ETH-USDT.h1.x/../..", "secret.txt"}, {"..", "secret.txt"},
		{"ETH-USDT.h1", "metrics.json"}, {"ETH-USDT.hx.k", "metrics.json"},
	} {
		if p, err := RunFile(dir, c.id, c.name); err == nil {
			t.Errorf("RunFile(%q, %q) = %q, want an error", c.id, c.name, p)
		}
	}
}

func TestParseRunID(t *testing.T) {
	for id, want := range map[string]RunRef{
		"BTC-USDT.h5.20260101T000000Z-ab":  {"BTC-USDT", 5, "20260101T000000Z-ab"},
		"btc/usdt.h1.k":                    {}, // "btc" then "usdt.h1.k": no horizon
		"BTC-USDT/h60/20260101T000000Z-ab": {"BTC-USDT", 60, "20260101T000000Z-ab"},
		"BTCUSDT.h1.k.v2":                  {"BTC-USDT", 1, "k.v2"},
		"BTC-USDT.h0.k":                    {},
	} {
		got, err := ParseRunID(id)
		if (err == nil) != (want != RunRef{}) || got != want {
			t.Errorf("ParseRunID(%q) = %+v, %v; want %+v", id, got, err, want)
		}
	}
}
