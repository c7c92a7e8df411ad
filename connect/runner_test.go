package connect

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A pipeline of generated messages written to a file: its ${VARS} come
// from each run's vars, else from Getenv.
const runnerYAML = `
input:
  generate: {mapping: 'root = "${TICKCAST_MSG}"', count: 3, interval: ""}
output:
  file: {path: "${TICKCAST_OUT}", codec: lines}
`

func writePipeline(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunnerRunAll(t *testing.T) {
	path := writePipeline(t, runnerYAML)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	m := NewMetrics()
	r := Runner{Metrics: m, Getenv: func(k string) string {
		if k == "TICKCAST_MSG" {
			return "from-env"
		}
		return ""
	}}
	streams := []map[string]string{{"TICKCAST_OUT": a}, {"TICKCAST_OUT": b, "TICKCAST_MSG": "from-vars"}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.RunAll(ctx, path, streams); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{a: "from-env\n", b: "from-vars\n"} {
		got, err := os.ReadFile(file)
		if err != nil || string(got) != strings.Repeat(want, 3) {
			t.Errorf("%s: %q, %v; want 3 × %q", filepath.Base(file), got, err, want)
		}
	}
	// Both pipelines' metrics add up on the one registry.
	if got := scrape(m); !strings.Contains(got, "benthos_input_received{label=\"\",path=\"root.input\"} 6\n") {
		t.Errorf("input_received is not 6:\n%s", got)
	}
}

// On cancellation a never-ending pipeline stops gracefully, without error.
func TestRunnerStopsOnCancel(t *testing.T) {
	path := writePipeline(t, `
input:
  generate: {mapping: 'root = "x"', interval: "10ms"}
output:
  drop: {}
`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Runner{}.Run(ctx, path, nil) }()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(ShutdownTimeout):
		t.Fatal("Run did not stop after cancel")
	}
}

func TestRunnerErrors(t *testing.T) {
	ctx := context.Background()
	if err := (Runner{}).Run(ctx, filepath.Join(t.TempDir(), "absent.yaml"), nil); err == nil {
		t.Error("a pipeline neither on disk nor embedded: want an error")
	}
	bad := writePipeline(t, "input: {no_such_input: {}}\noutput: {drop: {}}\n")
	if err := (Runner{}).Run(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("an invalid pipeline: %v, want an error naming it", err)
	}
}

// A path that does not exist reads the embedded pipeline of the same name.
func TestReadPipelineEmbedded(t *testing.T) {
	want, err := fs.ReadFile(Pipelines, "pipelines/live.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadPipeline(filepath.Join(t.TempDir(), "connect", "pipelines", "live.yaml"))
	if err != nil || got != string(want) {
		t.Errorf("embedded live.yaml: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	path := writePipeline(t, "# on disk\n")
	if got, err := ReadPipeline(path); err != nil || got != "# on disk\n" {
		t.Errorf("file on disk: %q, %v", got, err)
	}
}

// Benthos' own records below WARN are dropped, whatever attributes or
// groups its loggers add.
func TestMinLevel(t *testing.T) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	log := slog.New(minLevel{h, slog.LevelWarn}).With("component", "x").WithGroup("g")
	log.Info("quiet")
	log.Warn("loud")
	if out := buf.String(); strings.Contains(out, "quiet") || !strings.Contains(out, "loud") || !strings.Contains(out, "component=x") {
		t.Errorf("log:\n%s", out)
	}
}
