package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A pipeline run alone (`tickcast connect run`, a process of its own) that
// selects the tickcast_prometheus exporter, as the stage pipelines do, is
// scraped at its http.address /metrics, and stops on SIGINT.
func TestConnectRunServesMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: builds and runs the binary")
	}
	bin := buildTickcast(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	file := filepath.Join(t.TempDir(), "p.yaml")
	yaml := "input:\n  generate: { mapping: 'root = \"x\"', interval: 10ms }\noutput:\n  drop: {}\n" +
		"metrics:\n  tickcast_prometheus: {}\nhttp:\n  address: \"" + addr + "\"\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "connect", "run", file)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("tickcast connect run exited with %v after SIGINT", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("tickcast connect run did not stop within 20s of SIGINT")
		}
	}()
	c := http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := c.Get("http://" + addr + "/metrics"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), "benthos_input_received") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("/metrics never served benthos_input_received")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
