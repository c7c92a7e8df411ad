package registry

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
)

// The metas below are hand-written fixtures: the registry stores metrics
// and params opaquely, so their values only need to round-trip.

func openTest(t *testing.T) (*Registry, string) {
	t.Helper()
	dir := t.TempDir()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	var mu sync.Mutex
	r.now = func() time.Time { // a clock that ticks a second per call
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	return r, dir
}

func xgbMeta(pair string, mae float64) Meta {
	return Meta{Pair: pair, Horizon: 1, Name: "xgboost", Params: map[string]string{"max_depth": "4"},
		Metrics:  map[string]float64{"model_mae": mae, "baseline_mae": 0.0005, "skill": 1 - mae/0.0005, "dir_acc": 0.52},
		DataFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), DataTo: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC),
		ReportDir: "/reports/x"}
}

func mustRegister(t *testing.T, r *Registry, m Meta, artifact []byte) Meta {
	t.Helper()
	got, err := r.Register(context.Background(), m, artifact)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return got
}

func TestRegistryRegisterGetList(t *testing.T) {
	ctx := context.Background()
	r, dir := openTest(t)
	base, err := r.EnsureBaseline(ctx, "ethusdt", 1)
	if err != nil {
		t.Fatal(err)
	}
	if base.Version != 0 || base.Name != BaselineName || base.Status != Champion || base.Artifact != "" ||
		base.FeatureSchemaVersion != market.FeatureSchemaVersion || base.Pair != "ETH/USDT" {
		t.Errorf("baseline = %+v", base)
	}
	m := xgbMeta("ETH-USDT", 0.0004)
	m.Metrics["skill_lo"] = math.NaN()
	m.Version, m.Status = 99, Champion // ignored: assigned by Register, derived from aliases
	v1 := mustRegister(t, r, m, []byte("model one"))
	m2 := xgbMeta("ETH/USDT", 0.0006)
	m2.Artifact = "model.json"
	v2 := mustRegister(t, r, m2, []byte(`{"learner":{}}`))
	if v1.Version != 1 || v2.Version != 2 {
		t.Fatalf("versions %d, %d; want 1, 2", v1.Version, v2.Version)
	}
	if v1.CreatedAt.Location() != time.UTC || v1.CreatedAt.IsZero() || v1.CodeVersion == "" || v1.Artifact != "model.ubj" {
		t.Errorf("v1 = %+v", v1)
	}
	if _, ok := v1.Metrics["skill_lo"]; ok {
		t.Error("NaN metric kept")
	}
	for _, f := range []string{"h1/v000000/meta.json", "h1/v000001/model.ubj", "h1/v000001/meta.json", "h1/v000002/model.json", "h1/aliases.json"} {
		if _, err := os.Stat(filepath.Join(dir, "registry", "ETH-USDT", filepath.FromSlash(f))); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	for ref, want := range map[string]int{"latest": 2, "1": 1, "v2": 2, "V000001": 1, "champion": 0, " Champion ": 0} {
		got, err := r.Get(ctx, "ETH/USDT", 1, ref)
		if err != nil || got.Version != want {
			t.Errorf("Get(%q) = v%d, %v; want v%d", ref, got.Version, err, want)
		}
	}
	got, err := r.Get(ctx, "ETHUSDT", 1, "1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Candidate || got.Metrics["model_mae"] != 0.0004 || got.Params["max_depth"] != "4" ||
		!got.DataFrom.Equal(m.DataFrom) || got.ReportDir != "/reports/x" || !got.CreatedAt.Equal(v1.CreatedAt) {
		t.Errorf("Get(1) = %+v", got)
	}
	art, err := r.Artifact(ctx, got)
	if err != nil || string(art) != "model one" {
		t.Errorf("artifact = %q, %v", art, err)
	}
	if _, err := r.Artifact(ctx, base); !errors.Is(err, ErrNotFound) {
		t.Errorf("baseline artifact err = %v", err)
	}
	list, err := r.List(ctx, "ETH/USDT", 1)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, m := range list {
		statuses = append(statuses, strconv.Itoa(m.Version)+":"+m.Status)
	}
	if want := []string{"0:champion", "1:candidate", "2:candidate"}; !slices.Equal(statuses, want) {
		t.Errorf("list = %v, want %v", statuses, want)
	}
}

// meta.json is the public format (object storage, other tools): snake_case keys.
func TestRegistryMetaJSONKeys(t *testing.T) {
	r, dir := openTest(t)
	m := xgbMeta("BTC/USD", 0.0004)
	m.TestFrom = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	m.TestTo = m.TestFrom.Add(time.Hour)
	mustRegister(t, r, m, []byte("x"))
	data, err := os.ReadFile(filepath.Join(dir, "registry", "BTC-USD", "h1", "v000001", "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pair", "horizon", "version", "name", "artifact", "feature_schema_version", "params", "metrics",
		"data_from", "data_to", "test_from", "test_to", "code_version", "created_at", "report_dir", "status", "sha256"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("meta.json lacks %q: %s", k, data)
		}
	}
}

func TestRegistryAliasesAndRollback(t *testing.T) {
	ctx := context.Background()
	r, _ := openTest(t)
	if _, err := r.EnsureBaseline(ctx, "BTC/USDT", 1); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		mustRegister(t, r, xgbMeta("BTC/USDT", 0.0004), []byte("m"))
	}
	champion := func() int {
		t.Helper()
		m, err := r.Get(ctx, "BTC/USDT", 1, Champion)
		if err != nil {
			t.Fatal(err)
		}
		return m.Version
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.SetAlias(ctx, "BTC/USDT", 1, Challenger, 1, "gate: worse than champion"))
	got, err := r.Get(ctx, "BTC/USDT", 1, Challenger)
	if err != nil || got.Version != 1 || got.Status != Challenger || got.Reason != "gate: worse than champion" {
		t.Errorf("challenger = %+v, %v", got, err)
	}
	must(r.SetAlias(ctx, "BTC/USDT", 1, Champion, 1, "manual"))
	if _, err := r.Get(ctx, "BTC/USDT", 1, Challenger); !errors.Is(err, ErrNotFound) {
		t.Errorf("challenger after its promotion: %v, want cleared", err)
	}
	must(r.SetAlias(ctx, "BTC/USDT", 1, Champion, 3, "gate passed"))
	must(r.SetAlias(ctx, "BTC/USDT", 1, Champion, 3, "again")) // no-op
	if err := r.SetAlias(ctx, "BTC/USDT", 1, Challenger, 3, "x"); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("challenger = champion: %v", err)
	}
	if err := r.SetAlias(ctx, "BTC/USDT", 1, Champion, 7, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing version: %v", err)
	}
	if err := r.SetAlias(ctx, "BTC/USDT", 1, "best", 1, "x"); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("unknown alias: %v", err)
	}
	list, _ := r.List(ctx, "BTC/USDT", 1)
	if s := []string{list[0].Status, list[1].Status, list[2].Status, list[3].Status}; !slices.Equal(s, []string{Retired, Retired, Candidate, Champion}) {
		t.Errorf("statuses = %v", s)
	}
	// Rollback walks back through the history: 3 → 1 → 0, then nothing.
	for _, want := range []int{1, 0} {
		m, err := r.Rollback(ctx, "BTC/USDT", 1, Champion)
		if err != nil || m.Version != want || champion() != want || m.Status != Champion {
			t.Fatalf("rollback = v%d (%s), %v; champion v%d; want v%d", m.Version, m.Status, err, champion(), want)
		}
	}
	if _, err := r.Rollback(ctx, "BTC/USDT", 1, Champion); !errors.Is(err, ErrNotFound) {
		t.Errorf("rollback past the first champion: %v", err)
	}
	// The cleared challenger comes back by rollback.
	if m, err := r.Rollback(ctx, "BTC/USDT", 1, Challenger); err != nil || m.Version != 1 {
		t.Errorf("challenger rollback = v%d, %v", m.Version, err)
	}
	a, err := r.Aliases(ctx, "BTC/USDT", 1)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, c := range a.History {
		actions = append(actions, c.Alias+":"+c.Action)
		if c.At.IsZero() || c.Reason == "" {
			t.Errorf("history entry without time or reason: %+v", c)
		}
	}
	want := []string{"champion:set", "challenger:set", "champion:set", "challenger:clear", "champion:set",
		"champion:rollback", "champion:rollback", "challenger:rollback"}
	if !slices.Equal(actions, want) {
		t.Errorf("history = %v\nwant      %v", actions, want)
	}
}

