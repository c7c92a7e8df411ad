package training_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/training"
	"github.com/tickcast/tickcast/training/trainingtest"
)

// Two real runs on the real week: listed newest first with their
// registered versions and every product's gate, loaded with the tuning
// history and plots, compared side by side.
func TestRunsRealWeek(t *testing.T) {
	dir := t.TempDir()
	ids := trainingtest.Runs(t, dir)
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, err := training.ListRuns(t.Context(), dir, reg, training.RunFilter{Pair: "eth-usdt", Horizon: 1})
	if err != nil || len(list.Runs) != 2 || len(list.Skipped) != 0 {
		t.Fatalf("list %+v (%v)", list, err)
	}
	newest := list.Runs[0]
	if newest.ID != ids[1] || newest.Trials != 2 || len(newest.Products) != 4 || len(newest.Versions) != 7 {
		t.Errorf("newest run %+v", newest)
	}
	for _, p := range newest.Products[1:] {
		if p.Pass == nil || p.Reason == "" || p.Baseline == "" {
			t.Errorf("product headline %+v", p)
		}
	}
	if p := newest.Products[0]; p.Product != "return" || p.Serve == "" || p.Baseline != ml.BaselineZero {
		t.Errorf("return headline %+v", p)
	}
	run, err := training.LoadRun(t.Context(), dir, reg, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(run.History) != 2 || run.Details == nil || len(run.Plots) < 4 || run.Params["max_depth"] == "" ||
		!slices.Contains(run.Files, ml.FilePredictions) || len(run.Details.Vol.Skills) == 0 {
		t.Errorf("run %+v", run)
	}
	if _, err := json.Marshal(run); err != nil {
		t.Errorf("the run does not encode: %v", err)
	}
	other, err := training.LoadRun(t.Context(), dir, reg, strings.ReplaceAll(ids[1], ".", "/"))
	if err != nil {
		t.Fatal(err)
	}
	c := training.CompareRuns(run, other)
	if !slices.ContainsFunc(c.Params, func(p training.ParamPair) bool { return p.Name == "max_depth" && p.Differs }) ||
		len(c.Skills) < 7 || c.Skills[0].Product != "return" || c.Skills[0].A == nil || c.Skills[0].B == nil {
		t.Errorf("comparison %+v", c)
	}
	if !slices.ContainsFunc(c.Differences, func(s string) bool { return strings.HasPrefix(s, "param max_depth") }) {
		t.Errorf("differences %q", c.Differences)
	}
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("the comparison does not encode: %v", err)
	}
}
