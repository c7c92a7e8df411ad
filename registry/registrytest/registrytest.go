// Package registrytest damages a registry's files on disk, for the tests
// of the registry and of what loads from it.
package registrytest

import (
	"encoding/json"
	"os"
	"testing"
)

// StripChecksum rewrites the meta.json at path as versions registered
// before checksums were: without its sha256.
func StripChecksum(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "sha256")
	if b, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Remove deletes the file at path.
func Remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