// The alias history replays into a stack per alias; these cases pin down
// what Rollback does after sets, clears and earlier rollbacks.
func TestAliasesRollbackTable(t *testing.T) {
	type op struct {
		alias string
		v     int // rb: roll back
	}
	const rb = -1
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		ops   []op
		alias string
		want  int // -1: error
	}{
		{"no history", nil, Champion, -1},
		{"one set", []op{{Champion, 0}}, Champion, -1},
		{"two sets", []op{{Champion, 0}, {Champion, 4}}, Champion, 0},
		{"back to an earlier one", []op{{Champion, 0}, {Champion, 4}, {Champion, 5}, {Champion, rb}}, Champion, 0},
		{"skips the current version further down", []op{{Champion, 2}, {Champion, 3}, {Champion, 2}}, Champion, 3},
		{"challenger skips unset states", []op{
			{Challenger, 3}, {Champion, 3} /* clears the challenger */, {Champion, 1}, {Challenger, 5},
		}, Challenger, 3},
		{"challenger may not become the champion", []op{{Challenger, 3}, {Champion, 3}}, Challenger, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Aliases
			for _, o := range tt.ops {
				var err error
				if o.v == rb {
					_, err = a.rollback(o.alias, at)
				} else {
					_, err = a.set(o.alias, o.v, "", at)
				}
				if err != nil {
					t.Fatalf("%+v: %v", o, err)
				}
			}
			got, err := a.rollback(tt.alias, at)
			if tt.want < 0 {
				if err == nil {
					t.Errorf("rollback = v%d, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want || a.version(tt.alias) != tt.want {
				t.Errorf("rollback = v%d, %v; want v%d", got, err, tt.want)
			}
		})
	}
}

