package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/training"
	"github.com/tickcast/tickcast/training/trainingtest"
)

// On two real runs (and a corrupt folder beside them): list shows both,
// newest first, with their versions and gates; show prints a run's params,
// products, tuning history and plots; compare sets them side by side.
func TestRuns(t *testing.T) {
	dir := t.TempDir()
	ids := trainingtest.Runs(t, dir)
	bad := filepath.Join(datadir.Reports(dir), "ETH-USDT", "h1", "20260107T000000Z-broken") // a hand-made corrupt folder
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "metrics.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "runs", "list", "--data-dir", dir, "--pair", "ETH/USDT")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 || !strings.HasPrefix(lines[1], ids[1]) || !strings.Contains(lines[1], "return:v2") ||
		!strings.Contains(lines[1], "vol:v") || !strings.Contains(lines[0], "P_UP") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = runCmd(t, "runs", "list", "--data-dir", dir, "--format", "json", "--horizon", "5")
	var list training.RunList
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Runs) != 0 {
		t.Errorf("list --horizon 5: %v\n%s", err, out)
	}
	out, err = runCmd(t, "runs", "show", ids[0], "--data-dir", dir)
	for _, want := range []string{"tuning history (2 trials)", "max_depth", "vol ", "quantiles ", "p_up ", "tuning_history.svg", "return:v1 xgboost"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("show: %v, want %q in\n%s", err, want, out)
		}
	}
	out, err = runCmd(t, "runs", "compare", ids[0], ids[1], "--data-dir", dir)
	for _, want := range []string{"max_depth", "≠", "param max_depth", "vol mae vs har-rv", "gates"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("compare: %v, want %q in\n%s", err, want, out)
		}
	}
	for _, args := range [][]string{{"runs", "show", "ETH-USDT.h1.20260107T000000Z-broken"}, {"runs", "show", "../../etc"},
		{"runs", "compare", ids[0]}, {"runs", "nope"}} {
		if _, err := runCmd(t, append(args, "--data-dir", dir)...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
