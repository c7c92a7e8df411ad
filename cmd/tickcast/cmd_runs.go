package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/training"
)

// runsFlags are the flags of the runs actions.
type runsFlags struct {
	dataDir, pair, format string
	horizon               int
}

// cmdRuns browses the training runs of a data directory (their report
// folders joined with the registry versions they produced).
func cmdRuns(ctx context.Context, e env, args []string) error {
	actions := map[string]struct {
		args int
		run  func(context.Context, env, *registry.Registry, runsFlags, []string) error
	}{"list": {0, runsList}, "show": {1, runsShow}, "compare": {2, runsCompare}}
	if len(args) == 0 {
		return fmt.Errorf("runs: want list, show RUN or compare RUN_A RUN_B: %w", errUsage)
	}
	act, ok := actions[args[0]]
	if !ok {
		return fmt.Errorf("runs: want list, show RUN or compare RUN_A RUN_B: %w", errUsage)
	}
	f, pos, err := runsParse(e, args[0], args[1:])
	if err != nil {
		return err
	}
	if len(pos) != act.args {
		return fmt.Errorf("runs %s: want %d run ID(s), got %d: %w", args[0], act.args, len(pos), errUsage)
	}
	reg, err := registry.Open(f.dataDir)
	if err != nil {
		reg = nil // the runs are listed without their versions
	}
	if err := act.run(ctx, e, reg, f, pos); err != nil {
		return fmt.Errorf("runs %s: %w", args[0], err)
	}
	return nil
}

// runsParse reads the flags, before or after the positional arguments.
func runsParse(e env, action string, args []string) (runsFlags, []string, error) {
	fs := flag.NewFlagSet("runs "+action, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f runsFlags
	fs.StringVar(&f.dataDir, "data-dir", "./data", "data directory; the runs are DATA_DIR/reports/PAIR/hH/RUN")
	fs.StringVar(&f.format, "format", "table", "table or json")
	if action == "list" {
		fs.StringVar(&f.pair, "pair", "", "only this pair, any spelling")
		fs.IntVar(&f.horizon, "horizon", 0, "only this horizon (0: all)")
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return f, nil, errUsage
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if f.format != "table" && f.format != "json" {
		return f, nil, fmt.Errorf("runs %s: --format %q: want table or json: %w", action, f.format, errUsage)
	}
	return f, pos, nil
}

func runsList(ctx context.Context, e env, reg *registry.Registry, f runsFlags, _ []string) error {
	list, err := training.ListRuns(ctx, f.dataDir, reg, training.RunFilter{Pair: f.pair, Horizon: f.horizon})
	if err != nil {
		return err
	}
	for _, s := range list.Skipped {
		fmt.Fprintf(e.stderr, "skipped %s: %s\n", s.Dir, s.Reason)
	}
	if f.format == "json" {
		return modelsJSON(e.stdout, list)
	}
	if len(list.Runs) == 0 {
		fmt.Fprintf(e.stderr, "no runs in %s\n", datadir.Reports(f.dataDir))
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tTIME\tTRIALS\tVERSIONS\tRETURN\tVOL\tQUANTILES\tP_UP")
	for _, r := range list.Runs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s", r.ID, runsTime(r.Time), r.Trials, runsVersions(r.Versions))
		for _, p := range []string{registry.ProductReturn, registry.ProductVol, registry.ProductQuantiles, registry.ProductPUp} {
			fmt.Fprintf(tw, "\t%s", runsHeadline(r.Products, p))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func runsTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

// runsVersions lists the versions a run registered: return:v3(champion)
// vol:v5(retired) …; named, with the kind of model: vol:v5 har-rv (retired).
func runsVersions(vs []training.RunVersion, named ...bool) string {
	if len(vs) == 0 {
		return "-"
	}
	var out []string
	for _, v := range vs {
		if len(named) > 0 && named[0] {
			out = append(out, fmt.Sprintf("%s:v%d %s (%s)", v.Product, v.Version, v.Name, v.Status))
			continue
		}
		out = append(out, fmt.Sprintf("%s:v%d(%s)", v.Product, v.Version, v.Status))
	}
	return strings.Join(out, " ")
}

// runsHeadline is a product's skill against its strongest baseline with
// the gate's decision, in one cell.
func runsHeadline(ps []training.RunProduct, product string) string {
	i := slices.IndexFunc(ps, func(p training.RunProduct) bool { return p.Product == product })
	if i < 0 {
		return "-"
	}
	p := ps[i]
	return training.SkillCI(p.Skill, p.Lo, p.Hi) + " " + p.GateWord()
}

func runsShow(ctx context.Context, e env, reg *registry.Registry, f runsFlags, pos []string) error {
	run, err := training.LoadRun(ctx, f.dataDir, reg, pos[0])
	if err != nil {
		return err
	}
	if f.format == "json" {
		return modelsJSON(e.stdout, run)
	}
	w := e.stdout
	fmt.Fprintf(w, "run       %s\ntime      %s\nfolder    %s\nmodel     %s v%d\n", run.ID, runsTime(run.Time),
		run.Dir(f.dataDir), run.Model, run.Version)
	fmt.Fprintf(w, "data      %s → %s\ntest      %s → %s (%d rows)\n", runsTime(run.DataFrom), runsTime(run.DataTo),
		runsTime(run.TestFrom), runsTime(run.TestTo), run.TestRows)
	fmt.Fprintf(w, "versions  %s\n\nparams\n", runsVersions(run.Versions, true))
	runsParams(w, run.Params)
	fmt.Fprintln(w, "\nproducts (gate metric vs the strongest baseline, skill [95% CI])")
	runsProducts(w, run.Products)
	fmt.Fprintf(w, "\ntuning history (%d trials)\n", len(run.History))
	runsHistory(w, run.History)
	fmt.Fprintf(w, "\nplots     %s\nfiles     %s\n", strings.Join(run.Plots, " "), strings.Join(run.Files, " "))
	for _, n := range run.Notes {
		fmt.Fprintf(w, "note      %s\n", n)
	}
	return nil
}

func runsParams(w io.Writer, params map[string]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, params[k])
	}
	tw.Flush()
}

func runsProducts(w io.Writer, ps []training.RunProduct) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PRODUCT\tMETRIC\tMODEL\tBASELINE\tBASELINE_LOSS\tSKILL [CI]\tDM_P\tGATE")
	for _, p := range ps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Product, p.Metric, runsNum(float64(p.ModelLoss)), p.Baseline,
			runsNum(float64(p.BaselineLoss)), training.SkillCI(p.Skill, p.Lo, p.Hi), runsNum(float64(p.DMP)), p.GateWord())
	}
	tw.Flush()
	for _, p := range ps {
		if p.Reason != "" {
			fmt.Fprintf(w, "  %s: %s\n", p.Product, p.Reason)
		}
	}
}

