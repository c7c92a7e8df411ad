package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tickcast/tickcast/registry/registrytest"
)

// The artifacts here are hand-written bytes: the registry checks them
// opaquely. predict's tests corrupt real trained models.

func TestRegisterRecordsChecksum(t *testing.T) {
	r, _ := openTest(t)
	m := mustRegister(t, r, xgbMeta("BTC/USD", 0.0004), []byte("model bytes"))
	if want := checksum([]byte("model bytes")); m.SHA256 != want || len(want) != 64 {
		t.Fatalf("SHA256 = %q, want %q", m.SHA256, want)
	}
	got, err := r.Get(context.Background(), "BTC/USD", 1, "1")
	if err != nil || got.SHA256 != m.SHA256 {
		t.Fatalf("Get = %q, %v; want the checksum stored", got.SHA256, err)
	}
	b, err := r.EnsureBaseline(context.Background(), "BTC/USD", 1)
	if err != nil || b.SHA256 != "" {
		t.Fatalf("baseline SHA256 = %q, %v; want none", b.SHA256, err)
	}
}

func TestArtifactIntegrity(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		damage  func(t *testing.T, path string)
		legacy  bool // meta.json without sha256, as before checksums
		state   string
		corrupt bool // Artifact fails with ErrCorrupt
		fails   bool // Artifact fails
	}{
		{"intact", nil, false, IntegrityOK, false, false},
		{"one byte flipped", flip, false, IntegrityMismatch, true, true},
		{"truncated", truncate, false, IntegrityMismatch, true, true},
		{"missing", registrytest.Remove, false, IntegrityUnreadable, false, true},
		{"legacy intact", nil, true, IntegrityUnverified, false, false},
		{"legacy flipped", flip, true, IntegrityUnverified, false, false}, // nothing to check against
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, dir := openTest(t)
			m := mustRegister(t, r, xgbMeta("ETH/USDT", 0.0004), []byte("0123456789abcdef"))
			vdir := filepath.Join(dir, "registry", "ETH-USDT", "h1", "v000001")
			if tt.legacy {
				registrytest.StripChecksum(t, filepath.Join(vdir, "meta.json"))
				m.SHA256 = ""
			}
			if tt.damage != nil {
				tt.damage(t, filepath.Join(vdir, "model.ubj"))
			}
			state, err := r.Check(ctx, m)
			if state != tt.state {
				t.Errorf("Check = %s, %v; want %s", state, err, tt.state)
			}
			_, err = r.Artifact(ctx, m)
			if (err != nil) != tt.fails || errors.Is(err, ErrCorrupt) != tt.corrupt {
				t.Errorf("Artifact err = %v; want failure %v, corrupt %v", err, tt.fails, tt.corrupt)
			}
		})
	}
}

func TestRecordChecksum(t *testing.T) {
	ctx := context.Background()
	r, dir := openTest(t)
	art := []byte("0123456789abcdef")
	mustRegister(t, r, xgbMeta("ETH/USDT", 0.0004), art)
	registrytest.StripChecksum(t, filepath.Join(dir, "registry", "ETH-USDT", "h1", "v000001", "meta.json"))
	if err := r.RecordChecksum(ctx, "ETH/USDT", 1, 1, art); err != nil {
		t.Fatal(err)
	}
	m, err := r.Get(ctx, "ETH/USDT", 1, "1")
	if err != nil || m.SHA256 != checksum(art) {
		t.Fatalf("after RecordChecksum: %q, %v", m.SHA256, err)
	}
	if err := r.RecordChecksum(ctx, "ETH/USDT", 1, 1, art); err != nil {
		t.Errorf("recording the same checksum again: %v", err)
	}
	if err := r.RecordChecksum(ctx, "ETH/USDT", 1, 1, []byte("other")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("recording another checksum: %v, want ErrCorrupt", err)
	}
}

func flip(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string) {
	t.Helper()
	if err := os.Truncate(path, 5); err != nil {
		t.Fatal(err)
	}
}
