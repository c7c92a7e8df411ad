package redistest_test

import (
	"net"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/redistest"
)

func dials(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func TestServerLifecycle(t *testing.T) {
	s := redistest.StartServer(t)
	if !dials(s.Addr) {
		t.Fatal("started server refuses connections")
	}
	s.Stop()
	if dials(s.Addr) {
		t.Error("stopped server accepts connections")
	}
	s.Stop() // idempotent
	s.Restart()
	if !dials(s.Addr) {
		t.Error("restarted server refuses connections on the same address")
	}
	if a, b := redistest.Start(t), redistest.Start(t); a == b || a == s.Addr {
		t.Errorf("servers share an address: %s %s %s", a, b, s.Addr)
	}
}
