//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package connect

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A store writer killed (SIGKILL) inside a fenced write leaves the pair's
// lock taken and maybe a temporary fence file: neither holds up or misleads
// the next writer.

const envFenceHolder = "TICKCAST_TEST_FENCE_HOLDER"

// TestStoreFenceDeadHolder: a process killed while it holds a pair's fence
// lock (in admit's write) does not block the next writer, which raises the
// fence past the dead one's.
func TestStoreFenceDeadHolder(t *testing.T) {
	if dir := os.Getenv(envFenceHolder); dir != "" {
		holdFence(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreFenceDeadHolder$")
	cmd.Env = append(os.Environ(), envFenceHolder+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "holding" {
	}
	if sc.Text() != "holding" {
		t.Fatalf("the holder did not take the lock: %v", sc.Err())
	}
	admitted := make(chan error, 1)
	go func() {
		ok, held, err := storeFence{dir: dir}.admit("BTC/USD", 4, func() error { return nil })
		if err == nil && (!ok || held != 4) {
			err = fmt.Errorf("admit = %v, %d; want true, 4", ok, held)
		}
		admitted <- err
	}()
	select {
	case err := <-admitted:
		t.Fatalf("admitted while another process holds the lock (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-admitted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lock of a killed writer still blocks the next one")
	}
	if g, err := readFence(filepath.Join(dir, "BTC-USD.json")); g != 4 {
		t.Errorf("fence %d, %v; want 4", g, err)
	}
}

// holdFence (the holder process) takes BTC/USD's fence at generation 3,
// says so, and waits in the write for its SIGKILL.
func holdFence(dir string) {
	_, _, _ = storeFence{dir: dir}.admit("BTC/USD", 3, func() error {
		fmt.Println("holding")
		time.Sleep(time.Minute)
		return nil
	})
}

// TestStoreFenceRemovesDeadTemp: the temporary file of a fence write killed
// before its rename is removed by the pair's next admit; another pair's is
// left to that pair's.
func TestStoreFenceRemovesDeadTemp(t *testing.T) {
	dir := t.TempDir()
	dead, other := filepath.Join(dir, "BTC-USD.json.tmp-123"), filepath.Join(dir, "ETH-USD.json.tmp-456")
	for _, p := range []string{dead, other} {
		if err := os.WriteFile(p, []byte(`{"pair":"BT`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if ok, held, err := (storeFence{dir: dir}).admit("BTC/USD", 1, func() error { return nil }); !ok || held != 1 || err != nil {
		t.Fatalf("admit = %v, %d, %v; want true, 1", ok, held, err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dead write's %s is still there (%v)", dead, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another pair's temporary file: %v", err)
	}
}
