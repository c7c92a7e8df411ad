package training

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
)

// The runs of a data directory, read back from their report folders
// (<data>/reports/<PAIR-SLUG>/h<h>/<run key>/, see ReportDir) and joined
// with the registry versions each one produced: what `tickcast runs` and
// GET /v1/runs show, like an experiment tracker. A folder that is not a
// finished run (no or unreadable metrics.json) is skipped with a reason.

// RunRef names a run: its pair's slug, horizon and run key. Its ID,
// <PAIR-SLUG>.h<h>.<run key>, is one URL path segment.
type RunRef struct {
	Pair    string `json:"pair"` // slug: BTC-USDT
	Horizon int    `json:"horizon"`
	Key     string `json:"key"`
}

// ID is the run's name in the CLI and the API.
func (r RunRef) ID() string { return r.Pair + ".h" + strconv.Itoa(r.Horizon) + "." + r.Key }

// ParseRunID reads an ID (or the folder's relative path, PAIR/hH/KEY).
func ParseRunID(id string) (RunRef, error) {
	parts := strings.SplitN(strings.ReplaceAll(id, "/", "."), ".", 3)
	if len(parts) != 3 {
		return RunRef{}, runIDError(id)
	}
	h, err := strconv.Atoi(strings.TrimPrefix(parts[1], "h"))
	pair, perr := market.NormalizePair(parts[0])
	if err != nil || perr != nil || h < 1 || !strings.HasPrefix(parts[1], "h") || !validKey(parts[2]) {
		return RunRef{}, runIDError(id)
	}
	return RunRef{Pair: market.PairSlug(pair), Horizon: h, Key: parts[2]}, nil
}

func runIDError(id string) error {
	return market.Errorf(market.CodeInvalid, "run id %q: want PAIR.hH.KEY (BTC-USDT.h1.20260101T000000Z-abcd1234)", id)
}

