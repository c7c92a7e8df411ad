package ml

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/tickcast/tickcast/internal/atomicfile"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Report file names, in the order WriteReport writes them.
const (
	FileMetrics        = "metrics.json"
	FilePredictions    = "test_predictions.csv"
	FileSummary        = "summary.md"
	FilePredVsRealized = "pred_vs_realized.svg"
	FileResiduals      = "residuals.svg"
	FileImportance     = "feature_importance.svg"
	FileTuning         = "tuning_history.svg"
)

// PredictionsHeader returns the header of test_predictions.csv, the output
// contract other tools read (issue #12): one row per test row, ts the as-of
// candle's close time (RFC 3339), the quantiles as log returns h candles
// ahead, a product's columns empty where it was not trained or its target is
// undefined.
func PredictionsHeader() []string {
	return []string{"ts", "pair", "horizon", "last_price", "realized_return", "predicted_return",
		"realized_vol", "predicted_vol", "q10", "q50", "q90", "p_up"}
}

// PredictionRow is one test-window row: at TS (end of the candle the features
// describe) the last close, the predicted and the realized log return h ahead,
// and the other products (NaN: none, written empty).
type PredictionRow struct {
	TS        time.Time
	LastPrice float64
	Pred      float64
	Realized  float64
	Products  ProductValues
}

// ProductValues are one row's realized vol and the vol, quantile and
// direction forecasts; NaN where there is none.
type ProductValues struct {
	RealizedVol, PredVol float64
	Q10, Q50, Q90        float64
	PUp                  float64
}

// NoProducts is a row without product forecasts.
func NoProducts() ProductValues {
	n := math.NaN()
	return ProductValues{n, n, n, n, n, n}
}

// Report is everything a training run leaves for one pair and horizon. Metrics
// and Baselines are measured on the same test rows, Skill against the
// zero-return baseline. Test, Importance and Trials may be empty (a baseline
// model has no trees and no tuning).
type Report struct {
	Pair       string
	Horizon    int
	Model      string // "xgboost", "zero-return", …
	Version    int
	Metrics    Metrics
	Baselines  map[string]Metrics
	Test       []PredictionRow
	Importance map[string]float64
	Trials     []TrialResult
	DataFrom   time.Time // first and last row of the whole dataset
	DataTo     time.Time
	TestFrom   time.Time // first and last row of the test window
	TestTo     time.Time
	Params     map[string]string
	Notes      []string
	Fee        float64 // the backtest's fee per side
	// Products is the other forecast products' metrics (vol, quantiles,
	// p_up: models, baselines, skills, gate decisions) as JSON, written
	// under "products" in metrics.json; nil: none trained.
	Products json.RawMessage
}

// PredictionRows pairs rows [lo, hi) of d with their predictions pred (hi−lo values).
func PredictionRows(d Dataset, lo, hi int, pred []float64) []PredictionRow {
	out := make([]PredictionRow, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, PredictionRow{TS: d.TS[i], LastPrice: d.Close[i], Pred: pred[i-lo], Realized: d.Y[i], Products: NoProducts()})
	}
	return out
}

