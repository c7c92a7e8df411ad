package training

import (
	"os/exec"
	"strings"
	"testing"
)

// training knows nothing of Temporal, directly or through what it imports:
// the activities are the only Temporal code over it.
func TestNoTemporal(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "go.temporal.io/") {
			t.Errorf("training depends on %s", p)
		}
	}
}
