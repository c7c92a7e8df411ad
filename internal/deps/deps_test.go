package deps

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"testing"
)

// TestModule checks the rules over the direct imports of every package of
// the module, and the deep rules over everything each pulls in (go list
// -deps), test files excluded: tests may import anything.
func TestModule(t *testing.T) {
	imports, deps := moduleImports(t)
	if len(imports) < 10 || imports[Ours("market")] == nil {
		t.Fatalf("go list found %d packages, market missing?", len(imports))
	}
	for pkg, sentinel := range map[string]string{"workflows": "go.temporal.io/sdk/workflow", "training": Ours("ml"), "cmd/tickcast-connect": Ours("connect")} {
		if !slices.Contains(deps[Ours(pkg)], sentinel) {
			t.Fatalf("go list -deps %s: %d packages, %s missing?", pkg, len(deps[Ours(pkg)]), sentinel)
		}
	}
	violations, stale := Check(imports, Rules(), Exceptions())
	deep, _ := Check(deps, DeepRules(), nil)
	for _, v := range append(violations, deep...) {
		t.Error(v)
	}
	for _, s := range stale {
		t.Errorf("exception no longer needed, remove it: %s", s)
	}
}

// moduleImports returns each package's direct imports and its deps (every
// package it pulls in).
func moduleImports(t *testing.T) (imports, deps map[string][]string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", Module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports, deps = make(map[string][]string), make(map[string][]string)
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Deps       []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		imports[p.ImportPath], deps[p.ImportPath] = p.Imports, p.Deps
	}
	return imports, deps
}

const driftwatchRule = "driftwatch imports no Temporal package nor temporalclient: retraining goes through its Trainer"

const leanConnectRule = "tickcast-connect pulls in neither DuckDB, XGBoost nor Temporal, even indirectly: each stage process maps the binary's pages"

const workflowsRule = "workflows imports of the Temporal SDK only workflow and temporal, and no adapter of ours"

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
		{Ours("workflows"), "go.temporal.io/sdk/client", workflowsRule},
		{Ours("workflows"), "go.temporal.io/sdk/worker", workflowsRule},
		{Ours("workflows"), "go.temporal.io/sdk/activity", workflowsRule},
		{Ours("workflows"), Ours("parquet"), workflowsRule},
		{Ours("workflows"), Ours("temporalclient"), workflowsRule},
		{Ours("workflows"), "github.com/redpanda-data/benthos/v4/public/service", "workflows pulls in neither Benthos nor Redis, even indirectly"},
		{Ours("workflows"), "github.com/redis/go-redis/v9", "workflows pulls in neither Benthos nor Redis, even indirectly"},
		{Ours("driftwatch"), "go.temporal.io/sdk/client", driftwatchRule},
		{Ours("driftwatch"), Ours("temporalclient"), driftwatchRule},
		{Ours("training"), "go.temporal.io/sdk/temporal", "training pulls in no Temporal package, even indirectly"},
		{Ours("training"), "go.temporal.io/api/enums/v1", "training pulls in no Temporal package, even indirectly"},
		{Ours("cmd/tickcast-connect"), "github.com/duckdb/duckdb-go/v2", leanConnectRule},
		{Ours("cmd/tickcast-connect"), Ours("xgboost"), leanConnectRule},
		{Ours("cmd/tickcast-connect"), "go.temporal.io/sdk/client", leanConnectRule},
		{Ours("connect"), "github.com/redpanda-data/connect/v4/public/components/kafka", "nothing pulls in Redpanda Connect (not open source; Kafka is franz-go), even indirectly"},
	} {
		imports := map[string][]string{tc.pkg: {"fmt", tc.imp}}
		violations, _ := Check(imports, append(Rules(), DeepRules()...), nil)
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
		Ours("cmd/tickcast-connect"): {Ours("connect"), Ours("kraken"), "github.com/redpanda-data/benthos/v4/public/service",
			"github.com/apache/arrow-go/v18/parquet"},
		Ours("workflows"): {Ours("activities"), "go.temporal.io/sdk/workflow", "go.temporal.io/sdk/temporal", "go.temporal.io/sdk/workflow/x", "go.temporal.io/api/enums/v1"},
		Ours("training"):  {Ours("ml"), Ours("registry"), "github.com/apache/arrow-go/v18/parquet"},
	}
	if v, _ := Check(ok, append(Rules(), DeepRules()...), nil); len(v) > 0 {
		t.Errorf("allowed imports flagged: %q", v)
	}
	ex := []Exception{{Pkg: Ours("workflows"), Imp: "go.temporal.io/sdk/client"}, {Pkg: Ours("kraken"), Imp: "x.org/y"}}
	bad := map[string][]string{Ours("workflows"): {"go.temporal.io/sdk/client", "go.temporal.io/sdk/worker"}}
	v, stale := Check(bad, Rules(), ex)
	if len(v) != 1 || len(stale) != 1 || stale[0] != Ours("kraken")+" imports x.org/y" {
		t.Errorf("violations %q stale %q: want only the worker import, and the kraken exception stale", v, stale)
	}
}
