package predict

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/registry/registrytest"
)

// fallbackFixture is a registry of real trained models in a known
// directory: ETH/USDT h1 has champion vB over vA (its rollback target),
// h2 an intact champion of its own.
type fallbackFixture struct {
	dir    string
	reg    *registry.Registry
	vA, vB int
}

func newFallbackFixture(t *testing.T) (fallbackFixture, Config) {
	t.Helper()
	artA, artB := artifacts(t)
	dir := t.TempDir()
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := fallbackFixture{dir: dir, reg: reg}
	f.vA = registerChampion(t, reg, ethPair, 1, artA).Version
	f.vB = registerChampion(t, reg, ethPair, 1, artB).Version
	registerChampion(t, reg, ethPair, 2, artA)
	row := warmRow(t, 0)
	return f, Config{Registry: reg, Features: newLatest(row), Clock: &testClock{now: row.TS}}
}

func (f fallbackFixture) path(h, v int, file string) string {
	return filepath.Join(f.dir, "registry", "ETH-USDT", fmt.Sprintf("h%d", h), fmt.Sprintf("v%06d", v), file)
}

// Ways a model file goes bad on disk.
func truncateFile(t *testing.T, path string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, info.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func flipBytes(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 3; i < len(b)/3+16; i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFallbackOnCorruptChampion(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		damage  func(t *testing.T, f fallbackFixture)
		serving func(f fallbackFixture) int // the version that answers h1
		wanted  func(f fallbackFixture) int
		reason  string
	}{
		{"truncated champion: the previous one serves", func(t *testing.T, f fallbackFixture) {
			truncateFile(t, f.path(1, f.vB, "model.ubj"))
		}, vA, vB, "corrupt"},
		{"flipped bytes: the previous one serves", func(t *testing.T, f fallbackFixture) {
			flipBytes(t, f.path(1, f.vB, "model.ubj"))
		}, vA, vB, "corrupt"},
		{"unverified and truncated: XGBoost refuses it", func(t *testing.T, f fallbackFixture) {
			registrytest.StripChecksum(t, f.path(1, f.vB, "meta.json"))
			truncateFile(t, f.path(1, f.vB, "model.ubj"))
		}, vA, vB, "xgboost refuses"},
		{"missing file", func(t *testing.T, f fallbackFixture) {
			registrytest.Remove(t, f.path(1, f.vB, "model.ubj"))
		}, vA, vB, "not found"},
		{"champion and rollback target corrupt: the baseline serves", func(t *testing.T, f fallbackFixture) {
			truncateFile(t, f.path(1, f.vB, "model.ubj"))
			flipBytes(t, f.path(1, f.vA, "model.ubj"))
		}, zero, vB, "rollback target"},
		{"aliases garbage at start: the baseline serves", func(t *testing.T, f fallbackFixture) {
			writeGarbage(t, filepath.Join(f.dir, "registry", "ETH-USDT", "h1", "aliases.json"))
		}, zero, unknown, "aliases unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, cfg := newFallbackFixture(t)
			tt.damage(t, f)
			s := newService(t, cfg)
			p, err := s.Predict(ctx, "ETH-USDT", 1, Options{})
			if err != nil {
				t.Fatalf("predict h1: %v; want a fallback answer", err)
			}
			if p.Model.Version != tt.serving(f) || !p.Degraded || !strings.Contains(p.DegradedReason, tt.reason) {
				t.Errorf("h1 = v%d degraded %v %q; want v%d degraded, reason with %q",
					p.Model.Version, p.Degraded, p.DegradedReason, tt.serving(f), tt.reason)
			}
			ds := s.Degraded()
			if len(ds) != 1 || ds[0].Pair != "ETH-USDT" || ds[0].Horizon != 1 || ds[0].Serving != tt.serving(f) || ds[0].Wanted != tt.wanted(f) {
				t.Errorf("Degraded = %+v; want ETH-USDT h1 serving v%d wanted v%d", ds, tt.serving(f), tt.wanted(f))
			}
			if ok, why := s.Ready(); !ok {
				t.Errorf("not ready: %s", why)
			}
			// The other series of the pair is unaffected.
			if p, err := s.Predict(ctx, "ETH-USDT", 2, Options{}); err != nil || p.Degraded {
				t.Errorf("h2 = %+v, %v; want its champion, not degraded", p, err)
			}
		})
	}
}

func vA(f fallbackFixture) int    { return f.vA }
func vB(f fallbackFixture) int    { return f.vB }
func zero(fallbackFixture) int    { return 0 }
func unknown(fallbackFixture) int { return -1 }

