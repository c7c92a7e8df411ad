package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
)

// modelsFixture fills a registry with hand-written metas (the CLI only
// formats them): ETH/USDT h1 with the baseline, a rejected v1 (challenger)
// and a better v2; BTC/USDT h5 with its baseline only.
func modelsFixture(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []registry.Series{{Pair: "ETH/USDT", Horizon: 1}, {Pair: "BTC/USDT", Horizon: 5}} {
		if _, err := reg.EnsureBaseline(ctx, s.Pair, s.Horizon); err != nil {
			t.Fatal(err)
		}
	}
	for _, mae := range []float64{0.000505, 0.000431} {
		m := registry.Meta{Pair: "ETH/USDT", Horizon: 1, Name: "xgboost", ReportDir: "/data/reports/ETH-USDT/h1/run",
			Params:   map[string]string{"max_depth": "5", "eta": "0.05"},
			Metrics:  map[string]float64{"model_mae": mae, "baseline_mae": 0.000452, "skill": 1 - mae/0.000452, "dir_acc": 0.5123},
			TestFrom: time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC), TestTo: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)}
		if _, err := reg.Register(ctx, m, []byte("model bytes")); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.SetAlias(ctx, "ETH/USDT", 1, registry.Challenger, 1, "rejected: does not beat the zero-return baseline"); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestModelsListShowPromoteRollback(t *testing.T) {
	dir := modelsFixture(t)
	out, err := runCmd(t, "models", "list", "--pair", "ethusdt", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "PAIR") || !strings.Contains(lines[0], "BASELINE_MAE") {
		t.Fatalf("list:\n%s", out)
	}
	for i, want := range [][]string{{"v0", "zero-return", "champion", "-"}, {"v1", "xgboost", "challenger", "0.000505", "0.000452", "-0.1173", "0.5123"}, {"v2", "candidate", "0.000431", "0.0465"}} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("list row %d lacks %q: %s", i+1, w, lines[i+1])
			}
		}
	}
	out, err = runCmd(t, "models", "list", "--data-dir", dir, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var all []registry.Meta
	if err := json.Unmarshal([]byte(out), &all); err != nil || len(all) != 4 || all[0].Pair != "BTC/USDT" || all[0].Horizon != 5 {
		t.Errorf("list all json (%v): %s", err, out)
	}

	show := func(ref string, extra ...string) map[string]any {
		t.Helper()
		out, err := runCmd(t, append([]string{"models", "show", ref, "--pair", "ETH/USDT", "--data-dir", dir, "--format", "json"}, extra...)...)
		if err != nil {
			t.Fatalf("show %s: %v", ref, err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("show %s: %v\n%s", ref, err, out)
		}
		return m
	}
	latest := show("latest")
	metrics, _ := latest["metrics"].(map[string]any)
	for _, k := range []string{"model_mae", "baseline_mae", "dir_acc", "skill"} {
		if _, ok := metrics[k]; !ok {
			t.Errorf("show latest: no metrics.%s in %v", k, latest)
		}
	}
	if latest["version"] != 2.0 || latest["report_dir"] != "/data/reports/ETH-USDT/h1/run" || latest["status"] != "candidate" {
		t.Errorf("show latest = %v", latest)
	}
	if m := show("champion"); m["version"] != 0.0 || m["name"] != "zero-return" {
		t.Errorf("show champion = %v", m)
	}
	if m := show("challenger"); m["version"] != 1.0 || !strings.Contains(m["reason"].(string), "rejected") {
		t.Errorf("show challenger = %v", m)
	}
	// Flags before the reference, text format.
	out, err = runCmd(t, "models", "show", "--pair", "ETH-USDT", "--data-dir", dir, "v2")
	if err != nil || !strings.Contains(out, "metric model_mae") || !strings.Contains(out, "report") || !strings.Contains(out, "param max_depth") {
		t.Errorf("show v2 text (%v):\n%s", err, out)
	}

	out, err = runCmd(t, "models", "promote", "2", "--pair", "ETH/USDT", "--data-dir", dir, "--reason", "operator override")
	if err != nil || !strings.Contains(out, "ETH/USDT h1 champion: v0 (zero-return) → v2 (xgboost, test MAE 0.000431, skill 0.0465)") {
		t.Errorf("promote (%v): %s", err, out)
	}
	if m := show("champion"); m["version"] != 2.0 || m["reason"] != "manual promotion: operator override" {
		t.Errorf("champion after promote = %v", m)
	}
	if out, err = runCmd(t, "models", "promote", "v2", "--pair", "ETH/USDT", "--data-dir", dir); err != nil || !strings.Contains(out, "already champion") {
		t.Errorf("promote again (%v): %s", err, out)
	}
	out, err = runCmd(t, "models", "rollback", "--pair", "ETH/USDT", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "champion: v2 (xgboost") || !strings.Contains(out, "→ v0 (zero-return)") {
		t.Errorf("rollback (%v): %s", err, out)
	}
	if _, err := runCmd(t, "models", "rollback", "--pair", "ETH/USDT", "--data-dir", dir); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("rollback past the baseline: %v", err)
	}
}

