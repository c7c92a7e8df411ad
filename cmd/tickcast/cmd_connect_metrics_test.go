package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A pipeline run alone (`tickcast connect run`) that selects the
// tickcast_prometheus exporter, as the stage pipelines do, is scraped at
// its http.address /metrics.
func TestConnectRunServesMetrics(t *testing.T) {
	addr := freeAddr(t)
	file := filepath.Join(t.TempDir(), "p.yaml")
	yaml := `input:
  generate: { mapping: 'root = "x"', interval: 10ms }
output:
  drop: {}
metrics:
  tickcast_prometheus: {}
http:
  address: "` + addr + `"
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var out, errOut bytes.Buffer
		done <- run(ctx, []string{"connect", "run", file}, func(string) string { return "" }, &out, &errOut)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Logf("connect run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("connect run did not stop")
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := httpGet("http://" + addr + "/metrics")
		if code == 200 && strings.Contains(string(body), "benthos_input_received") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics: %d %.300s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