func TestRegistryBaselineIdempotent(t *testing.T) {
	ctx := context.Background()
	r, dir := openTest(t)
	first, err := r.EnsureBaseline(ctx, "ETH/USDT", 5)
	if err != nil {
		t.Fatal(err)
	}
	aliases := filepath.Join(dir, "registry", "ETH-USDT", "h5", "aliases.json")
	before, _ := os.ReadFile(aliases)
	again, err := r.EnsureBaseline(ctx, "eth-usdt", 5)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(aliases)
	if !again.CreatedAt.Equal(first.CreatedAt) || string(before) != string(after) {
		t.Errorf("second EnsureBaseline changed something:\n%s\n%s", before, after)
	}
	// With a trained champion, EnsureBaseline leaves the champion alone.
	v := mustRegister(t, r, Meta{Pair: "ETH/USDT", Horizon: 5, Name: "xgboost"}, []byte("m"))
	if err := r.SetAlias(ctx, "ETH/USDT", 5, Champion, v.Version, "gate passed"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.EnsureBaseline(ctx, "ETH/USDT", 5); err != nil {
		t.Fatal(err)
	}
	if m, _ := r.Get(ctx, "ETH/USDT", 5, Champion); m.Version != v.Version {
		t.Errorf("champion = v%d after EnsureBaseline, want v%d", m.Version, v.Version)
	}
	if b, _ := r.Get(ctx, "ETH/USDT", 5, "0"); b.Status != Retired {
		t.Errorf("baseline status = %q, want retired", b.Status)
	}
}

// A crash between the artifact and meta.json leaves a version without
// meta.json, and a crash inside Put a temporary file: readers ignore both,
// and the next writer removes them and reuses the version number.
func TestRegistryIncompleteWrite(t *testing.T) {
	ctx := context.Background()
	r, dir := openTest(t)
	mustRegister(t, r, xgbMeta("ETH/USDT", 0.0004), []byte("one"))
	series := filepath.Join(dir, "registry", "ETH-USDT", "h1")
	crashed := filepath.Join(series, "v000002")
	if err := os.MkdirAll(crashed, 0o755); err != nil {
		t.Fatal(err)
	}
	stray := []string{filepath.Join(crashed, "model.ubj"), filepath.Join(crashed, ".meta.json.tmp-123"), filepath.Join(series, ".aliases.json.tmp-9")}
	for _, p := range stray {
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := r.List(ctx, "ETH/USDT", 1); err != nil || len(list) != 1 {
		t.Errorf("list = %d versions, %v; want 1", len(list), err)
	}
	if m, err := r.Get(ctx, "ETH/USDT", 1, "latest"); err != nil || m.Version != 1 {
		t.Errorf("latest = v%d, %v", m.Version, err)
	}
	if _, err := r.Get(ctx, "ETH/USDT", 1, "2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(2) = %v, want not found", err)
	}
	v := mustRegister(t, r, xgbMeta("ETH/USDT", 0.0003), []byte("two"))
	if v.Version != 2 {
		t.Fatalf("version = %d, want 2 (the crashed number, never visible, is reused)", v.Version)
	}
	if art, _ := r.Artifact(ctx, v); string(art) != "two" {
		t.Errorf("artifact = %q", art)
	}
	for _, p := range stray[1:] {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not cleaned: %v", p, err)
		}
	}
}