func TestModelsErrors(t *testing.T) {
	dir := modelsFixture(t)
	tests := []struct {
		args []string
		want error
		msg  string
	}{
		{[]string{"models"}, errUsage, ""},
		{[]string{"models", "nope"}, errUsage, ""},
		{[]string{"models", "show", "--pair", "ETH/USDT"}, errUsage, ""},
		{[]string{"models", "show", "1", "2", "--pair", "ETH/USDT"}, errUsage, ""},
		{[]string{"models", "show", "champion"}, errUsage, ""},
		{[]string{"models", "show", "champion", "--pair", "NOT A PAIR"}, errUsage, ""},
		{[]string{"models", "list", "--format", "xml"}, errUsage, ""},
		{[]string{"models", "list", "--no-such-flag"}, errUsage, ""},
		{[]string{"models", "show", "7", "--pair", "ETH/USDT"}, registry.ErrNotFound, "ETH/USDT h1 has no version 7 (versions: 0, 1, 2)"},
		{[]string{"models", "show", "champion", "--pair", "SOL/USD"}, registry.ErrNotFound, "no models registered for SOL/USD h1"},
		{[]string{"models", "show", "latest", "--pair", "ETH/USDT", "--horizon", "5"}, registry.ErrNotFound, "no models registered for ETH/USDT h5"},
		{[]string{"models", "show", "best", "--pair", "ETH/USDT"}, market.ErrInvalid, `model "best"`},
		{[]string{"models", "show", "champion", "--pair", "ETH/USDT", "--horizon", "0"}, market.ErrInvalid, "horizon 0"},
		{[]string{"models", "list", "--pair", "SOL/USD"}, registry.ErrNotFound, "no models registered for SOL/USD"},
		{[]string{"models", "promote", "9", "--pair", "ETH/USDT"}, registry.ErrNotFound, "no version 9"},
		{[]string{"models", "promote", "1", "--pair", "SOL/USD"}, registry.ErrNotFound, "no models registered for SOL/USD h1"},
		{[]string{"models", "rollback", "--pair", "ETH/USDT", "--alias", "best"}, errUsage, `alias "best"`},
		{[]string{"models", "rollback", "--pair", "BTC/USDT", "--horizon", "5"}, registry.ErrNotFound, "no previous version"},
	}
	for _, tt := range tests {
		args := append(tt.args, "--data-dir", dir)
		_, err := runCmd(t, args...)
		if !errors.Is(err, tt.want) || !strings.Contains(errString(err), tt.msg) {
			t.Errorf("tickcast %v: %v; want %v containing %q", tt.args, err, tt.want, tt.msg)
		}
	}
	out, err := runCmd(t, "models", "list", "--data-dir", t.TempDir())
	if err != nil || out != "" {
		t.Errorf("list of an empty registry: %v %q", err, out)
	}
	out, err = runCmd(t, "models", "list", "--data-dir", t.TempDir(), "--format", "json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("json list of an empty registry: %v %q", err, out)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// `models show` prints the tuning results kept in the version's report.
func TestModelsShowTuning(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "reports", "run")
	if err := os.MkdirAll(report, 0o755); err != nil {
		t.Fatal(err)
	}
	// Hand-written fixture: two trials, the second better.
	trials := `{"trials":[{"id":0,"rung":0,"params":{"max_depth":3,"eta":0.1,"subsample":1,"colsample_bytree":1,"min_child_weight":1,"lambda":1,"alpha":0,"seed":1},"scores":[0.002],"score":0.002,"rounds":5,"duration_ns":1000000},` +
		`{"id":1,"rung":0,"params":{"max_depth":4,"eta":0.05,"subsample":0.8,"colsample_bytree":0.9,"min_child_weight":2,"lambda":1,"alpha":0,"seed":2},"scores":[0.001],"score":0.001,"rounds":7,"duration_ns":2000000}]}`
	if err := os.WriteFile(filepath.Join(report, "metrics.json"), []byte(trials), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Register(ctx, registry.Meta{Pair: "ETH/USDT", Horizon: 1, Name: "xgboost", ReportDir: report}, []byte("model")); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "models", "show", "latest", "--pair", "ETH-USDT", "--data-dir", dir, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var shown struct {
		Tuning struct {
			Trials int `json:"trials"`
			Top    []struct {
				ID int `json:"id"`
			} `json:"top"`
		} `json:"tuning"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Tuning.Trials != 2 || len(shown.Tuning.Top) != 2 || shown.Tuning.Top[0].ID != 1 {
		t.Errorf("tuning = %+v, want 2 trials, trial 1 first", shown.Tuning)
	}
	text, err := runCmd(t, "models", "show", "latest", "--pair", "ETH/USDT", "--data-dir", dir)
	if err != nil || !strings.Contains(text, "tuning: 2 trial runs") {
		t.Errorf("text show = %q, %v", text, err)
	}
}
