package training

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
)

// realRuns trains two short runs on the real week the way a Train run
// does (two tuning trials, the final fit, the products, registration, the
// report) into a new data directory, and returns it with the runs' IDs.
func realRuns(t *testing.T) (string, []string) {
	t.Helper()
	dir, info, ds, sp := weekDataset(t)
	candles, err := ReadCandles(dir, ds)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, key := range []string{"20260105T100000Z-aaaa1111", "20260106T100000Z-bbbb2222"} {
		params := sampleParams()
		params.MaxDepth += i // the second run differs in a parameter
		var trials []ml.TrialResult
		for id := range 2 {
			tr, err := RunTrial(t.Context(), ds, TrialRequest{Folds: sp.Folds, Trial: id, Params: params, MaxRows: 2000, Rounds: 20, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			trials = append(trials, tr)
		}
		fit, err := FitFinal(t.Context(), ds, FitRequest{DataDir: dir, Pair: ds.Pair, Horizon: ds.Horizon, Final: sp.Final,
			Params: params, Rounds: 30, Threads: 1, RunKey: key})
		if err != nil {
			t.Fatal(err)
		}
		res, err := TrainProducts(t.Context(), ds, sp, candles, ProductsRequest{ReportDir: fit.ReportDir, ReturnModel: fit.ModelPath,
			Params: params, Rounds: 30, Threads: 1, Seed: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := Evaluate(t.Context(), ds, sp, EvaluateRequest{ModelPath: fit.ModelPath, Params: params})
		if err != nil {
			t.Fatal(err)
		}
		v, err := Register(t.Context(), reg, RegisterRequest{Pair: ds.Pair, Horizon: ds.Horizon, ModelPath: fit.ModelPath,
			ReportDir: fit.ReportDir, Params: params.XGB(), Metrics: ev.Metrics, Dataset: info})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := RegisterProducts(t.Context(), reg, RegisterProductsRequest{Pair: ds.Pair, Horizon: ds.Horizon,
			ReportDir: fit.ReportDir, Dataset: info, Products: res.Products}); err != nil {
			t.Fatal(err)
		}
		if _, err := Evaluate(t.Context(), ds, sp, EvaluateRequest{ModelPath: fit.ModelPath, ReportDir: fit.ReportDir,
			Params: params, Trials: trials, Version: v.Version}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, RunRef{Pair: "ETH-USDT", Horizon: 1, Key: key}.ID())
	}
	return dir, ids
}

// Two real runs on the real week: listed newest first with their
// registered versions and every product's gate, loaded with the tuning
// history and plots, compared side by side.
func TestRunsRealWeek(t *testing.T) {
	dir, ids := realRuns(t)
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, err := ListRuns(t.Context(), dir, reg, RunFilter{Pair: "eth-usdt", Horizon: 1})
	if err != nil || len(list.Runs) != 2 || len(list.Skipped) != 0 {
		t.Fatalf("list %+v (%v)", list, err)
	}
	newest := list.Runs[0]
	if newest.ID != ids[1] || newest.Trials != 2 || len(newest.Products) != 4 || len(newest.Versions) != 7 {
		t.Errorf("newest run %+v", newest)
	}
	for _, p := range newest.Products[1:] {
		if p.Pass == nil || p.Reason == "" || p.Baseline == "" {
			t.Errorf("product headline %+v", p)
		}
	}
	if p := newest.Products[0]; p.Product != "return" || p.Serve == "" || p.Baseline != ml.BaselineZero {
		t.Errorf("return headline %+v", p)
	}
	run, err := LoadRun(t.Context(), dir, reg, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(run.History) != 2 || run.Details == nil || len(run.Plots) < 4 || run.Params["max_depth"] == "" ||
		!slices.Contains(run.Files, ml.FilePredictions) || len(run.Details.Vol.Skills) == 0 {
		t.Errorf("run %+v", run)
	}
	if _, err := json.Marshal(run); err != nil {
		t.Errorf("the run does not encode: %v", err)
	}
	other, err := LoadRun(t.Context(), dir, reg, strings.ReplaceAll(ids[1], ".", "/"))
	if err != nil {
		t.Fatal(err)
	}
	c := CompareRuns(run, other)
	if !slices.ContainsFunc(c.Params, func(p ParamPair) bool { return p.Name == "max_depth" && p.Differs }) ||
		len(c.Skills) < 7 || c.Skills[0].Product != "return" || c.Skills[0].A == nil || c.Skills[0].B == nil {
		t.Errorf("comparison %+v", c)
	}
	if !slices.ContainsFunc(c.Differences, func(s string) bool { return strings.HasPrefix(s, "param max_depth") }) {
		t.Errorf("differences %q", c.Differences)
	}
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("the comparison does not encode: %v", err)
	}
}

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
