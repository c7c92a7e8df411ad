package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tickcast/tickcast/internal/atomicfile"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/training"
)

// The backtest activities (issue #13 item 5) are thin over training's
// walk-forward backtest: the workflow passes a data directory, a report key
// and days; each activity loads the pair's rows from the store itself and
// writes what it makes (the frozen model, each day's result) into the
// report folder <dataDir>/reports/backtest/<key>/, so only small JSON
// crosses Temporal.
type (
	// BacktestPolicy is an update policy with its cadence.
	BacktestPolicy = training.BacktestPolicy
	// BacktestFit are the fixed settings of every fit of a backtest.
	BacktestFit = training.BacktestFit
	// BacktestDayResult is a day's summed losses per product × forecaster.
	BacktestDayResult = training.BacktestDayResult
	// BacktestCI is a figure with its 95% day-block bootstrap interval.
	BacktestCI = training.BacktestCI
	// PolicyScore is a candidate policy's pooled figures on the selection days.
	PolicyScore = training.PolicyScore
)

// BacktestRun names a backtest's report folder in a data directory.
type BacktestRun struct {
	DataDir string `json:"data_dir,omitempty"`
	Key     string `json:"key"` // the folder's name: the workflow's run ID
}

// BacktestSeriesKey is one pair × horizon of a phase ("select" or "window").
type BacktestSeriesKey struct {
	Phase   string    `json:"phase"`
	Pair    string    `json:"pair"`
	Horizon int       `json:"horizon"`
	From    time.Time `json:"from"` // the series' first row: the store's first day of the pair
}

// BacktestPlanInput asks for the span of the pairs' stored feature rows.
type BacktestPlanInput struct {
	BacktestRun
	Pairs []string  `json:"pairs"`
	End   time.Time `json:"end,omitzero"` // zero: the last day with rows (excluded: it may be partial)
	Days  int       `json:"days"`         // days before End the backtest needs (selection + window)
}

// BacktestPlan is where each pair's rows start and where the window ends.
type BacktestPlan struct {
	End       time.Time   `json:"end"`  // UTC midnight, excluded
	From      []time.Time `json:"from"` // per pair, UTC midnight of its first stored day
	ReportDir string      `json:"report_dir"`
}

// BacktestFrozenInput fits the frozen model (a) of a series before its first day.
type BacktestFrozenInput struct {
	BacktestRun
	Series BacktestSeriesKey `json:"series"`
	Before time.Time         `json:"before"`
	Fit    BacktestFit       `json:"fit"`
}

// BacktestFrozen is the frozen model written to the report folder.
type BacktestFrozen struct {
	File      string    `json:"file"` // relative to the report folder
	LastLabel time.Time `json:"last_label"`
	Train     Span      `json:"train"`
	Valid     Span      `json:"valid"`
	Seconds   float64   `json:"seconds"`
}

// BacktestDayInput is one pair × horizon × day of a phase.
type BacktestDayInput struct {
	BacktestRun
	Series       BacktestSeriesKey `json:"series"`
	Day          time.Time         `json:"day"`
	Frozen       string            `json:"frozen"` // BacktestFrozen.File
	Fit          BacktestFit       `json:"fit"`
	Update       BacktestPolicy    `json:"update"`
	Alternatives []BacktestPolicy  `json:"alternatives,omitempty"`
}

// BacktestDaysInput names the day results of a phase already written.
type BacktestDaysInput struct {
	BacktestRun
	Series []BacktestSeriesKey `json:"series"`
	Days   []time.Time         `json:"days"`
	// Update and Alternatives: the selection's candidates (BacktestChoose).
	Update       BacktestPolicy   `json:"update"`
	Alternatives []BacktestPolicy `json:"alternatives,omitempty"`
	Notes        []string         `json:"notes,omitempty"` // added to the report (BacktestReport)
}

// BacktestChoice is the update policy chosen on the selection days.
type BacktestChoice struct {
	Policy BacktestPolicy `json:"policy"`
	Scores []PolicyScore  `json:"scores"`
}

