package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// The stage pipelines lint with our plugins registered; a broken one does not.
func TestLint(t *testing.T) {
	ctx := context.Background()
	if err := run(ctx, []string{"lint", "../../connect/pipelines/stage-candles.yaml"}, envOf(nil), io.Discard); err != nil {
		t.Fatalf("lint stage-candles.yaml: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("input:\n  no_such_input: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"lint", bad}, envOf(nil), io.Discard); err == nil {
		t.Error("lint of an unknown input passed")
	}
}

// As `tickcast connect run`: a fake Kraken's WebSocket without its REST base is
// refused before the pipeline starts.
func TestKrakenEnv(t *testing.T) {
	getenv := envOf(map[string]string{envKrakenWS: "ws://127.0.0.1:9000/v2"})
	err := run(context.Background(), []string{"run", "../../connect/pipelines/live.yaml"}, getenv, io.Discard)
	if err == nil || !strings.Contains(err.Error(), envKrakenREST) || !strings.Contains(err.Error(), "http://127.0.0.1:9000") {
		t.Errorf("err = %v, want one naming %s and the fake's REST base", err, envKrakenREST)
	}
	if err := checkKrakenEnv(getenv, []string{"lint", "live.yaml"}); err != nil {
		t.Errorf("lint checked the endpoints: %v", err)
	}
}
