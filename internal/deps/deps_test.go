package deps

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestModule checks the rules over the direct imports of every package of
// the module (test files excluded: tests may import anything).
func TestModule(t *testing.T) {
	imports := moduleImports(t)
	if len(imports) < 10 || imports[Ours("market")] == nil {
		t.Fatalf("go list found %d packages, market missing?", len(imports))
	}
	violations, stale := Check(imports, Rules(), Exceptions())
	for _, v := range violations {
		t.Error(v)
	}
	for _, s := range stale {
		t.Errorf("exception no longer needed, remove it: %s", s)
	}
}

// TestWorkflowsCarryNoPipeline: the worker's workflow code pulls in neither
// Benthos nor Redis, not even through the packages it imports.
func TestWorkflowsCarryNoPipeline(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", Ours("workflows")).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "go.temporal.io/sdk/workflow") {
		t.Fatalf("go list -deps workflows: %d packages, go.temporal.io/sdk/workflow missing?", len(deps))
	}
	for _, d := range deps {
		if under("github.com/redpanda-data")(d) || under("github.com/redis")(d) {
			t.Errorf("workflows depends on %s", d)
		}
	}
}

func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", Module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := make(map[string][]string)
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		imports[p.ImportPath] = p.Imports
	}
	return imports
}

// Each rule bites: a hand-made map with one violation of each fails the check.
func TestEachRuleBites(t *testing.T) {
	for _, tc := range []struct {
		pkg, imp, rule string
	}{
		{Ours("market"), "github.com/gorilla/websocket", "market imports the standard library only"},
		{Ours("market"), Ours("ml"), "market imports the standard library only"},
		{Ours("activities"), Ours("connect"), "activities imports neither connect, Benthos nor Redis"},
		{Ours("activities"), "github.com/redpanda-data/benthos/v4/public/service", "activities imports neither connect, Benthos nor Redis"},
		{Ours("activities"), "github.com/redis/go-redis/v9", "activities imports neither connect, Benthos nor Redis"},
		{Ours("activities"), Ours("redis"), "activities imports neither connect, Benthos nor Redis"},
		{Ours("api"), Ours("fakekraken"), "production packages never import the fake exchange"},
		{Ours("kraken"), Ours("fakekraken"), "kraken does not import fakekraken"},
		{Ours("workflows"), "go.temporal.io/sdk/client", "workflows imports no Temporal client or worker and no adapter of ours"},
		{Ours("workflows"), Ours("parquet"), "workflows imports no Temporal client or worker and no adapter of ours"},
		{Ours("workflows"), Ours("temporalclient"), "workflows imports no Temporal client or worker and no adapter of ours"},
	} {
		imports := map[string][]string{tc.pkg: {"fmt", tc.imp}}
		violations, _ := Check(imports, Rules(), nil)
		want := tc.pkg + " imports " + tc.imp + ": " + tc.rule
		if !slices.Contains(violations, want) {
			t.Errorf("%s → %s: got %q, want %q among them", tc.pkg, tc.imp, violations, want)
		}
	}
}

// What the rules allow passes, and exceptions excuse exactly their pair.
func TestAllowedAndExceptions(t *testing.T) {
	ok := map[string][]string{
		Ours("market"):       {"fmt", "time", "math"},
		Ours("activities"):   {Ours("parquet"), Ours("internal/datadir"), "go.temporal.io/sdk/activity"},
		Ours("cmd/tickcast"): {Ours("fakekraken"), Ours("connect")},
		Ours("fakekraken"):   {Ours("market")},
		Ours("workflows"):    {Ours("activities"), "go.temporal.io/sdk/workflow"},
	}
	if v, _ := Check(ok, Rules(), nil); len(v) > 0 {
		t.Errorf("allowed imports flagged: %q", v)
	}
	ex := []Exception{{Pkg: Ours("workflows"), Imp: "go.temporal.io/sdk/client"}, {Pkg: Ours("kraken"), Imp: "x.org/y"}}
	bad := map[string][]string{Ours("workflows"): {"go.temporal.io/sdk/client", "go.temporal.io/sdk/worker"}}
	v, stale := Check(bad, Rules(), ex)
	if len(v) != 1 || len(stale) != 1 || stale[0] != Ours("kraken")+" imports x.org/y" {
		t.Errorf("violations %q stale %q: want only the worker import, and the kraken exception stale", v, stale)
	}
}
