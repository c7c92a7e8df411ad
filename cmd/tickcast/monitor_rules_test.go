package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every tickcast metric the alert rules (monitor/rules.yml) read is one the
// code registers: renaming a metric must not silently mute an alert.
func TestAlertRulesReadRegisteredMetrics(t *testing.T) {
	rules, err := os.ReadFile("../../monitor/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		src.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`\btickcast_[a-z_]+`).FindAllString(string(rules), -1)
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
		// Benthos timers are served as histograms in seconds (pipeline_metrics.go).
		if !strings.Contains(src.String(), `"`+base+`"`) && !strings.Contains(src.String(), `"`+strings.TrimSuffix(base, "_seconds")+`"`) {
			t.Errorf("monitor/rules.yml reads %s, which no code registers", name)
		}
	}
}