// BacktestSummary is what BacktestReport returns: the headline figures of
// report.json, and where the report is.
type BacktestSummary struct {
	ReportDir string               `json:"report_dir"`
	Days      int                  `json:"days"`
	First     time.Time            `json:"first"`
	Last      time.Time            `json:"last"`
	Rows      []BacktestSummaryRow `json:"rows"`
}

// BacktestSummaryRow is one series' (or "all") product: skills of (a), (b),
// (c) vs the baseline (d), and the differences (c)−(b), (b)−(a).
type BacktestSummaryRow struct {
	Series   string                `json:"series"`
	Product  string                `json:"product"`
	Baseline string                `json:"baseline"`
	Skill    map[string]BacktestCI `json:"skill"`
	Diffs    map[string]BacktestCI `json:"diffs"`
}

// Files of a backtest report folder.
const (
	backtestReportFile = "report.json"
	backtestSVGFile    = "vol_skill.svg"
	backtestPolicyFile = "policy.json"
)

// reportDir is the run's folder <dataDir>/reports/backtest/<key>.
func (a *Activities) reportDir(r BacktestRun) (string, error) {
	dir, err := a.dataDir(r.DataDir)
	if err != nil {
		return "", err
	}
	if r.Key == "" || filepath.Base(r.Key) != r.Key || r.Key == "." || r.Key == ".." {
		return "", invalidf("backtest: report key %q: want a plain name", r.Key)
	}
	return filepath.Join(datadir.Reports(dir), "backtest", r.Key), nil
}

// BacktestPlan finds each pair's first stored day and, without End, the last
// day with rows (the window ends at its start), and checks that the store
// holds Days days before End.
func (a *Activities) BacktestPlan(ctx context.Context, in BacktestPlanInput) (BacktestPlan, error) {
	dir, err := a.dataDir(in.DataDir)
	if err != nil {
		return BacktestPlan{}, err
	}
	rep, err := a.reportDir(in.BacktestRun)
	if err != nil {
		return BacktestPlan{}, err
	}
	plan := BacktestPlan{End: in.End.UTC(), ReportDir: rep}
	for _, pair := range in.Pairs {
		parts, err := parquet.Partitions(datadir.Parquet(dir), parquet.DatasetFeatures, pair, time.Time{}, time.Time{})
		if err != nil {
			return BacktestPlan{}, fmt.Errorf("backtest: list features %s: %w", pair, err)
		}
		if len(parts) == 0 {
			return BacktestPlan{}, invalidf("backtest: no feature rows of %s in %s: backfill the pair first", pair, dir)
		}
		plan.From = append(plan.From, parts[0].Day)
		if last := parts[len(parts)-1].Day; in.End.IsZero() && (plan.End.IsZero() || last.Before(plan.End)) {
			plan.End = last
		}
	}
	for i, from := range plan.From {
		if need := plan.End.AddDate(0, 0, -in.Days); from.After(need.AddDate(0, 0, -1)) {
			return BacktestPlan{}, invalidf("backtest: %s is stored from %s: %d days before %s need it from %s at the latest",
				in.Pairs[i], from.Format(time.DateOnly), in.Days, plan.End.Format(time.DateOnly), need.AddDate(0, 0, -1).Format(time.DateOnly))
		}
	}
	return plan, ctx.Err()
}

// BacktestFrozen fits the frozen model (a) on the rows labelled before
// in.Before and writes it (JSON, boosters as UBJ) into the report folder.
func (a *Activities) BacktestFrozen(ctx context.Context, in BacktestFrozenInput) (BacktestFrozen, error) {
	rep, err := a.reportDir(in.BacktestRun)
	if err != nil {
		return BacktestFrozen{}, err
	}
	hb := startHeartbeat(ctx, "frozen "+seriesName(in.Series))
	defer hb.close()
	s, err := a.backtestSeries(ctx, in.BacktestRun, in.Series, in.Before)
	if err != nil {
		return BacktestFrozen{}, err
	}
	m, err := training.FitBacktestModel(ctx, s, in.Fit, in.Before)
	if err != nil {
		return BacktestFrozen{}, err
	}
	file := filepath.Join("models", fmt.Sprintf("%s-%s-h%d-frozen.json", in.Series.Phase, market.PairSlug(in.Series.Pair), in.Series.Horizon))
	if err := writeBacktestJSON(filepath.Join(rep, file), m); err != nil {
		return BacktestFrozen{}, err
	}
	return BacktestFrozen{File: file, LastLabel: m.LastLabel, Train: m.Train, Valid: m.Valid, Seconds: m.Seconds}, nil
}