// 20 goroutines over two Registry values of one directory register at
// once: the flock gives every one its own version.
func TestRegistryConcurrentRegister(t *testing.T) {
	dir := t.TempDir()
	regs := make([]*Registry, 2)
	for i := range regs {
		var err error
		if regs[i], err = Open(dir); err != nil {
			t.Fatal(err)
		}
	}
	const n = 20
	versions := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m, err := regs[i%2].Register(context.Background(), xgbMeta("BTC/USD", 0.0004), []byte(strconv.Itoa(i)))
			if err != nil {
				t.Error(err)
			}
			versions[i] = m.Version
		})
	}
	wg.Wait()
	checkVersions(t, regs[0], "BTC/USD", versions, n)
}

func checkVersions(t *testing.T, r *Registry, pair string, versions []int, n int) {
	t.Helper()
	slices.Sort(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions = %v, want 1..%d each once", versions, n)
		}
	}
	list, err := r.List(context.Background(), pair, 1)
	if err != nil || len(list) != n {
		t.Fatalf("list = %d versions, %v; want %d", len(list), err, n)
	}
	for _, m := range list {
		if art, err := r.Artifact(context.Background(), m); err != nil || len(art) == 0 {
			t.Errorf("v%d artifact %q, %v", m.Version, art, err)
		}
	}
}

const helperEnv = "TICKCAST_REGISTRY_HELPER_DIR"

