// Package deps holds tickcast's dependency rules (which packages may import
// which) and the checker its test runs over the module's direct imports
// (Rules) and over everything each package pulls in (DeepRules).
package deps

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Module is tickcast's module path.
const Module = "github.com/tickcast/tickcast"

// A Rule forbids some packages (From) to import some others (Forbids).
type Rule struct {
	Name    string
	From    func(pkg string) bool
	Forbids func(imp string) bool
}

// An Exception allows one known violation (Pkg imports Imp) until it is fixed.
type Exception struct {
	Pkg, Imp, Why string
}

// Check returns the violations of rules by imports (package → direct
// imports), less the exceptions, sorted; and the exceptions nothing
// violates any more (stale: remove them).
func Check(imports map[string][]string, rules []Rule, exceptions []Exception) (violations, stale []string) {
	used := make(map[Exception]bool)
	for pkg, imps := range imports {
		for _, imp := range imps {
			for _, r := range rules {
				if !r.From(pkg) || !r.Forbids(imp) {
					continue
				}
				if e, ok := excepted(exceptions, pkg, imp); ok {
					used[e] = true
					continue
				}
				violations = append(violations, fmt.Sprintf("%s imports %s: %s", pkg, imp, r.Name))
			}
		}
	}
	for _, e := range exceptions {
		if !used[e] {
			stale = append(stale, fmt.Sprintf("%s imports %s", e.Pkg, e.Imp))
		}
	}
	sort.Strings(violations)
	return violations, stale
}

func excepted(exceptions []Exception, pkg, imp string) (Exception, bool) {
	for _, e := range exceptions {
		if e.Pkg == pkg && e.Imp == imp {
			return e, true
		}
	}
	return Exception{}, false
}

// Standard reports whether imp is a standard-library import path (its first
// element has no dot).
func Standard(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".") && imp != "C"
}

// Ours is the import path of our package rel ("market", "cmd/tickcast").
func Ours(rel string) string { return Module + "/" + rel }

func is(rels ...string) func(string) bool {
	return func(p string) bool {
		return slices.ContainsFunc(rels, func(r string) bool { return p == Ours(r) })
	}
}

func under(prefix string) func(string) bool {
	return func(p string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }
}

func anyOf(fs ...func(string) bool) func(string) bool {
	return func(p string) bool { return slices.ContainsFunc(fs, func(f func(string) bool) bool { return f(p) }) }
}

// adapters are our packages named for a dependency.
func adapters() []string {
	return []string{"connect", "kraken", "fakekraken", "parquet", "duckdb", "redis", "xgboost", "registry", "archive", "temporalclient"}
}

// Rules are tickcast's dependency rules (docs/architecture.md, Packages).
func Rules() []Rule {
	fake := is("fakekraken")
	return []Rule{
		{Name: "market imports the standard library only", From: is("market"),
			Forbids: func(imp string) bool { return !Standard(imp) }},
		{Name: "drift imports the standard library and market only", From: is("drift"),
			Forbids: func(imp string) bool { return !Standard(imp) && imp != Ours("market") }},
		{Name: "driftwatch imports no Temporal package nor temporalclient: retraining goes through its Trainer", From: is("driftwatch"),
			Forbids: anyOf(under("go.temporal.io"), is("temporalclient"))},
		{Name: "activities imports neither connect, Benthos nor Redis", From: is("activities"),
			Forbids: anyOf(is("connect", "redis"), under("github.com/redpanda-data/benthos"), under("github.com/redis"))},
		{Name: "production packages never import the fake exchange",
			From: func(p string) bool {
				return !fake(p) && !under(Ours("cmd"))(p)
			},
			Forbids: fake},
		{Name: "kraken does not import fakekraken", From: is("kraken"), Forbids: fake},
		{Name: "workflows imports of the Temporal SDK only workflow and temporal, and no adapter of ours", From: is("workflows"),
			Forbids: anyOf(temporalSDKBut("workflow", "temporal"), is(adapters()...))},
	}
}

// DeepRules are rules over everything a package pulls in, through the
// packages it imports too (go list -deps), for the packages whose point is
// what they do not carry.
func DeepRules() []Rule {
	return []Rule{
		{Name: "workflows pulls in neither Benthos nor Redis, even indirectly", From: is("workflows"),
			Forbids: anyOf(under("github.com/redpanda-data"), under("github.com/redis"))},
		{Name: "training pulls in no Temporal package, even indirectly", From: is("training"),
			Forbids: under("go.temporal.io")},
		{Name: "tickcast-connect pulls in neither DuckDB, XGBoost nor Temporal, even indirectly: each stage process maps the binary's pages", From: is("cmd/tickcast-connect"),
			Forbids: anyOf(under("github.com/duckdb"), under("go.temporal.io"), is("duckdb", "xgboost", "temporalclient"))},
		{Name: "nothing pulls in Redpanda Connect (not open source; Kafka is franz-go), even indirectly", From: under(Module),
			Forbids: under("github.com/redpanda-data/connect")},
	}
}

// temporalSDKBut forbids the Temporal Go SDK's packages but the named ones
// (and their subpackages).
func temporalSDKBut(allowed ...string) func(string) bool {
	const sdk = "go.temporal.io/sdk"
	return func(p string) bool {
		rest, ok := strings.CutPrefix(p, sdk+"/")
		if !ok {
			return p == sdk
		}
		first, _, _ := strings.Cut(rest, "/")
		return !slices.Contains(allowed, first)
	}
}

// Exceptions are the known violations, each until it is fixed; none today
// (issue #11 moved workflows' Temporal client and worker code out to
// temporalclient). Add one only with the issue that removes it.
func Exceptions() []Exception {
	return nil
}