// BacktestDay scores one day (training.BacktestDay) and writes its result
// into the report folder (days/<phase>/<pair>-h<h>-<date>.json); a rerun
// rewrites the same figures.
func (a *Activities) BacktestDay(ctx context.Context, in BacktestDayInput) (BacktestDayResult, error) {
	rep, err := a.reportDir(in.BacktestRun)
	if err != nil {
		return BacktestDayResult{}, err
	}
	hb := startHeartbeat(ctx, fmt.Sprintf("%s %s", seriesName(in.Series), in.Day.Format(time.DateOnly)))
	defer hb.close()
	var frozen training.BacktestModel
	if err := readBacktestJSON(rep, in.Frozen, &frozen); err != nil {
		return BacktestDayResult{}, err
	}
	s, err := a.backtestSeries(ctx, in.BacktestRun, in.Series, in.Day.Add(24*time.Hour))
	if err != nil {
		return BacktestDayResult{}, err
	}
	res, err := training.BacktestDay(ctx, training.BacktestDayInput{Pair: in.Series.Pair, Horizon: in.Series.Horizon, Day: in.Day,
		Fit: in.Fit, Frozen: frozen, Update: in.Update, Alternatives: in.Alternatives, Series: &s})
	if err != nil {
		return BacktestDayResult{}, err
	}
	return res, writeBacktestJSON(filepath.Join(rep, dayFile(in.Series, in.Day)), res)
}

// BacktestChoose chooses the update policy on the selection days' results
// (training.ChooseUpdatePolicy, pooled over every series) and writes policy.json.
func (a *Activities) BacktestChoose(ctx context.Context, in BacktestDaysInput) (BacktestChoice, error) {
	rep, results, err := a.backtestDays(in)
	if err != nil {
		return BacktestChoice{}, err
	}
	p, scores := training.ChooseUpdatePolicy(results, training.BacktestDayInput{Update: in.Update, Alternatives: in.Alternatives})
	c := BacktestChoice{Policy: p, Scores: scores}
	return c, writeBacktestJSON(filepath.Join(rep, backtestPolicyFile), c)
}

// BacktestReport aggregates the window's day results (training.BacktestAggregate)
// into report.json and vol_skill.svg and returns the headline figures.
func (a *Activities) BacktestReport(ctx context.Context, in BacktestDaysInput) (BacktestSummary, error) {
	rep, results, err := a.backtestDays(in)
	if err != nil {
		return BacktestSummary{}, err
	}
	hb := startHeartbeat(ctx, "aggregating")
	defer hb.close()
	r := training.BacktestAggregate(results)
	r.Notes = append(r.Notes, in.Notes...)
	if err := writeBacktestJSON(filepath.Join(rep, backtestReportFile), r); err != nil {
		return BacktestSummary{}, err
	}
	if err := atomicfile.Write(filepath.Join(rep, backtestSVGFile), training.BacktestVolSVG(r)); err != nil {
		return BacktestSummary{}, fmt.Errorf("backtest: write svg: %w", err)
	}
	return summarize(rep, in.Days, r), nil
}

func summarize(dir string, days []time.Time, r training.BacktestReport) BacktestSummary {
	s := BacktestSummary{ReportDir: dir, Days: len(days)}
	if len(days) > 0 {
		s.First, s.Last = days[0], days[len(days)-1]
	}
	for _, sr := range append(r.Series, r.Pooled) {
		name := fmt.Sprintf("%s h%d", sr.Pair, sr.Horizon)
		if sr.Horizon == 0 {
			name = sr.Pair
		}
		for _, p := range sr.Products {
			s.Rows = append(s.Rows, BacktestSummaryRow{Series: name, Product: p.Product, Baseline: p.Baseline, Skill: p.Skill, Diffs: p.Diffs})
		}
	}
	return s
}

