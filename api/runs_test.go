package api

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/training"
	"github.com/tickcast/tickcast/training/trainingtest"
)

// realRuns trains two real runs (trainingtest.Runs) in a directory of their
// own and copies their report folders into data directory dir (its registry
// keeps its own versions); it returns the runs' IDs.
func realRuns(tb testing.TB, dir string) []string {
	tb.Helper()
	src := tb.TempDir()
	ids := trainingtest.Runs(tb, src)
	if err := os.CopyFS(datadir.Reports(dir), os.DirFS(datadir.Reports(src))); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// The runs routes on two real runs: the list, one run with its plots, the
// comparison, and no file from outside a run's folder.
func TestRuns(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ids := realRuns(t, f.dir)
	secret := filepath.Join(f.dir, "secret.json")
	if err := os.WriteFile(secret, []byte(`{"secret":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var list training.RunList
	f.get("/v1/runs?pair=eth-usdt", http.StatusOK, &list)
	if len(list.Runs) != 2 || list.Runs[0].ID != ids[1] || len(list.Runs[0].Products) != 4 {
		t.Fatalf("list %+v", list)
	}
	var run struct {
		Plots   []string          `json:"plots"`
		Params  map[string]string `json:"params"`
		History []json.RawMessage `json:"tuning_history"`
	}
	f.get("/v1/runs/"+ids[0], http.StatusOK, &run)
	if len(run.Plots) < 4 || len(run.History) != 2 || run.Params["max_depth"] == "" {
		t.Fatalf("run %+v", run)
	}
	for _, p := range run.Plots {
		rec := f.do("GET", "/v1/runs/"+ids[0]+"/files/"+p)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" || !strings.Contains(rec.Body.String(), "<svg") {
			t.Errorf("plot %s: %d %s", p, rec.Code, rec.Header())
		}
	}
	var c training.RunComparison
	f.get("/v1/runs/"+ids[0]+"/compare/"+ids[1], http.StatusOK, &c)
	if c.A.ID != ids[0] || c.B.ID != ids[1] || len(c.Skills) < 7 || len(c.Differences) == 0 {
		t.Errorf("comparison %+v", c)
	}
	for _, target := range []string{
		"/v1/runs/" + ids[0] + "/files/..%2F..%2F..%2F..%2Fsecret.json",
		"/v1/runs/" + ids[0] + "/files/..",
		"/v1/runs/" + ids[0] + "/files/%2E%2E",
		"/v1/runs/" + ids[0] + "/files/..%5Csecret.json",
		"/v1/runs/" + ids[0] + "/files/model.ubj",
		"/v1/runs/..%2F..%2F..%2F..%2Fsecret.json/files/secret.json",
		"/v1/runs/ETH-USDT.h1.%2E%2E/files/secret.json",
		"/v1/runs/ETH-USDT.h1..%2F..%2F../files/secret.json",
		"/v1/runs/" + ids[0] + "/files/../../../../secret.json",
	} {
		rec := f.do("GET", target)
		if rec.Code == http.StatusOK || strings.Contains(rec.Body.String(), `"secret":1`) {
			t.Errorf("GET %s: %d %.200s", target, rec.Code, rec.Body)
		}
	}
	f.get("/v1/runs/ETH-USDT.h1.nope", http.StatusNotFound, nil)
	f.get("/v1/runs/nope", http.StatusBadRequest, nil)
}