func writeGarbage(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("{\"champion\": {\"version\": 3, garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// logCounter counts log records by message.
type logCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCounter) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[r.Message]++
	return nil
}
func (c *logCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCounter) WithGroup(string) slog.Handler      { return c }
func (c *logCounter) count(msg string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[msg]
}

// TestFallbackHotSwap: a corrupt champion promoted while serving, then
// garbage aliases, then a good champion — under Watch, with requests
// running: none fails, and each change is logged once.
func TestFallbackHotSwap(t *testing.T) {
	ctx := context.Background()
	f, cfg := newFallbackFixture(t)
	logs := &logCounter{n: map[string]int{}}
	cfg.Logger = slog.New(logs)
	s := newService(t, cfg)
	if p, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil || p.Model.Version != f.vB || p.Degraded {
		t.Fatalf("start: %+v, %v; want v%d", p, err, f.vB)
	}
	s.failRetry = 0 // retry the corrupt version every tick: its error must still be logged once
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { s.Watch(wctx, 2*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()

	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, h := range []int{1, 2} {
				if _, err := s.Predict(ctx, "ETH-USDT", h, Options{NoCache: true}); err != nil {
					failures = append(failures, err.Error())
				}
			}
		}
	})
	waitFor := func(what string, ok func(Prediction) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			p, err := s.Predict(ctx, "ETH-USDT", 1, Options{})
			if err == nil && ok(p) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: last %+v, %v", what, p, err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}

	artA, _ := artifacts(t)
	bad, err := f.reg.Register(ctx, registry.Meta{Pair: ethPair, Horizon: 1, Name: "xgboost"}, artA)
	if err != nil {
		t.Fatal(err)
	}
	truncateFile(t, f.path(1, bad.Version, "model.ubj"))
	if err := f.reg.SetAlias(ctx, ethPair, 1, registry.Champion, bad.Version, "test: corrupt"); err != nil {
		t.Fatal(err)
	}
	waitFor("corrupt champion: vB serves, degraded", func(p Prediction) bool { return p.Model.Version == f.vB && p.Degraded })
	time.Sleep(30 * time.Millisecond) // many watch ticks
	if n := logs.count("serving a fallback model"); n != 1 {
		t.Errorf("fallback logged %d times over many ticks, want once", n)
	}
	if n := logs.count("refresh champions"); n > 1 {
		t.Errorf("refresh error logged %d times, want at most once", n)
	}

	aliases := filepath.Join(f.dir, "registry", "ETH-USDT", "h1", "aliases.json")
	good, err := os.ReadFile(aliases)
	if err != nil {
		t.Fatal(err)
	}
	writeGarbage(t, aliases)
	waitFor("garbage aliases: what served keeps serving", func(p Prediction) bool {
		return p.Model.Version == f.vB && strings.Contains(p.DegradedReason, "aliases unreadable")
	})
	if err := os.WriteFile(aliases, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.SetAlias(ctx, ethPair, 1, registry.Champion, f.vA, "test: good again"); err != nil {
		t.Fatal(err)
	}
	waitFor("good champion: not degraded", func(p Prediction) bool { return p.Model.Version == f.vA && !p.Degraded })
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d requests failed, e.g. %s", len(failures), failures[0])
	}
	if len(s.Degraded()) != 0 {
		t.Errorf("Degraded = %+v after recovery", s.Degraded())
	}
}

// TestUnverifiedModelGetsChecksum: a version registered before checksums
// gets one recorded on its first load that XGBoost accepts.
func TestUnverifiedModelGetsChecksum(t *testing.T) {
	f, cfg := newFallbackFixture(t)
	registrytest.StripChecksum(t, f.path(1, f.vB, "meta.json"))
	s := newService(t, cfg)
	if p, err := s.Predict(context.Background(), "ETH-USDT", 1, Options{}); err != nil || p.Model.Version != f.vB || p.Degraded {
		t.Fatalf("%+v, %v; want v%d serving", p, err, f.vB)
	}
	m, err := f.reg.Get(context.Background(), ethPair, 1, "champion")
	if err != nil || len(m.SHA256) != 64 {
		t.Fatalf("champion sha256 = %q, %v; want one recorded", m.SHA256, err)
	}
	if state, err := f.reg.Check(context.Background(), m); state != registry.IntegrityOK {
		t.Errorf("Check = %s, %v", state, err)
	}
}