// backtestDays reads the day results of in's series × days.
func (a *Activities) backtestDays(in BacktestDaysInput) (string, []BacktestDayResult, error) {
	rep, err := a.reportDir(in.BacktestRun)
	if err != nil {
		return "", nil, err
	}
	var out []BacktestDayResult
	for _, s := range in.Series {
		for _, d := range in.Days {
			var r BacktestDayResult
			if err := readBacktestJSON(rep, dayFile(s, d), &r); err != nil {
				return "", nil, err
			}
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return "", nil, invalidf("backtest: no day results to aggregate")
	}
	return rep, out, nil
}

// backtestSeries loads the pair's rows in [s.From, to) and the candles they
// need (1,441 before for the baselines, h + 1 after for the labels) and
// builds the series at the horizon.
func (a *Activities) backtestSeries(ctx context.Context, r BacktestRun, s BacktestSeriesKey, to time.Time) (training.BacktestSeries, error) {
	dir, err := a.dataDir(r.DataDir)
	if err != nil {
		return training.BacktestSeries{}, err
	}
	store := &parquet.Reader{Root: datadir.Parquet(dir), SkipCorrupt: true, Logger: a.logger()}
	rows, err := store.Features(s.Pair, s.From, to)
	if err != nil {
		return training.BacktestSeries{}, fmt.Errorf("read features %s: %w", s.Pair, err)
	}
	if len(rows) < 2 {
		return training.BacktestSeries{}, invalidf("backtest: %d feature rows of %s in [%s, %s)", len(rows), s.Pair, s.From, to)
	}
	if err := ctx.Err(); err != nil {
		return training.BacktestSeries{}, err
	}
	iv := minGap(rows)
	candles, err := store.Candles(s.Pair, rows[0].TS.Add(-1441*iv), rows[len(rows)-1].TS.Add(time.Duration(s.Horizon+1)*iv))
	if err != nil {
		return training.BacktestSeries{}, fmt.Errorf("read candles %s: %w", s.Pair, err)
	}
	ds, err := ml.Build(rows, candles, s.Horizon)
	if err != nil {
		return training.BacktestSeries{}, invalid(err)
	}
	return training.BacktestSeries{DS: ds, Candles: candles}, nil
}

// minGap is the smallest gap between consecutive rows: the candle length.
func minGap(rows []market.FeatureRow) time.Duration {
	iv := time.Duration(0)
	for i := 1; i < len(rows); i++ {
		if d := rows[i].TS.Sub(rows[i-1].TS); d > 0 && (iv == 0 || d < iv) {
			iv = d
		}
	}
	return max(iv, time.Second)
}

func seriesName(s BacktestSeriesKey) string {
	return fmt.Sprintf("%s %s h%d", s.Phase, s.Pair, s.Horizon)
}

func dayFile(s BacktestSeriesKey, day time.Time) string {
	return filepath.Join("days", s.Phase, fmt.Sprintf("%s-h%d-%s.json", market.PairSlug(s.Pair), s.Horizon, day.UTC().Format(time.DateOnly)))
}

func writeBacktestJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("backtest: encode %s: %w", filepath.Base(path), err)
	}
	if err := atomicfile.MkdirAll(filepath.Dir(path)); err != nil {
		return fmt.Errorf("backtest: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n')); err != nil {
		return fmt.Errorf("backtest: write %s: %w", path, err)
	}
	return nil
}

// readBacktestJSON reads file (relative to the report folder rep, inside it) into v.
func readBacktestJSON(rep, file string, v any) error {
	if !filepath.IsLocal(file) {
		return invalidf("backtest: file %q: want a path inside the report folder", file)
	}
	b, err := os.ReadFile(filepath.Join(rep, file))
	if err != nil {
		return fmt.Errorf("backtest: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("backtest: decode %s: %w", file, err)
	}
	return nil
}