func runsHistory(w io.Writer, trials []ml.TrialResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TRIAL\tRUNG\tCV_MAE\tROUNDS\tSECONDS\tPARAMS")
	for _, t := range trials {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%d\t%.1f\t%s\n", t.ID, t.Rung, runsNum(t.Score), t.Rounds, t.Duration.Seconds(), runsKV(t.Params.XGB()))
	}
	tw.Flush()
}

func runsKV(m map[string]string) string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func runsNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func runsCompare(ctx context.Context, e env, reg *registry.Registry, f runsFlags, pos []string) error {
	a, err := training.LoadRun(ctx, f.dataDir, reg, pos[0])
	if err != nil {
		return err
	}
	b, err := training.LoadRun(ctx, f.dataDir, reg, pos[1])
	if err != nil {
		return err
	}
	c := training.CompareRuns(a, b)
	if f.format == "json" {
		return modelsJSON(e.stdout, c)
	}
	w := e.stdout
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\tA\tB\n  run\t%s\t%s\n  time\t%s\t%s\n  trials\t%d\t%d\n  versions\t%s\t%s\n", a.ID, b.ID,
		runsTime(a.Time), runsTime(b.Time), a.Trials, b.Trials, runsVersions(a.Versions), runsVersions(b.Versions))
	fmt.Fprintln(tw, "params\t\t")
	for _, p := range c.Params {
		mark := ""
		if p.Differs {
			mark = "  ≠"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", p.Name, p.A, p.B, mark)
	}
	fmt.Fprintln(tw, "gates\t\t")
	for _, p := range a.Products {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Product, p.GateWord(), runsGate(b.Products, p.Product))
	}
	fmt.Fprintln(tw, "skills (skill [95% CI])\t\t")
	for _, s := range c.Skills {
		fmt.Fprintf(tw, "  %s %s vs %s\t%s\t%s\n", s.Product, s.Metric, s.Baseline, runsSkill(s.A), runsSkill(s.B))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "differences")
	for _, d := range c.Differences {
		fmt.Fprintf(w, "  %s\n", d)
	}
	return nil
}

func runsGate(ps []training.RunProduct, product string) string {
	i := slices.IndexFunc(ps, func(p training.RunProduct) bool { return p.Product == product })
	if i < 0 {
		return "-"
	}
	return ps[i].GateWord()
}

func runsSkill(c *training.Comparison) string {
	if c == nil {
		return "-"
	}
	return training.SkillCI(c.Skill, c.Lo, c.Hi)
}
