// Package redistest runs a real redis-server for one test: no mocks, no
// shared server, nothing left behind.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// EnvRequire names the variable that turns a missing redis-server from a
// skip into a failure (CI sets it: there the server must be installed).
const EnvRequire = "TICKCAST_REQUIRE_SERVICES"

const startTimeout = 5 * time.Second

// Server is a redis-server owned by one test. Its methods are meant for the
// test's goroutine.
type Server struct {
	// Addr is host:port on loopback; it stays the same across Restart.
	Addr string

	tb     testing.TB
	bin    string
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts a redis-server and returns its address; the server stops at
// cleanup.
func Start(tb testing.TB) (addr string) {
	tb.Helper()
	return StartServer(tb).Addr
}

// StartServer starts a redis-server (no persistence, loopback only, in
// tb.TempDir()) and waits until it answers PING. Without redis-server it
// skips tb, or fails it when $TICKCAST_REQUIRE_SERVICES is 1.
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("redis-server not found (%v) and %s=1: install redis-server (make deps)", err, EnvRequire)
		}
		tb.Skip("redis-server not found: install redis-server (make deps)")
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir()}
	tb.Cleanup(s.Stop)
	// Another process may take the free port between probe and bind: retry.
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err == nil {
			s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
			if err = s.start(); err == nil {
				return s
			}
		}
		if attempt == 3 {
			tb.Fatalf("start redis-server: %v", err)
		}
	}
}

// Stop kills the server and waits for it to exit; clients see connections
// refused. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot die
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Pause freezes the server (SIGSTOP): connections stay open but nothing is
// answered, the case that makes clients hang without timeouts.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

// Restart stops the server and starts an empty one on the same address.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.tb.Fatalf("restart redis-server: %v", err)
	}
}

func (s *Server) signal(sig syscall.Signal) {
	s.tb.Helper()
	if s.cmd == nil {
		s.tb.Fatalf("redis-server %s is not running", s.Addr)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("signal redis-server: %v", err)
	}
}

func (s *Server) start() error {
	logFile := filepath.Join(s.dir, fmt.Sprintf("redis-%d.log", s.port))
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--logfile", logFile)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	if err := waitPing(s.Addr, exited); err != nil {
		s.Stop()
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("redis-server on %s: %w\n%s", s.Addr, err, tail(string(log), 2000))
	}
	return nil
}

// waitPing polls addr with a raw PING until it answers +PONG.
func waitPing(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := ping(addr)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before answering PING (%w)", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %v: %w", startTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