// Two processes (this test binary, re-run as a helper) register 10 versions
// each into one directory: the lock works across processes too.
func TestRegistryConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv(helperEnv); dir != "" {
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if _, err := r.Register(context.Background(), xgbMeta("BTC/USD", 0.0004), []byte(strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	dir := t.TempDir()
	procs := make([]*exec.Cmd, 2)
	for i := range procs {
		procs[i] = exec.Command(os.Args[0], "-test.run=^TestRegistryConcurrentProcesses$")
		procs[i].Env = append(os.Environ(), helperEnv+"="+dir)
		if err := procs[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	}
	r, _ := Open(dir)
	list, err := r.List(context.Background(), "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	versions := make([]int, len(list))
	for i, m := range list {
		versions[i] = m.Version
	}
	checkVersions(t, r, "BTC/USD", versions, 20)
}

func TestRegistryLockHonoursContext(t *testing.T) {
	r, dir := openTest(t)
	unlock, err := FS{Root: dir}.Lock(context.Background(), "registry/ETH-USDT/h1/.lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Register(ctx, xgbMeta("ETH/USDT", 0.0004), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("register under a held lock: %v, want deadline exceeded", err)
	}
}

func TestRegistryErrors(t *testing.T) {
	ctx := context.Background()
	r, _ := openTest(t)
	if _, err := Open(""); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("Open(\"\") = %v", err)
	}
	bad := []struct {
		name     string
		m        Meta
		artifact []byte
	}{
		{"bad pair", Meta{Pair: "nope", Horizon: 1, Name: "xgboost"}, nil},
		{"horizon 0", Meta{Pair: "ETH/USDT", Name: "xgboost"}, nil},
		{"no name", Meta{Pair: "ETH/USDT", Horizon: 1}, nil},
		{"artifact without bytes", Meta{Pair: "ETH/USDT", Horizon: 1, Name: "xgboost", Artifact: "model.ubj"}, nil},
		{"artifact path", Meta{Pair: "ETH/USDT", Horizon: 1, Name: "xgboost", Artifact: "../x"}, []byte("m")},
		{"artifact named meta.json", Meta{Pair: "ETH/USDT", Horizon: 1, Name: "xgboost", Artifact: "meta.json"}, []byte("m")},
	}
	for _, tt := range bad {
		if _, err := r.Register(ctx, tt.m, tt.artifact); !errors.Is(err, market.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", tt.name, err)
		}
	}
	if _, err := r.Get(ctx, "ETH/USDT", 1, "champion"); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty registry champion: %v", err)
	}
	if _, err := r.Get(ctx, "ETH/USDT", 1, "latest"); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty registry latest: %v", err)
	}
	if _, err := r.EnsureBaseline(ctx, "ETH/USDT", 1); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"best", "v", "-1", "1000000"} {
		if _, err := r.Get(ctx, "ETH/USDT", 1, ref); !errors.Is(err, market.ErrInvalid) {
			t.Errorf("Get(%q) = %v, want invalid", ref, err)
		}
	}
	if _, err := r.Get(ctx, "ETH/USDT", 1, "4"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(4) = %v, want not found", err)
	}
	if _, err := r.Get(ctx, "ETH/USDT", 1, "challenger"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no challenger: %v", err)
	}
	if _, err := r.Rollback(ctx, "BTC/USDT", 1, Champion); !errors.Is(err, ErrNotFound) {
		t.Errorf("rollback of an unknown series: %v", err)
	}
}

func TestRegistrySeries(t *testing.T) {
	ctx := context.Background()
	r, _ := openTest(t)
	for _, s := range []Series{{"ETH/USDT", 5, ""}, {"BTC/USDT", 1, ""}, {"ETH/USDT", 1, ""}} {
		if _, err := r.EnsureBaseline(ctx, s.Pair, s.Horizon); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Series(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Series{{"BTC/USDT", 1, ""}, {"ETH/USDT", 1, ""}, {"ETH/USDT", 5, ""}}
	if !slices.Equal(got, want) {
		t.Errorf("series = %v, want %v", got, want)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"42", 42, true}, {"v42", 42, true}, {"v000042", 42, true}, {"V7", 7, true},
		{"999999", 999999, true}, {"1000000", 0, false}, {"-1", 0, false}, {"", 0, false}, {"champion", 0, false}, {"v", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseVersion(%q) = %d, %v", tt.in, got, err)
		}
	}
}
