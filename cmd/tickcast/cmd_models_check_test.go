package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/registry"
)

// TestModelsIntegrity: list and show flag a version whose file no longer
// has its registered checksum, one that is gone, and ones XGBoost refuses
// (the fixture's artifacts are hand-written bytes, not models).
func TestModelsIntegrity(t *testing.T) {
	dir := modelsFixture(t)
	vdir := func(v string) string { return filepath.Join(dir, "registry", "ETH-USDT", "h1", v) }
	if err := os.WriteFile(filepath.Join(vdir("v000002"), "model.ubj"), []byte("model bytez"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "models", "list", "--pair", "ETH/USDT", "--data-dir", dir, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Version        int    `json:"version"`
		Integrity      string `json:"integrity"`
		IntegrityError string `json:"integrity_error"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := map[int]string{0: registry.IntegrityNone, 1: integrityRefused, 2: registry.IntegrityMismatch}
	for _, g := range got {
		if g.Integrity != want[g.Version] || (g.Integrity != registry.IntegrityNone && g.IntegrityError == "") {
			t.Errorf("v%d: integrity %q (%s), want %q with a reason", g.Version, g.Integrity, g.IntegrityError, want[g.Version])
		}
	}
	out, err = runCmd(t, "models", "show", "2", "--pair", "ETH/USDT", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "integrity") || !strings.Contains(out, "BAD checksum_mismatch") {
		t.Errorf("show of a corrupt version: %v\n%s", err, out)
	}
	if err := os.Remove(filepath.Join(vdir("v000001"), "model.ubj")); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, "models", "list", "--pair", "ETH/USDT", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "BAD unreadable") || !strings.Contains(out, "INTEGRITY") {
		t.Errorf("list with a missing file: %v\n%s", err, out)
	}
}

// TestModelsPrune: a dry run by default, --apply deletes; champions,
// challengers, rollback chains and the newest are kept.
func TestModelsPrune(t *testing.T) {
	ctx := context.Background()
	dir := modelsFixture(t) // ETH/USDT h1: v0 champion, v1 challenger, v2
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // v3..v5
		if _, err := reg.Register(ctx, registry.Meta{Pair: "ETH/USDT", Horizon: 1, Name: "xgboost"}, []byte("model bytes")); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"models", "prune", "--data-dir", dir, "--keep-last", "1", "--keep-days", "0"}
	out, err := runCmd(t, args...)
	if err != nil || !strings.Contains(out, "would delete ETH/USDT h1 v2") || !strings.Contains(out, "would delete 3 version(s)") || !strings.Contains(out, "--apply") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if ms, _ := reg.List(ctx, "ETH/USDT", 1); len(ms) != 6 {
		t.Fatalf("the dry run deleted: %d versions left", len(ms))
	}
	if out, err = runCmd(t, append(args, "--apply")...); err != nil || !strings.Contains(out, "deleted 3 version(s)") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	ms, err := reg.List(ctx, "ETH/USDT", 1)
	var left []int
	for _, m := range ms {
		left = append(left, m.Version)
	}
	if err != nil || len(left) != 3 || left[0] != 0 || left[1] != 1 || left[2] != 5 {
		t.Errorf("left %v, %v; want v0 (champion), v1 (challenger), v5 (newest)", left, err)
	}
	if _, err := runCmd(t, "models", "prune", "--data-dir", dir, "--keep-last", "-1"); !errors.Is(err, errUsage) {
		t.Errorf("negative --keep-last: %v, want a usage error", err)
	}
}
