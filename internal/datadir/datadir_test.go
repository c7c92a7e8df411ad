package datadir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPaths(t *testing.T) {
	d := filepath.Join("x", "data")
	for got, want := range map[string]string{
		Parquet(d):     "x/data/parquet",
		Predictions(d): "x/data/parquet/predictions",
		Quarantine(d):  "x/data/quarantine",
		Registry(d):    "x/data/registry",
		Datasets(d):    "x/data/datasets",
		Reports(d):     "x/data/reports",
		Sources(d):     "x/data/sources",
		Late(d):        "x/data/late",
		DeadLetter(d):  "x/data/deadletter",
		Gaps(d):        "x/data/gaps",
	} {
		if got != filepath.FromSlash(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

// The pipelines' YAML spells the JSONL directories it appends to; they
// must be the ones retention compacts.
func TestPipelinesAppendToAppended(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "connect", "pipelines", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("pipelines: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			_, rest, ok := strings.Cut(line, "${TICKCAST_DATA_DIR:./data}/")
			if !ok || !strings.Contains(line, "path:") {
				continue
			}
			dir, _, _ := strings.Cut(rest, "/")
			if !contains(Appended(), dir) {
				t.Errorf("%s appends to %q, not in Appended() %v", f, dir, Appended())
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
