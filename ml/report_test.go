package ml

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// realReport evaluates, on the real ETH/USDT minutes, the ema-drift rule as
// the "model" (ml cannot train XGBoost; any predictions will do) against the
// baselines on the final split's test window. Importance and trials are
// hand-written fixtures: they only exercise the report.
func realReport(t *testing.T, candles int) Report {
	t.Helper()
	c := loadCandles(t, binanceETH, "ETH/USDT", candles)
	d, err := Build(featureRows(t, c), c, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, final, err := d.WalkForward(3, 0.2, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := final.Test[0], final.Test[1]
	zero := d.Predict(ZeroReturn{}, lo, hi)
	eval := Eval{Horizon: 1, Fee: KrakenTakerFee, Seed: 7}
	model := d.Predict(EMADrift{Horizon: 1}, lo, hi)
	r := Report{Pair: d.Pair, Horizon: 1, Model: "ema-drift-as-model", Version: 1, Fee: KrakenTakerFee,
		Metrics:   eval.Evaluate(model, d.Y[lo:hi], d.Close[lo:hi], zero),
		Baselines: map[string]Metrics{},
		Test:      PredictionRows(d, lo, hi, model),
		Importance: map[string]float64{"ret_1": 12.5, "ema_12_dev": 30, "rsi_14": 4.25, "tod_sin": 0,
			"macd": 7},
		DataFrom: d.TS[0], DataTo: d.TS[d.Len()-1], TestFrom: d.TS[lo], TestTo: d.TS[hi-1],
		Params: map[string]string{"rule": "ema-drift"}, Notes: []string{"test report <with> & markup \"chars\""},
	}
	for name, p := range Baselines(1) {
		r.Baselines[name] = eval.Evaluate(d.Predict(p, lo, hi), d.Y[lo:hi], d.Close[lo:hi], zero)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for id := range 12 {
		rung := 0
		if id >= 9 {
			rung = 1
		}
		tr := TrialResult{ID: id, Rung: rung, Params: SampleParams(rng), Scores: []float64{6e-4 + float64(id%5)*1e-5, 6.2e-4},
			Rounds: 50 * (rung + 1), Duration: time.Second}
		tr.Score = MeanScore(tr.Scores)
		if id == 4 {
			tr.Err, tr.Score = "fold 1 failed", math.NaN()
		}
		r.Trials = append(r.Trials, tr)
	}
	return r
}

func TestWriteReportRealData(t *testing.T) {
	r := realReport(t, 30000)
	dir := filepath.Join(t.TempDir(), "report")
	if err := WriteReport(dir, r); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{FileImportance, FileMetrics, FilePredVsRealized, FileResiduals, FileSummary, FilePredictions, FileTuning}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("files %v, want %v (no temporary files left)", names, want)
	}
	checkPredictionsCSV(t, filepath.Join(dir, FilePredictions), r)
	checkMetricsJSON(t, filepath.Join(dir, FileMetrics), r)
	for _, f := range []string{FilePredVsRealized, FileResiduals, FileImportance, FileTuning} {
		checkSVG(t, filepath.Join(dir, f), 10)
	}
	summary, err := os.ReadFile(filepath.Join(dir, FileSummary))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{Verdict(r.Metrics), "| zero-return |", "n/a", "never traded", "`ema_12_dev` 30", "1 failed"} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, summary)
		}
	}
	// On this window the rule loses to the zero-return baseline and the summary says so.
	if r.Metrics.SkillHi >= 0 || !strings.Contains(Verdict(r.Metrics), "loses to the zero-return baseline") {
		t.Errorf("skill %v [%v, %v]: verdict %q", r.Metrics.Skill, r.Metrics.SkillLo, r.Metrics.SkillHi, Verdict(r.Metrics))
	}
	if out := os.Getenv("TICKCAST_ML_REPORT_OUT"); out != "" { // to look at the files
		if err := os.CopyFS(out, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
}

func checkPredictionsCSV(t *testing.T, path string, r Report) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "ts,pair,horizon,last_price,realized_return,predicted_return,realized_vol,predicted_vol,q10,q50,q90,p_up" {
		t.Fatalf("header %v", recs[0])
	}
	if len(recs)-1 != len(r.Test) {
		t.Fatalf("%d rows, want %d", len(recs)-1, len(r.Test))
	}
	var abs float64
	for i, rec := range recs[1:] {
		ts, err := time.Parse(time.RFC3339, rec[0])
		if err != nil || !strings.HasSuffix(rec[0], "Z") || !ts.Equal(r.Test[i].TS) || rec[1] != r.Pair {
			t.Fatalf("row %d: %v (%v)", i, rec, err)
		}
		pred, err1 := strconv.ParseFloat(rec[5], 64)
		real, err2 := strconv.ParseFloat(rec[4], 64)
		last, err3 := strconv.ParseFloat(rec[3], 64)
		if err := errors.Join(err1, err2, err3); err != nil || last != r.Test[i].LastPrice || rec[2] != strconv.Itoa(r.Horizon) {
			t.Fatalf("row %d: %v (%v)", i, rec, err)
		}
		abs += math.Abs(pred - real)
	}
	if mae := abs / float64(len(r.Test)); mae != r.Metrics.MAE {
		t.Errorf("MAE from the CSV %v, reported %v", mae, r.Metrics.MAE)
	}
}

