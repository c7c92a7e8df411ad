package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/registry"
)

// modelsFlags are the flags of every models action (each uses a subset).
type modelsFlags struct {
	dataDir, pair, format string
	horizon               int
	product               string // registry spelling: "" is return
	horizonSet, all       bool
	productSet            bool
	reason, alias         string
	keepLast, keepDays    int
	apply                 bool
}

// cmdModels reads and switches the model registry of a data directory.
func cmdModels(ctx context.Context, e env, args []string) error {
	actions := map[string]func(context.Context, env, *registry.Registry, *modelsFlags, []string) error{
		"list": modelsList, "show": modelsShow, "promote": modelsPromote, "rollback": modelsRollback, "prune": modelsPrune,
	}
	if len(args) == 0 || actions[args[0]] == nil {
		return fmt.Errorf("models: want list, show, promote, rollback or prune: %w", errUsage)
	}
	f, pos, err := modelsParse(e, args[0], args[1:])
	if err != nil {
		return err
	}
	reg, err := registry.Open(f.dataDir)
	if err != nil {
		return err
	}
	if err := actions[args[0]](ctx, e, reg, f, pos); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return fmt.Errorf("models %s: %w (registry %s)", args[0], err, datadir.Registry(f.dataDir))
		}
		return fmt.Errorf("models %s: %w", args[0], err)
	}
	return nil
}

// modelsParse parses the flags of an action, which may come before or
// after its positional argument (models show champion --pair P).
func modelsParse(e env, action string, args []string) (*modelsFlags, []string, error) {
	fs := flag.NewFlagSet("models "+action, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &modelsFlags{}
	fs.StringVar(&f.dataDir, "data-dir", "./data", "data directory; the registry is DATA_DIR/registry")
	fs.StringVar(&f.pair, "pair", "", "pair, any spelling (ETH/USDT, ETHUSDT, eth-usdt)")
	fs.IntVar(&f.horizon, "horizon", 1, "candles ahead the models predict")
	fs.StringVar(&f.product, "product", registry.ProductReturn, "what the models forecast: return, vol, quantiles or p_up (list and prune: every product without it)")
	fs.StringVar(&f.format, "format", "text", "text or json")
	switch action {
	case "list":
		fs.BoolVar(&f.all, "all", false, "every pair and horizon (the default without --pair)")
	case "promote":
		fs.StringVar(&f.reason, "reason", "", "why, recorded in the alias history")
	case "rollback":
		fs.StringVar(&f.alias, "alias", registry.Champion, "alias to move back: champion or challenger")
	case "prune":
		fs.IntVar(&f.keepLast, "keep-last", registry.DefaultKeepLast, "keep the newest N versions per pair × horizon besides the champions and challengers (0: none)")
		fs.IntVar(&f.keepDays, "keep-days", int(registry.DefaultKeepFor/(24*time.Hour)), "keep versions younger than D days (0: none)")
		fs.BoolVar(&f.apply, "apply", false, "delete; without it prune only lists what it would delete")
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, errUsage
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	fs.Visit(func(fl *flag.Flag) {
		f.horizonSet = f.horizonSet || fl.Name == "horizon"
		f.productSet = f.productSet || fl.Name == "product"
	})
	p, err := registry.NormalizeProduct(f.product)
	if err != nil {
		return nil, nil, fmt.Errorf("models %s: --product: %w: %w", action, err, errUsage)
	}
	f.product = p
	if f.format != "text" && f.format != "json" {
		return nil, nil, fmt.Errorf("models %s: --format %q: want text or json: %w", action, f.format, errUsage)
	}
	if f.pair != "" {
		p, err := market.NormalizePair(f.pair)
		if err != nil {
			return nil, nil, fmt.Errorf("models %s: --pair: %w: %w", action, err, errUsage)
		}
		f.pair = p
	} else if action != "list" && action != "prune" {
		return nil, nil, fmt.Errorf("models %s: --pair is required: %w", action, errUsage)
	}
	return f, pos, nil
}

// modelsOnePos checks the positional arguments of an action.
func modelsOnePos(action string, pos []string, want string) (string, error) {
	if len(pos) != 1 {
		return "", fmt.Errorf("models %s: want one argument, %s, got %d: %w", action, want, len(pos), errUsage)
	}
	return pos[0], nil
}

// modelsList prints the versions of one series, of every horizon of a
// pair (without --horizon), or of every series (without --pair or --all).
func modelsList(ctx context.Context, e env, reg *registry.Registry, f *modelsFlags, pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("models list: unexpected arguments %v: %w", pos, errUsage)
	}
	all, err := reg.Series(ctx)
	if err != nil {
		return err
	}
	var series []registry.Series
	for _, s := range all {
		if f.productSet && s.Product != f.product {
			continue
		}
		if f.all || f.pair == "" || (s.Pair == f.pair && (!f.horizonSet || s.Horizon == f.horizon)) {
			series = append(series, s)
		}
	}
	if len(series) == 0 && f.pair != "" && !f.all {
		return fmt.Errorf("no models registered for %s: %w", modelsWhich(f), registry.ErrNotFound)
	}
	metas := []modelsChecked{} // json: [] rather than null when empty
	bad := 0
	for _, s := range series {
		ms, err := reg.ListIn(ctx, s)
		if err != nil {
			return err
		}
		for _, m := range ms {
			c := modelsCheck(ctx, reg, m)
			if c.bad() {
				bad++
			}
			metas = append(metas, c)
		}
	}
	if bad > 0 {
		fmt.Fprintf(e.stderr, "warning: %d model(s) fail their integrity check; serving falls back from such a champion (see /readyz)\n", bad)
	}
	if f.format == "json" {
		return modelsJSON(e.stdout, metas)
	}
	if len(metas) == 0 {
		fmt.Fprintf(e.stderr, "no models in %s\n", datadir.Registry(f.dataDir))
		return nil
	}
	return modelsTable(e.stdout, metas)
}

func modelsWhich(f *modelsFlags) string {
	w := f.pair
	if f.horizonSet {
		w = fmt.Sprintf("%s h%d", f.pair, f.horizon)
	}
	if f.productSet {
		w += " " + registry.ProductName(f.product)
	}
	return w
}

// series is the one series of the flags (show, promote, rollback).
func (f *modelsFlags) series() registry.Series {
	return registry.Series{Pair: f.pair, Horizon: f.horizon, Product: f.product}
}

func modelsTable(w io.Writer, metas []modelsChecked) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PAIR\tH\tPRODUCT\tVERSION\tNAME\tSTATUS\tMODEL_MAE\tBASELINE_MAE\tSKILL\tDIR_ACC\tCREATED\tINTEGRITY")
	for _, c := range metas {
		m := c.Meta
		fmt.Fprintf(tw, "%s\t%d\t%s\tv%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Pair, m.Horizon, registry.ProductName(m.Product), m.Version, m.Name, m.Status,
			modelsMetric(m, "model_mae", 'g'), modelsMetric(m, "baseline_mae", 'g'),
			modelsMetric(m, "skill", 'f'), modelsMetric(m, "dir_acc", 'f'), m.CreatedAt.Format(time.RFC3339), c.flag())
	}
	return tw.Flush()
}