// validKey is a run key that names one folder, never a way out of it.
func validKey(k string) bool {
	return k != "" && k != "." && k != ".." && !strings.ContainsAny(k, `/\`) && filepath.Base(k) == k
}

// Dir is the run's report folder in data directory dataDir.
func (r RunRef) Dir(dataDir string) string {
	return filepath.Join(datadir.Reports(dataDir), r.Pair, "h"+strconv.Itoa(r.Horizon), r.Key)
}

// RunVersion is a registry version a run produced.
type RunVersion struct {
	Product string            `json:"product"` // return, vol, quantiles or p_up
	Version int               `json:"version"`
	Name    string            `json:"name"`
	Status  string            `json:"status"`
	Reason  string            `json:"reason,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
}

// RunProduct is one product's headline: its gate metric for the model
// and the strongest baseline, the skill with its 95% CI, and the gate's
// decision. The return model's gate is decided at registration, not in
// the report: Pass is nil and its registry status says what happened.
type RunProduct struct {
	Product      string `json:"product"`
	Metric       string `json:"metric"`
	Baseline     string `json:"baseline"`
	ModelLoss    jnum   `json:"model_loss"`
	BaselineLoss jnum   `json:"baseline_loss"`
	Skill        jnum   `json:"skill"`
	Lo           jnum   `json:"skill_lo"`
	Hi           jnum   `json:"skill_hi"`
	DMP          jnum   `json:"dm_p"`
	Pass         *bool  `json:"pass"`
	Serve        string `json:"serve,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// RunSummary is a run's line in a list.
type RunSummary struct {
	RunRef
	ID       string       `json:"id"`
	Time     time.Time    `json:"time"` // from the run key, else metrics.json's modification time
	Model    string       `json:"model"`
	Version  int          `json:"version"` // the return model's, as the report names it
	Trials   int          `json:"trials"`
	TestRows int          `json:"test_rows"`
	TestFrom time.Time    `json:"test_from"`
	TestTo   time.Time    `json:"test_to"`
	Products []RunProduct `json:"products"`
	Versions []RunVersion `json:"versions"`
}

// Run is everything a run's folder holds, read back.
type Run struct {
	RunSummary
	DataFrom   time.Time          `json:"data_from"`
	DataTo     time.Time          `json:"data_to"`
	Params     map[string]string  `json:"params"`
	History    []ml.TrialResult   `json:"tuning_history"`
	Metrics    ml.ReportMetrics   `json:"metrics"` // the return model's and its baselines'
	Details    *ProductsReport    `json:"product_details,omitempty"`
	Importance map[string]float64 `json:"importance"`
	Notes      []string           `json:"notes"`
	Plots      []string           `json:"plots"` // SVG file names in the folder
	Files      []string           `json:"files"`
}

// SkippedRun is a folder under the reports that is not a readable run.
type SkippedRun struct {
	Dir    string `json:"dir"` // relative to the reports directory
	Reason string `json:"reason"`
}

// RunList is the runs of a data directory, newest first.
type RunList struct {
	Runs    []RunSummary `json:"runs"`
	Skipped []SkippedRun `json:"skipped"`
}

// RunFilter narrows a list: zero values match everything.
type RunFilter struct {
	Pair    string // any spelling
	Horizon int
}

// ListRuns reads every run folder of dataDir; reg (nil: none) adds the
// versions each run registered. Unreadable folders are skipped, with why.
func ListRuns(ctx context.Context, dataDir string, reg *registry.Registry, f RunFilter) (RunList, error) {
	refs, skipped, err := runFolders(dataDir, f)
	if err != nil {
		return RunList{}, err
	}
	versions := runVersions(ctx, reg)
	out := RunList{Runs: []RunSummary{}, Skipped: skipped}
	for _, ref := range refs {
		run, err := readRun(dataDir, ref)
		if err != nil {
			out.Skipped = append(out.Skipped, SkippedRun{Dir: relDir(ref), Reason: err.Error()})
			continue
		}
		run.attach(versions[ref])
		out.Runs = append(out.Runs, run.RunSummary)
	}
	slices.SortStableFunc(out.Runs, func(a, b RunSummary) int { return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

// LoadRun reads one run by ID; a missing or unreadable run is not found.
func LoadRun(ctx context.Context, dataDir string, reg *registry.Registry, id string) (Run, error) {
	ref, err := ParseRunID(id)
	if err != nil {
		return Run{}, err
	}
	run, err := readRun(dataDir, ref)
	if err != nil {
		return Run{}, market.Errorf(market.CodeNotFound, "run %s: %v", id, err)
	}
	run.attach(runVersions(ctx, reg)[ref])
	return run, nil
}

// RunFile is the path of file name of run id, checked to be a regular
// file directly inside the run's folder (no other name resolves).
func RunFile(dataDir, id, name string) (string, error) {
	ref, err := ParseRunID(id)
	if err != nil {
		return "", err
	}
	if !validKey(name) || strings.HasPrefix(name, ".") {
		return "", market.Errorf(market.CodeInvalid, "run file %q: want a file name of the run's folder", name)
	}
	dir := ref.Dir(dataDir)
	path := filepath.Join(dir, name)
	real, err := filepath.EvalSymlinks(path)
	if err == nil {
		root, rerr := filepath.EvalSymlinks(datadir.Reports(dataDir))
		fi, serr := os.Stat(real)
		if rerr != nil || serr != nil || !fi.Mode().IsRegular() || !strings.HasPrefix(real, root+string(filepath.Separator)) {
			err = errors.New("not a file of the reports")
		}
	}
	if err != nil {
		return "", market.Errorf(market.CodeNotFound, "run %s: file %s: not found", id, name)
	}
	return path, nil
}

func relDir(r RunRef) string {
	return filepath.ToSlash(filepath.Join(r.Pair, "h"+strconv.Itoa(r.Horizon), r.Key))
}

// runFolders walks reports/<pair>/h<h>/<key>: the candidate runs, and the
// folders whose names cannot be runs.
func runFolders(dataDir string, f RunFilter) ([]RunRef, []SkippedRun, error) {
	var refs []RunRef
	skipped := []SkippedRun{}
	want := ""
	if f.Pair != "" {
		p, err := market.NormalizePair(f.Pair)
		if err != nil {
			return nil, nil, market.Errorf(market.CodeInvalid, "pair %q: %v", f.Pair, err)
		}
		want = market.PairSlug(p)
	}
	root := datadir.Reports(dataDir)
	for _, pair := range subdirs(root) {
		if want != "" && pair != want {
			continue
		}
		for _, hdir := range subdirs(filepath.Join(root, pair)) {
			for _, key := range subdirs(filepath.Join(root, pair, hdir)) {
				ref, err := ParseRunID(pair + "." + hdir + "." + key)
				switch {
				case err != nil || ref.Pair != pair || "h"+strconv.Itoa(ref.Horizon) != hdir:
					skipped = append(skipped, SkippedRun{Dir: pair + "/" + hdir + "/" + key,
						Reason: "not a run folder (want PAIR/hH/KEY, the pair as training spells it: BTC-USDT)"})
				case f.Horizon == 0 || ref.Horizon == f.Horizon:
					refs = append(refs, ref)
				}
			}
		}
	}
	return refs, skipped, nil
}

// subdirs lists the directories in dir (none when it cannot be read).
func subdirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// readRun reads a run's folder; an error says why it is not a run.
func readRun(dataDir string, ref RunRef) (Run, error) {
	dir := ref.Dir(dataDir)
	b, err := os.ReadFile(filepath.Join(dir, ml.FileMetrics))
	if errors.Is(err, fs.ErrNotExist) {
		return Run{}, errors.New("no " + ml.FileMetrics + " (the run did not finish, or failed)")
	} else if err != nil {
		return Run{}, fmt.Errorf("read %s: %w", ml.FileMetrics, err)
	}
	var rep ml.ReportFile
	if err := json.Unmarshal(b, &rep); err != nil {
		return Run{}, fmt.Errorf("%s: %w", ml.FileMetrics, err)
	}
	if rep.Pair == "" || rep.Horizon != ref.Horizon {
		return Run{}, fmt.Errorf("%s: pair %q horizon %d, not this folder's", ml.FileMetrics, rep.Pair, rep.Horizon)
	}
	run := newRun(ref, rep)
	if len(rep.Products) > 0 && string(rep.Products) != "null" {
		var p ProductsReport
		if err := json.Unmarshal(rep.Products, &p); err != nil {
			run.Notes = append(run.Notes, "the products section of "+ml.FileMetrics+" is unreadable: "+err.Error())
		} else {
			run.Details = &p
			run.Products = append(run.Products, productHeadlines(p)...)
		}
	}
	run.Time = runTime(ref.Key, filepath.Join(dir, ml.FileMetrics))
	run.Files, run.Plots = runFiles(dir)
	return run, nil
}

func newRun(ref RunRef, rep ml.ReportFile) Run {
	run := Run{RunSummary: RunSummary{RunRef: ref, ID: ref.ID(), Model: rep.Model, Version: rep.Version,
		Trials: len(rep.Trials), TestRows: rep.TestRows, TestFrom: rep.TestFrom, TestTo: rep.TestTo, Versions: []RunVersion{}},
		DataFrom: rep.DataFrom, DataTo: rep.DataTo, Params: rep.Params, History: rep.Trials, Metrics: rep.Metrics,
		Notes: rep.Notes, Importance: map[string]float64{}}
	for k, v := range rep.Importance {
		if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
			run.Importance[k] = f
		}
	}
	m, base := rep.Metrics.Model, rep.Metrics.Baselines[rep.SkillBaseline]
	run.Products = []RunProduct{{Product: registry.ProductName(registry.ProductReturn), Metric: "mae", Baseline: rep.SkillBaseline,
		ModelLoss: jnum(m.MAE), BaselineLoss: jnum(base.MAE), Skill: jnum(m.Skill), Lo: jnum(m.SkillLo), Hi: jnum(m.SkillHi),
		DMP: jnum(math.NaN())}}
	return run
}

func productHeadlines(p ProductsReport) []RunProduct {
	var out []RunProduct
	for _, g := range []struct {
		product string
		gate    GateDecision
	}{{ProductVol, p.Vol.Gate}, {ProductQuantiles, p.Quantiles.Gate}, {ProductPUp, p.PUp.Gate}} {
		pass := g.gate.Pass
		out = append(out, RunProduct{Product: g.product, Metric: g.gate.Metric, Baseline: g.gate.Baseline,
			ModelLoss: g.gate.ModelLoss, BaselineLoss: g.gate.BaselineLoss, Skill: g.gate.Skill, Lo: g.gate.Lo,
			Hi: g.gate.Hi, DMP: g.gate.DMP, Pass: &pass, Serve: g.gate.Serve, Reason: g.gate.Reason})
	}
	return out
}

// runTime is the start time a Train workflow's run key begins with, else
// the modification time of file.
func runTime(key, file string) time.Time {
	stamp, _, _ := strings.Cut(key, "-")
	if t, err := time.Parse("20060102T150405Z", stamp); err == nil {
		return t.UTC()
	}
	if fi, err := os.Stat(file); err == nil {
		return fi.ModTime().UTC().Truncate(time.Second)
	}
	return time.Time{}
}

func runFiles(dir string) (files, plots []string) {
	files, plots = []string{}, []string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		files = append(files, e.Name())
		if filepath.Ext(e.Name()) == ".svg" {
			plots = append(plots, e.Name())
		}
	}
	return files, plots
}

// attach adds the versions the run registered, and the return model's
// status to its headline.
func (r *Run) attach(vs []RunVersion) {
	r.Versions = append(r.Versions, vs...)
	for _, v := range vs {
		if v.Product == registry.ProductName(registry.ProductReturn) && v.Name == r.Model && len(r.Products) > 0 {
			r.Products[0].Serve, r.Products[0].Reason = v.Status, v.Reason
		}
	}
}

// runVersions indexes the registry's versions by the run folder they came
// from (its pair, horizon and key: ReportDir's spelling may differ).
func runVersions(ctx context.Context, reg *registry.Registry) map[RunRef][]RunVersion {
	out := map[RunRef][]RunVersion{}
	if reg == nil {
		return out
	}
	series, err := reg.Series(ctx)
	if err != nil {
		return out
	}
	for _, s := range series {
		metas, err := reg.ListIn(ctx, s)
		if err != nil {
			continue
		}
		for _, m := range metas {
			if m.ReportDir == "" || m.Version == 0 {
				continue
			}
			ref := RunRef{Pair: market.PairSlug(m.Pair), Horizon: m.Horizon, Key: filepath.Base(m.ReportDir)}
			out[ref] = append(out[ref], RunVersion{Product: registry.ProductName(m.Product), Version: m.Version, Name: m.Name,
				Status: m.Status, Reason: m.Reason, Params: m.Params})
		}
	}
	return out
}