func checkMetricsJSON(t *testing.T, path string, r Report) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Pair     string    `json:"pair"`
		TestFrom time.Time `json:"test_from"`
		TestRows int       `json:"test_rows"`
		Metrics  struct {
			Model     Metrics            `json:"model"`
			Baselines map[string]Metrics `json:"baselines"`
		} `json:"metrics"`
		Trials []TrialResult `json:"trials"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("metrics.json: %v", err)
	}
	zero := got.Metrics.Baselines[BaselineZero]
	if got.Pair != r.Pair || !got.TestFrom.Equal(r.TestFrom) || got.TestRows != len(r.Test) ||
		got.Metrics.Model.MAE != r.Metrics.MAE || got.Metrics.Model.SkillLo != r.Metrics.SkillLo ||
		zero.MAE != r.Baselines[BaselineZero].MAE || !math.IsNaN(zero.DirAcc) || len(got.Trials) != len(r.Trials) {
		t.Errorf("metrics.json does not match the report: %.600s", b)
	}
}

// checkSVG parses the file as XML: a root <svg> in the SVG namespace with a
// title and at least minTexts texts, at most maxPoints points plus a legend.
func checkSVG(t *testing.T, path string, minTexts int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(b)))
	var root xml.StartElement
	var circles, texts int
	var title bool
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not XML: %v", filepath.Base(path), err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root.Name.Local == "" {
				root = se
			}
			switch se.Name.Local {
			case "circle":
				circles++
			case "text":
				texts++
			case "title":
				title = true
			}
		}
	}
	if root.Name.Local != "svg" || root.Name.Space != "http://www.w3.org/2000/svg" || !title || texts < minTexts {
		t.Errorf("%s: root %v, title %v, %d texts", filepath.Base(path), root.Name, title, texts)
	}
	if circles > maxPoints+10 {
		t.Errorf("%s: %d points", filepath.Base(path), circles)
	}
	if len(b) > 400_000 {
		t.Errorf("%s: %d bytes", filepath.Base(path), len(b))
	}
}

func TestWriteReportEmpty(t *testing.T) {
	// A baseline model's report: no trees, no tuning, and here no test rows.
	dir := t.TempDir()
	r := Report{Pair: "BTC/USD", Horizon: 1, Model: BaselineZero, Metrics: Evaluate(nil, nil, nil, nil, KrakenTakerFee, 0)}
	if err := WriteReport(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FilePredVsRealized, FileResiduals, FileImportance, FileTuning} {
		checkSVG(t, filepath.Join(dir, f), 2)
	}
	b, err := os.ReadFile(filepath.Join(dir, FilePredictions))
	if err != nil || string(b) != "ts,pair,horizon,last_price,realized_return,predicted_return,realized_vol,predicted_vol,q10,q50,q90,p_up\n" {
		t.Errorf("empty predictions file %q (%v)", b, err)
	}
	if err := WriteReport("", r); err == nil {
		t.Error("empty directory accepted")
	}
}

// The products' columns: empty where a row has none, the values otherwise;
// the products' JSON under "products" in metrics.json.
func TestWriteReportProducts(t *testing.T) {
	ts := time.Date(2025, 8, 1, 12, 0, 0, 0, time.UTC)
	with := ProductValues{RealizedVol: 0.002, PredVol: 0.0015, Q10: -0.002, Q50: 0, Q90: 0.0021, PUp: 0.51}
	r := Report{Pair: "ETH/USDT", Horizon: 5, Model: "xgboost", Products: json.RawMessage(`{"vol":{"gate":{"metric":"mae","strongest_baseline":"har-rv",` +
		`"model_loss":0.0005,"baseline_loss":0.00055,"skill":0.0909,"skill_lo":0.05,"skill_hi":0.12,"dm_p":0.001,"pass":true,"serve":"model"}},` +
		`"p_up":{"gate":{"metric":"brier","strongest_baseline":"climatology","model_loss":null,"baseline_loss":null,"skill":null,` +
		`"skill_lo":null,"skill_hi":null,"dm_p":null,"pass":false,"serve":"climatology"}}}`),
		Test: []PredictionRow{{TS: ts, LastPrice: 2500, Pred: 1e-4, Realized: -2e-4, Products: with},
			{TS: ts.Add(time.Minute), LastPrice: 2501, Pred: 0, Realized: 0, Products: NoProducts()}}}
	dir := t.TempDir()
	if err := WriteReport(dir, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FilePredictions))
	want := strings.Join(PredictionsHeader(), ",") + "\n" +
		"2025-08-01T12:00:00Z,ETH/USDT,5,2500,-0.0002,0.0001,0.002,0.0015,-0.002,0,0.0021,0.51\n" +
		"2025-08-01T12:01:00Z,ETH/USDT,5,2501,0,0,,,,,,\n"
	if err != nil || string(b) != want {
		t.Errorf("predictions\n%s(%v), want\n%s", b, err, want)
	}
	var got struct {
		Products map[string]any `json:"products"`
	}
	b, err = os.ReadFile(filepath.Join(dir, FileMetrics))
	if err == nil {
		err = json.Unmarshal(b, &got)
	}
	if err != nil || got.Products["vol"] == nil {
		t.Errorf("metrics.json products: %v (%v)", got.Products, err)
	}
	summary, err := os.ReadFile(filepath.Join(dir, FileSummary))
	for _, want := range []string{"## Products", "| vol | mae | 0.0005 | har-rv 0.00055 | 9.09% (5.00% to 12.00%) | 0.001 | pass: the model serves |",
		"| p_up | brier | n/a | climatology n/a | n/a (n/a to n/a) | n/a | fail: climatology serves |"} {
		if err != nil || !strings.Contains(string(summary), want) {
			t.Errorf("summary.md lacks %q (%v):\n%s", want, err, summary)
		}
	}
}

func TestVerdict(t *testing.T) {
	// Hand-written fixtures: one per case of the skill interval.
	tests := []struct {
		skill, lo, hi float64
		want          string
	}{
		{0.02, 0.01, 0.03, "beats the zero-return baseline"},
		{-0.02, -0.03, -0.01, "loses to the zero-return baseline"},
		{0.01, -0.01, 0.03, "not distinguishable from the zero-return baseline"},
		{-0.01, -0.03, 0.01, "does not beat the zero-return baseline"},
		{0, 0, 0, "does not beat the zero-return baseline"},
		{math.NaN(), math.NaN(), math.NaN(), "could not be computed"},
	}
	for _, tt := range tests {
		if got := Verdict(Metrics{Skill: tt.skill, SkillLo: tt.lo, SkillHi: tt.hi}); !strings.Contains(got, tt.want) {
			t.Errorf("skill %v [%v, %v]: %q, want %q", tt.skill, tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	// Hand-worked: a span of 0.0037 over 6 ticks → step 5e-4 (0.00062 rounds to 5e-4).
	got := niceTicks(-0.0021, 0.0016, 6)
	want := []float64{-0.002, -0.0015, -0.001, -0.0005, 0, 0.0005, 0.001, 0.0015}
	if !slices.EqualFunc(got, want, func(a, b float64) bool { return near(a, b, 1e-12) }) {
		t.Errorf("niceTicks = %v, want %v", got, want)
	}
	if n := len(timeTicks(0, 86400*7)); n < 3 || n > 7 {
		t.Errorf("a week has %d time ticks", n)
	}
}