// WriteReport writes r's files into dir (created if needed). Each file is
// written to a temporary name and renamed, so a reader never sees half a file.
func WriteReport(dir string, r Report) error {
	if dir == "" {
		return fmt.Errorf("write report: empty directory: %w", market.ErrInvalid)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	metrics, err := r.metricsJSON()
	if err != nil {
		return fmt.Errorf("write report %s: %w", FileMetrics, err)
	}
	predictions, err := r.predictionsCSV()
	if err != nil {
		return fmt.Errorf("write report %s: %w", FilePredictions, err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{FileMetrics, metrics},
		{FilePredictions, predictions},
		{FileSummary, r.summary()},
		{FilePredVsRealized, predVsRealizedSVG(r)},
		{FileResiduals, residualsSVG(r)},
		{FileImportance, importanceSVG(r)},
		{FileTuning, tuningSVG(r)},
	}
	for _, f := range files {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}

// ReportMetrics is the "metrics" section of metrics.json: the return
// model's and each baseline's test-window figures.
type ReportMetrics struct {
	Model     Metrics            `json:"model"`
	Baselines map[string]Metrics `json:"baselines"`
}

// ReportFile is metrics.json as WriteReport writes it (and readers of the
// report folders decode it); Products is the products' section as
// training writes it, absent when none were trained.
type ReportFile struct {
	Pair          string            `json:"pair"`
	Horizon       int               `json:"horizon"`
	Model         string            `json:"model"`
	Version       int               `json:"version"`
	Fee           num               `json:"fee"`
	SkillBaseline string            `json:"skill_baseline"`
	DataFrom      time.Time         `json:"data_from"`
	DataTo        time.Time         `json:"data_to"`
	TestFrom      time.Time         `json:"test_from"`
	TestTo        time.Time         `json:"test_to"`
	TestRows      int               `json:"test_rows"`
	Metrics       ReportMetrics     `json:"metrics"`
	Params        map[string]string `json:"params"`
	Importance    map[string]num    `json:"importance"`
	Trials        []TrialResult     `json:"trials"`
	Notes         []string          `json:"notes"`
	Products      json.RawMessage   `json:"products,omitempty"`
}

func (r Report) metricsJSON() ([]byte, error) {
	imp := make(map[string]num, len(r.Importance))
	for k, v := range r.Importance {
		imp[k] = num(v)
	}
	j := ReportFile{Pair: r.Pair, Horizon: r.Horizon, Model: r.Model, Version: r.Version, Fee: num(r.Fee),
		SkillBaseline: BaselineZero, DataFrom: r.DataFrom.UTC(), DataTo: r.DataTo.UTC(), TestFrom: r.TestFrom.UTC(),
		TestTo: r.TestTo.UTC(), TestRows: len(r.Test), Metrics: ReportMetrics{r.Metrics, r.Baselines},
		Params: r.Params, Importance: imp, Trials: r.Trials, Notes: r.Notes, Products: r.Products}
	b, err := json.MarshalIndent(j, "", "  ")
	return append(b, '\n'), err
}

func (r Report) predictionsCSV() ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(PredictionsHeader()); err != nil {
		return nil, err
	}
	h := strconv.Itoa(r.Horizon)
	for _, p := range r.Test {
		v := p.Products
		rec := []string{p.TS.UTC().Format(time.RFC3339), r.Pair, h, csvNum(p.LastPrice), csvNum(p.Realized), csvNum(p.Pred),
			csvNum(v.RealizedVol), csvNum(v.PredVol), csvNum(v.Q10), csvNum(v.Q50), csvNum(v.Q90), csvNum(v.PUp)}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// csvNum is v in the shortest exact form, empty when v is NaN or ±Inf.
func csvNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Verdict says in one sentence how the model compares with the zero-return
// baseline on the test window, judged by the skill's 95% interval.
func Verdict(m Metrics) string {
	ci := fmt.Sprintf("skill %s (95%% CI %s to %s)", fmtNum(m.Skill), fmtNum(m.SkillLo), fmtNum(m.SkillHi))
	switch {
	case math.IsNaN(m.Skill):
		return "The skill against the zero-return baseline could not be computed."
	case m.SkillLo > 0:
		return "The model beats the zero-return baseline on test MAE: " + ci + " lies above 0."
	case m.SkillHi < 0:
		return "The model loses to the zero-return baseline on test MAE: " + ci + " lies below 0."
	case m.Skill > 0:
		return "The model is not distinguishable from the zero-return baseline on test MAE: " + ci + " includes 0."
	}
	return "The model does not beat the zero-return baseline on test MAE: " + ci + "."
}

func fmtNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func fmtPct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(100*v, 'f', 2, 64) + "%"
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "n/a"
	}
	return t.UTC().Format("2006-01-02 15:04 MST")
}

// summary renders summary.md.
func (r Report) summary() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s, horizon %d: %s v%d\n\n", r.Pair, r.Horizon, r.Model, r.Version)
	fmt.Fprintf(&b, "**%s**\n\n", Verdict(r.Metrics))
	fmt.Fprintf(&b, "Test window: %s → %s, %d rows. Data: %s → %s. ", fmtTime(r.TestFrom), fmtTime(r.TestTo),
		len(r.Test), fmtTime(r.DataFrom), fmtTime(r.DataTo))
	fmt.Fprintf(&b, "Target: log return of the close %d candle(s) ahead; predicted price = last close × exp(predicted return).\n\n", r.Horizon)
	r.metricsTable(&b)
	r.productsText(&b)
	r.backtestText(&b)
	r.importanceText(&b)
	r.tuningText(&b)
	if len(r.Params) > 0 {
		b.WriteString("## Parameters\n\n")
		for _, k := range slices.Sorted(maps.Keys(r.Params)) {
			fmt.Fprintf(&b, "- `%s` = `%s`\n", k, r.Params[k])
		}
		b.WriteString("\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Definitions\n\n" +
		"- MAE, RMSE: of log returns; price MAE/RMSE compare last close × exp(prediction) with the realized close, in quote currency.\n" +
		"- Directional accuracy: over rows where both the prediction and the realized return are non-zero; a model that predicts 0 claims no direction (n/a). " +
		"95% Wilson interval, with rows/h effective trials for overlapping labels.\n" +
		"- Skill = 1 − MAE(model) / MAE(zero-return), 95% interval from a paired moving-block bootstrap (blocks of at least h rows).\n" +
		"- Backtest: long when the predicted return exceeds the fee, short below −fee, flat otherwise; one position per h candles; " +
		"PnL = Σ position × realized − fee × Σ|Δposition| (log-return units); a trade is a run of one position, a hit a trade with positive PnL after fees.\n\n")
	fmt.Fprintf(&b, "Files: %s, %s, %s, %s, %s, %s.\n", FileMetrics, FilePredictions, FilePredVsRealized, FileResiduals, FileImportance, FileTuning)
	return b.Bytes()
}

// columns are the model followed by the baselines, zero-return first.
func (r Report) columns() ([]string, []Metrics) {
	names, ms := []string{r.Model + " (model)"}, []Metrics{r.Metrics}
	keys := slices.SortedFunc(maps.Keys(r.Baselines), func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
	})
	for _, k := range keys {
		names, ms = append(names, k), append(ms, r.Baselines[k])
	}
	return names, ms
}

func (r Report) metricsTable(b *bytes.Buffer) {
	names, ms := r.columns()
	b.WriteString("## Test metrics\n\n| metric |")
	for _, n := range names {
		fmt.Fprintf(b, " %s |", n)
	}
	b.WriteString("\n|---|")
	for range names {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	rows := []struct {
		label string
		f     func(Metrics) string
	}{
		{"rows", func(m Metrics) string { return strconv.Itoa(m.N) }},
		{"MAE (log return)", func(m Metrics) string { return fmtNum(m.MAE) }},
		{"RMSE (log return)", func(m Metrics) string { return fmtNum(m.RMSE) }},
		{"price MAE", func(m Metrics) string { return fmtNum(m.PriceMAE) }},
		{"price RMSE", func(m Metrics) string { return fmtNum(m.PriceRMSE) }},
		{"directional accuracy (95% CI)", func(m Metrics) string {
			if math.IsNaN(m.DirAcc) {
				return "n/a"
			}
			return fmt.Sprintf("%s (%s–%s, n=%d)", fmtPct(m.DirAcc), fmtPct(m.DirAccLo), fmtPct(m.DirAccHi), m.DirN)
		}},
		{"skill vs zero-return (95% CI)", func(m Metrics) string {
			return fmt.Sprintf("%s (%s to %s)", fmtNum(m.Skill), fmtNum(m.SkillLo), fmtNum(m.SkillHi))
		}},
		{"backtest PnL (log return, after fees)", func(m Metrics) string { return fmtNum(m.Backtest.PnL) }},
		{"trades / hit rate", func(m Metrics) string {
			return fmt.Sprintf("%d / %s", m.Backtest.Trades, fmtPct(m.Backtest.HitRate))
		}},
		{"turnover per period", func(m Metrics) string { return fmtNum(m.Backtest.Turnover) }},
	}
	for _, row := range rows {
		fmt.Fprintf(b, "| %s |", row.label)
		for _, m := range ms {
			fmt.Fprintf(b, " %s |", row.f(m))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// productGate is the part of a product's figures in Report.Products that
// summary.md shows: the gate's decision on the product's metric.
type productGate struct {
	Gate struct {
		Metric       string `json:"metric"`
		Baseline     string `json:"strongest_baseline"`
		ModelLoss    num    `json:"model_loss"`
		BaselineLoss num    `json:"baseline_loss"`
		Skill        num    `json:"skill"`
		Lo           num    `json:"skill_lo"`
		Hi           num    `json:"skill_hi"`
		DMP          num    `json:"dm_p"`
		Pass         bool   `json:"pass"`
		Serve        string `json:"serve"`
	} `json:"gate"`
}

// productsText renders the products' gate decisions, when there are any.
func (r Report) productsText(b *bytes.Buffer) {
	var ps map[string]json.RawMessage
	if len(r.Products) == 0 || json.Unmarshal(r.Products, &ps) != nil {
		return
	}
	b.WriteString("## Products\n\n| product | metric | model | strongest baseline | skill (95% CI) | DM p | gate |\n|---|---|---|---|---|---|---|\n")
	for _, name := range []string{"vol", "quantiles", "p_up"} {
		var p productGate
		if json.Unmarshal(ps[name], &p) != nil || p.Gate.Metric == "" {
			continue
		}
		g := p.Gate
		decision := "pass: the model serves"
		if !g.Pass {
			decision = "fail: " + g.Serve + " serves"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s %s | %s (%s to %s) | %s | %s |\n", name, g.Metric, fmtNum(float64(g.ModelLoss)), g.Baseline,
			fmtNum(float64(g.BaselineLoss)), fmtPct(float64(g.Skill)), fmtPct(float64(g.Lo)), fmtPct(float64(g.Hi)), fmtNum(float64(g.DMP)), decision)
	}
	b.WriteString("\nFull figures (every baseline, QLIKE, coverage per tercile, reliability, fee curves): `products` in " + FileMetrics + ".\n\n")
}

func (r Report) backtestText(b *bytes.Buffer) {
	bt := r.Metrics.Backtest
	fmt.Fprintf(b, "## Backtest\n\nFee %s per side (taker). ", fmtPct(r.Fee))
	if bt.Trades == 0 {
		fmt.Fprintf(b, "The model never traded: no prediction exceeded the fee in size over %d periods.\n\n", bt.Periods)
		return
	}
	fmt.Fprintf(b, "%d trades over %d periods, PnL %s after %s in fees (log-return units), %s of trades profitable.\n\n",
		bt.Trades, bt.Periods, fmtNum(bt.PnL), fmtNum(bt.Fees), fmtPct(bt.HitRate))
}

func (r Report) importanceText(b *bytes.Buffer) {
	if len(r.Importance) == 0 {
		return
	}
	keys := slices.SortedFunc(maps.Keys(r.Importance), func(a, c string) int {
		return cmp.Or(cmp.Compare(r.Importance[c], r.Importance[a]), cmp.Compare(a, c))
	})
	b.WriteString("## Feature importance (gain), top 10\n\n")
	for i, k := range keys[:min(10, len(keys))] {
		fmt.Fprintf(b, "%d. `%s` %s\n", i+1, k, fmtNum(r.Importance[k]))
	}
	b.WriteString("\n")
}

func (r Report) tuningText(b *bytes.Buffer) {
	if len(r.Trials) == 0 {
		return
	}
	failed := 0
	last := 0
	for _, t := range r.Trials {
		if t.Err != "" {
			failed++
		}
		last = max(last, t.Rung)
	}
	fmt.Fprintf(b, "## Tuning\n\n%d trial results over %d rung(s), %d failed. ", len(r.Trials), last+1, failed)
	var final []TrialResult
	for _, t := range r.Trials {
		if t.Rung == last {
			final = append(final, t)
		}
	}
	if best := TopK(final, 1); len(best) == 1 {
		fmt.Fprintf(b, "Best of the last rung: trial %d, CV score %s over %d fold(s), %d rounds.",
			best[0].ID, fmtNum(best[0].Score), len(best[0].Scores), best[0].Rounds)
	}
	b.WriteString("\n\n")
}

// rank puts the zero-return baseline first.
func rank(name string) int {
	if name == BaselineZero {
		return 0
	}
	return 1
}