// modelsMetric formats a metric: MAEs of log returns are tiny, so with 4
// significant digits ('g'); ratios with 4 decimals ('f'); "-" when absent.
func modelsMetric(m registry.Meta, key string, format byte) string {
	v, ok := m.Metrics[key]
	if !ok {
		return "-"
	}
	if format == 'g' {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

func modelsJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// modelsShow prints one version: champion, challenger, latest or a number.
func modelsShow(ctx context.Context, e env, reg *registry.Registry, f *modelsFlags, pos []string) error {
	ref, err := modelsOnePos("show", pos, "champion, challenger, latest or a version number")
	if err != nil {
		return err
	}
	m, err := reg.GetIn(ctx, f.series(), ref)
	if err != nil {
		return err
	}
	tuning := modelsReadTuning(m.ReportDir)
	c := modelsCheck(ctx, reg, m)
	if c.bad() {
		fmt.Fprintf(e.stderr, "warning: v%d fails its integrity check (%s): serving falls back from it as champion\n", m.Version, c.flag())
	}
	if f.format == "json" {
		return modelsJSON(e.stdout, modelsShown{modelsChecked: c, Tuning: tuning})
	}
	if err := modelsDescribe(e.stdout, c); err != nil {
		return err
	}
	return modelsDescribeTuning(e.stdout, tuning)
}

// modelsShown is a version as `models show --format json` prints it: the
// registry's record, its integrity, and the tuning results kept in its report.
type modelsShown struct {
	modelsChecked
	Tuning *modelsTuning `json:"tuning,omitempty"`
}

// modelsTuning summarises a training run's trials (params, CV scores, durations).
type modelsTuning struct {
	Trials int              `json:"trials"`
	Top    []ml.TrialResult `json:"top"`
}

// modelsTopTrials is how many of the best trials show prints.
const modelsTopTrials = 10

// modelsReadTuning reads the trials from the report's metrics.json; a
// version without a report (the baseline) or an unreadable one has none.
func modelsReadTuning(reportDir string) *modelsTuning {
	if reportDir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(reportDir, ml.FileMetrics))
	if err != nil {
		return nil
	}
	var r struct {
		Trials []ml.TrialResult `json:"trials"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Trials) == 0 {
		return nil
	}
	return &modelsTuning{Trials: len(r.Trials), Top: ml.TopK(r.Trials, modelsTopTrials)}
}

func modelsDescribeTuning(w io.Writer, t *modelsTuning) error {
	if t == nil {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\ntuning: %d trial runs, best %d by walk-forward CV MAE\n", t.Trials, len(t.Top))
	fmt.Fprintln(tw, "TRIAL\tRUNG\tCV_MAE\tROUNDS\tDURATION\tMAX_DEPTH\tETA\tSUBSAMPLE\tCOLSAMPLE\tMIN_CHILD_W")
	for _, r := range t.Top {
		fmt.Fprintf(tw, "%d\t%d\t%.6g\t%d\t%s\t%d\t%.4g\t%.3g\t%.3g\t%.3g\n", r.ID, r.Rung, r.Score, r.Rounds,
			r.Duration.Round(time.Millisecond), r.Params.MaxDepth, r.Params.Eta, r.Params.Subsample, r.Params.ColsampleBytree, r.Params.MinChildWeight)
	}
	return tw.Flush()
}

func modelsDescribe(w io.Writer, c modelsChecked) error {
	m := c.Meta
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s h%d v%d %s\n", m.Pair, m.Horizon, m.Version, m.Name)
	fmt.Fprintf(tw, "product\t%s\n", registry.ProductName(m.Product))
	fmt.Fprintf(tw, "status\t%s\n", m.Status)
	if m.Reason != "" {
		fmt.Fprintf(tw, "reason\t%s\n", m.Reason)
	}
	fmt.Fprintf(tw, "created\t%s (code %s, feature schema %d)\n", m.CreatedAt.Format(time.RFC3339), m.CodeVersion, m.FeatureSchemaVersion)
	if !m.DataFrom.IsZero() || !m.DataTo.IsZero() {
		fmt.Fprintf(tw, "data\t%s … %s\n", m.DataFrom.Format(time.RFC3339), m.DataTo.Format(time.RFC3339))
	}
	if !m.TestFrom.IsZero() || !m.TestTo.IsZero() {
		fmt.Fprintf(tw, "test window\t%s … %s\n", m.TestFrom.Format(time.RFC3339), m.TestTo.Format(time.RFC3339))
	}
	if m.Artifact != "" {
		fmt.Fprintf(tw, "artifact\t%s (sha256 %s)\n", m.Artifact, cmp.Or(m.SHA256, "not recorded"))
	}
	fmt.Fprintf(tw, "integrity\t%s\n", c.flag())
	if m.ReportDir != "" {
		fmt.Fprintf(tw, "report\t%s\n", m.ReportDir)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Metrics)) {
		fmt.Fprintf(tw, "metric %s\t%s\n", k, strconv.FormatFloat(m.Metrics[k], 'g', 6, 64))
	}
	for _, k := range slices.Sorted(maps.Keys(m.Params)) {
		fmt.Fprintf(tw, "param %s\t%s\n", k, m.Params[k])
	}
	return tw.Flush()
}

// modelsPromote makes a version champion by hand, bypassing the gate; the
// reason recorded says so.
func modelsPromote(ctx context.Context, e env, reg *registry.Registry, f *modelsFlags, pos []string) error {
	ref, err := modelsOnePos("promote", pos, "the version to make champion")
	if err != nil {
		return err
	}
	m, err := reg.GetIn(ctx, f.series(), ref)
	if err != nil {
		return err
	}
	before, err := modelsAliasHolder(ctx, reg, f, registry.Champion)
	if err != nil {
		return err
	}
	if before == m.Version {
		fmt.Fprintf(e.stdout, "%s: v%d (%s) is already champion, nothing changed\n", m.Series(), m.Version, m.Name)
		return nil
	}
	if m.FeatureSchemaVersion != market.FeatureSchemaVersion {
		fmt.Fprintf(e.stderr, "warning: v%d was trained on feature schema %d, this build computes schema %d\n",
			m.Version, m.FeatureSchemaVersion, market.FeatureSchemaVersion)
	}
	reason := "manual promotion (tickcast models promote)"
	if f.reason != "" {
		reason = "manual promotion: " + f.reason
	}
	if err := reg.SetAliasIn(ctx, f.series(), registry.Champion, m.Version, reason); err != nil {
		return err
	}
	return modelsChanged(ctx, e.stdout, reg, f, registry.Champion, before, m.Version)
}

// modelsRollback moves an alias back to the version it held before.
func modelsRollback(ctx context.Context, e env, reg *registry.Registry, f *modelsFlags, pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("models rollback: unexpected arguments %v: %w", pos, errUsage)
	}
	if f.alias != registry.Champion && f.alias != registry.Challenger {
		return fmt.Errorf("--alias %q: want champion or challenger: %w", f.alias, errUsage)
	}
	before, err := modelsAliasHolder(ctx, reg, f, f.alias)
	if err != nil {
		return err
	}
	m, err := reg.RollbackIn(ctx, f.series(), f.alias)
	if err != nil {
		return err
	}
	return modelsChanged(ctx, e.stdout, reg, f, f.alias, before, m.Version)
}

// modelsAliasHolder is the version alias points at, or -1 when unset; an
// unknown pair is an error.
func modelsAliasHolder(ctx context.Context, reg *registry.Registry, f *modelsFlags, alias string) (int, error) {
	m, err := reg.GetIn(ctx, f.series(), alias)
	if errors.Is(err, registry.ErrNotFound) {
		if _, err := reg.GetIn(ctx, f.series(), "latest"); err != nil {
			return 0, err
		}
		return -1, nil
	}
	return m.Version, err
}

// modelsChanged prints "ETH/USDT h1 champion: v0 (zero-return) → v3 (xgboost, …)".
func modelsChanged(ctx context.Context, w io.Writer, reg *registry.Registry, f *modelsFlags, alias string, from, to int) error {
	describe := func(v int) string {
		if v < 0 {
			return "(none)"
		}
		m, err := reg.GetIn(ctx, f.series(), strconv.Itoa(v))
		if err != nil {
			return fmt.Sprintf("v%d", v)
		}
		s := fmt.Sprintf("v%d (%s", v, m.Name)
		if mae, ok := m.Metrics["model_mae"]; ok {
			s += ", test MAE " + strconv.FormatFloat(mae, 'g', 4, 64)
		}
		if skill, ok := m.Metrics["skill"]; ok {
			s += ", skill " + strconv.FormatFloat(skill, 'f', 4, 64)
		}
		return s + ")"
	}
	_, err := fmt.Fprintf(w, "%s %s: %s → %s\n", f.series(), alias, describe(from), describe(to))
	return err
}

// modelsPrune applies the retention policy to one series (--pair, --horizon),
// every horizon of a pair (--pair) or every series; without --apply it only
// lists what it would delete.
func modelsPrune(ctx context.Context, e env, reg *registry.Registry, f *modelsFlags, pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("models prune: unexpected arguments %v: %w", pos, errUsage)
	}
	if f.keepLast < 0 || f.keepDays < 0 {
		return fmt.Errorf("models prune: --keep-last %d, --keep-days %d: want none negative: %w", f.keepLast, f.keepDays, errUsage)
	}
	p := registry.Retention{KeepLast: cmp.Or(f.keepLast, -1), KeepFor: cmp.Or(time.Duration(f.keepDays)*24*time.Hour, -1)}
	all, err := reg.Series(ctx)
	if err != nil {
		return err
	}
	var gone []registry.Meta
	for _, s := range all {
		if (f.pair != "" && (s.Pair != f.pair || (f.horizonSet && s.Horizon != f.horizon))) || (f.productSet && s.Product != f.product) {
			continue
		}
		ms, err := reg.PruneIn(ctx, s, p, !f.apply)
		if err != nil {
			return err
		}
		gone = append(gone, ms...)
	}
	verb := "would delete"
	if f.apply {
		verb = "deleted"
	}
	for _, m := range gone {
		fmt.Fprintf(e.stdout, "%s %s v%d (%s, %s, created %s)\n", verb, m.Series(), m.Version, m.Name, m.Status, m.CreatedAt.Format(time.RFC3339))
	}
	fmt.Fprintf(e.stdout, "%s %d version(s); kept: champions, challengers and their rollback chains, the newest %d others, those younger than %d days\n",
		verb, len(gone), f.keepLast, f.keepDays)
	if !f.apply && len(gone) > 0 {
		fmt.Fprintln(e.stdout, "dry run: add --apply to delete")
	}
	return nil
}
