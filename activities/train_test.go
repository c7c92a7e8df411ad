package activities_test

import (
	"encoding/csv"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/training"
	"github.com/tickcast/tickcast/workflows"
	"github.com/tickcast/tickcast/xgboost"
)

// week is a store with the first 7 real days of Binance ETH/USDT, built once
// and copied into each test's directory.
var week struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if week.dir != "" {
		os.RemoveAll(week.dir)
	}
	os.Exit(code)
}

func weekStore(t *testing.T) string {
	t.Helper()
	path := realdata.Path(t, binanceETH)
	week.once.Do(func() { week.dir, week.err = buildWeek(t, path) })
	if week.err != nil {
		t.Fatal(week.err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "parquet"), os.DirFS(filepath.Join(week.dir, "parquet"))); err != nil {
		t.Fatal(err)
	}
	return dir
}

func buildWeek(t *testing.T, path string) (string, error) {
	dir, err := os.MkdirTemp("", "tickcast-week-")
	if err != nil {
		return "", err
	}
	candles, _, err := archive.ReadCandles(path, archive.BinanceKlines, "ETH/USDT")
	if err != nil {
		return dir, err
	}
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		return dir, err
	}
	c := history.Chunk{Pair: "ETH/USDT", From: date("2025-05-20T00:00:00Z"), To: date("2025-05-27T00:00:00Z")}
	if _, err := history.ImportCandles(t.Context(), st, candles, c); err != nil {
		return dir, err
	}
	if _, err := history.BuildChunk(t.Context(), st, dir, c, activities.KindCandles, time.Minute); err != nil {
		return dir, err
	}
	return dir, st.Close(t.Context())
}

func buildDataset(t *testing.T, a *activities.Activities, env *testsuite.TestActivityEnvironment) activities.DatasetInfo {
	t.Helper()
	return run[activities.DatasetInfo](t, env, a.BuildDataset, activities.DatasetInput{Pair: "ETH/USDT", Horizon: 1, Folds: 3})
}

// The training activities on a real week return what package training
// returns (TestTrainingOnRealWeek there checks the numbers), through
// Temporal's JSON: the dataset, a trial's CV score, the final fit in the
// run's report folder, and the evaluation with the report folder as the
// request named it and a prediction for every test row.
func TestTrainActivitiesOnRealWeek(t *testing.T) {
	dir := weekStore(t)
	a := &activities.Activities{DataDir: dir}
	env := newEnv(a)
	ds := buildDataset(t, a, env)
	direct, err := training.BuildDataset(t.Context(), dir, training.DatasetRequest{Pair: "ETH/USDT", Horizon: 1, Folds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Path != direct.Path || ds.Hash != direct.Hash || ds.Rows != direct.Rows || ds.Cols != direct.Cols || !slices.Equal(ds.Folds, direct.Folds) ||
		ds.Final != direct.Final || !ds.From.Equal(direct.From) || !ds.TestTo.Equal(direct.TestTo) || !strings.HasPrefix(ds.Path, filepath.Join(dir, "datasets", "ETH-USDT", "h1")) {
		t.Fatalf("dataset = %+v, training built %+v", ds, direct)
	}
	params := workflows.SampleTrials(1, 3)[0]
	tr := run[ml.TrialResult](t, env, a.RunTrial, activities.TrialInput{Dataset: ds.Path, Folds: ds.Folds, Trial: 0,
		Params: params, MaxRows: 3000, Rounds: 50, Threads: 1})
	if tr.Err != "" || len(tr.Scores) != 3 || !(tr.Score > 0 && tr.Score < 0.01) || tr.Rounds < 1 {
		t.Errorf("trial = %+v", tr)
	}
	fit := run[activities.FitOutput](t, env, a.FitFinal, activities.FitInput{Pair: "ETH/USDT", Horizon: 1, Dataset: ds.Path,
		Final: ds.Final, Params: params, Rounds: 50, Threads: 2, RunKey: "test-run"})
	if fit.ReportDir != training.ReportDir(dir, "ETH/USDT", 1, "test-run") {
		t.Errorf("report dir %s", fit.ReportDir)
	}
	named := filepath.Join(dir, "reports", "..", "reports", "ETH-USDT", "h1", "test-run") // another spelling of fit.ReportDir
	ev := run[activities.Evaluation](t, env, a.Evaluate, activities.EvaluateInput{Pair: "ETH/USDT", Horizon: 1, Dataset: ds.Path,
		Final: ds.Final, ModelPath: fit.ModelPath, ReportDir: named, Params: params, Trials: []ml.TrialResult{tr}, Write: true, Version: 1})
	for _, k := range []string{"model_mae", "baseline_mae", "ema_drift_mae", "rmse", "skill", "skill_lo", "skill_hi", "pnl", "test_rows"} {
		if _, ok := ev.Metrics[k]; !ok {
			t.Errorf("metric %s missing from %v", k, ev.Metrics)
		}
	}
	if ev.ReportDir != named || ev.TestRows != ds.Final.Test.Len() || ev.Metrics["test_rows"] != float64(ev.TestRows) {
		t.Errorf("evaluation: report dir %s (want %s), %d test rows (want %d)", ev.ReportDir, named, ev.TestRows, ds.Final.Test.Len())
	}
	rows := readCSV(t, filepath.Join(fit.ReportDir, ml.FilePredictions))
	if strings.Join(rows[0], ",") != strings.Join(ml.PredictionsHeader(), ",") || len(rows)-1 != ev.TestRows ||
		rows[1][0] != ds.TestFrom.Format(time.RFC3339) {
		t.Errorf("predictions: header %v, %d rows, first %v", rows[0], len(rows)-1, rows[1])
	}
}

// A worker's cached dataset gives the same trial result as a worker that
// decodes the file for that trial, after the other activities have used the
// cached copy (none of them may modify it), and for concurrent trials; a
// rewritten file is decoded again.
func TestTrialsShareOneDecodedDataset(t *testing.T) {
	dir := weekStore(t)
	a := &activities.Activities{DataDir: dir}
	env := newEnv(a)
	ds := buildDataset(t, a, env)
	params := workflows.SampleTrials(1, 3)[0]
	in := activities.TrialInput{Dataset: ds.Path, Folds: ds.Folds, Params: params, MaxRows: 3000, Rounds: 30, Threads: 1}
	trial := func(a *activities.Activities) ml.TrialResult {
		t.Helper()
		tr := run[ml.TrialResult](t, newEnv(a), a.RunTrial, in)
		if tr.Err != "" || len(tr.Scores) != len(in.Folds) {
			t.Fatalf("trial = %+v", tr)
		}
		return tr
	}
	cold := trial(&activities.Activities{DataDir: dir})
	trial(a)
	fit := run[activities.FitOutput](t, env, a.FitFinal, activities.FitInput{Pair: "ETH/USDT", Horizon: 1, Dataset: ds.Path,
		Final: ds.Final, Params: params, Rounds: 20, Threads: 1, RunKey: "cache"})
	run[activities.Evaluation](t, env, a.Evaluate, activities.EvaluateInput{Pair: "ETH/USDT", Horizon: 1, Dataset: ds.Path,
		Final: ds.Final, ModelPath: fit.ModelPath, ReportDir: fit.ReportDir, Params: params, Write: true})
	same := func(what string, got, want ml.TrialResult) {
		t.Helper()
		if got.Score != want.Score || !slices.Equal(got.Scores, want.Scores) || got.Rounds != want.Rounds {
			t.Errorf("%s: score %v %v rounds %d; want %v %v %d", what, got.Score, got.Scores, got.Rounds, want.Score, want.Scores, want.Rounds)
		}
	}
	same("cached", trial(a), cold)
	shared := &activities.Activities{DataDir: dir}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			v, err := newEnv(shared).ExecuteActivity(shared.RunTrial, in)
			var tr ml.TrialResult
			if err == nil {
				err = v.Get(&tr)
			}
			if err != nil {
				t.Error(err)
				return
			}
			same("concurrent", tr, cold)
		})
	}
	wg.Wait()

	rewriteDataset(t, ds.Path, 2)
	rewritten := trial(&activities.Activities{DataDir: dir})
	if rewritten.Score == cold.Score {
		t.Fatalf("doubled labels, same score %v", cold.Score)
	}
	same("rewritten", trial(a), rewritten)
}

// rewriteDataset scales the labels of the dataset file at path by k, and
// moves its mtime an hour ahead.
func rewriteDataset(t *testing.T, path string, k float64) {
	t.Helper()
	ds, err := ml.ReadDatasetFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ds.Y {
		ds.Y[i] *= k
	}
	if err := ml.WriteDatasetFile(path, ds); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// trainModel fits XGBoost on rows [lo, hi) of the dataset with labels
// shifted by shift, and returns the model bytes.
func trainModel(t *testing.T, ds ml.Dataset, lo, hi, rounds int, shift float64) []byte {
	t.Helper()
	x, y := ds.Float32(lo, hi)
	for i := range y {
		y[i] += float32(shift)
	}
	m, err := xgboost.NewMatrix(x, hi-lo, ds.Cols, float32(math.NaN()))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.SetLabels(y); err != nil {
		t.Fatal(err)
	}
	p := workflows.SampleTrials(1, 1)[0]
	p.MaxDepth, p.Eta, p.MinChildWeight, p.Subsample, p.ColsampleBytree = 8, 0.3, 1, 1, 1
	b, _, err := xgboost.Train(xgboost.Params(p.XGB()), m, xgboost.TrainOptions{Rounds: rounds})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	buf, err := b.Save("ubj")
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

// promote runs the real Promote workflow, with the real activities, on a
// registered version.
func promote(t *testing.T, a *activities.Activities, ds activities.DatasetInfo, version int) workflows.PromoteResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.Promote)
	env.RegisterActivity(a)
	env.ExecuteWorkflow(workflows.Promote, workflows.PromoteRequest{Pair: "ETH/USDT", Horizon: 1, Version: version, DatasetPath: ds.Path})
	var res workflows.PromoteResult
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func register(t *testing.T, reg *registry.Registry, model []byte) int {
	t.Helper()
	if _, err := reg.EnsureBaseline(t.Context(), "ETH/USDT", 1); err != nil {
		t.Fatal(err)
	}
	m, err := reg.Register(t.Context(), registry.Meta{Pair: "ETH/USDT", Horizon: 1, Name: "xgboost"}, model)
	if err != nil {
		t.Fatal(err)
	}
	return m.Version
}

// The gate on real data, through the real Promote workflow and registry:
//   - a model trained on labels shifted by +1% (it predicts a 1% rise every
//     minute) loses to zero-return and stays challenger, with the reason;
//   - a model fitted on the test window itself (deliberately in-sample: its
//     lower MAE there is memorised, which is exactly what a gate compares)
//     beats zero-return and becomes champion;
//   - a weaker in-sample model (3 rounds instead of 200) also beats
//     zero-return but is worse than that champion, re-scored from its
//     artifact, and stays challenger.
func TestGateOnRealData(t *testing.T) {
	dir := weekStore(t)
	a := &activities.Activities{DataDir: dir}
	info := buildDataset(t, a, newEnv(a))
	ds, err := ml.ReadDatasetFile(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	test := info.Final.Test

	bad := register(t, reg, trainModel(t, ds, info.Final.Train.Lo, info.Final.Train.Hi, 50, 0.01))
	res := promote(t, a, info, bad)
	if res.Champion || !strings.Contains(res.Reason, "no skill shown") ||
		!strings.Contains(res.Reason, "of zero-return, the strongest baseline") || !(res.Scores.SkillHi < 0) || res.Scores.CandidateMAE < 10*res.Scores.ZeroMAE {
		t.Errorf("bad model: %+v", res)
	}
	checkStatus(t, reg, bad, registry.Challenger, res.Reason)

	good := register(t, reg, trainModel(t, ds, test.Lo, test.Hi, 200, 0))
	res = promote(t, a, info, good)
	if !res.Champion || !(res.Scores.CandidateMAE < res.Scores.ZeroMAE) || res.Scores.ChampionVersion != 0 {
		t.Errorf("in-sample model: %+v", res)
	}
	checkStatus(t, reg, good, registry.Champion, res.Reason)

	weaker := register(t, reg, trainModel(t, ds, test.Lo, test.Hi, 3, 0))
	res = promote(t, a, info, weaker)
	s := res.Scores
	if res.Champion || s.ChampionVersion != good || !(s.CandidateMAE < s.ZeroMAE) || !(s.CandidateMAE > s.ChampionMAE) ||
		!strings.Contains(res.Reason, "worse than the champion v") {
		t.Errorf("weaker model: %+v", res)
	}
	checkStatus(t, reg, weaker, registry.Challenger, res.Reason)
	if champ, err := reg.Get(t.Context(), "ETH/USDT", 1, registry.Champion); err != nil || champ.Version != good {
		t.Errorf("champion = v%d, %v; want v%d", champ.Version, err, good)
	}
}

func checkStatus(t *testing.T, reg *registry.Registry, version int, status, reason string) {
	t.Helper()
	ms, err := reg.List(t.Context(), "ETH/USDT", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version == version && (m.Status != status || m.Reason != reason) {
			t.Errorf("v%d: status %q reason %q; want %q %q", version, m.Status, m.Reason, status, reason)
		}
	}
}

func TestTrainActivitiesRejectBadInput(t *testing.T) {
	dir := t.TempDir()
	a := &activities.Activities{DataDir: dir}
	env := newEnv(a)
	p := ml.SampleParams(rand.New(rand.NewPCG(1, 2)))
	calls := map[string]func() error{
		"empty store": func() error {
			_, err := env.ExecuteActivity(a.BuildDataset, activities.DatasetInput{Pair: "ETH/USDT", Horizon: 1, Folds: 3})
			return err
		},
		"bad pair": func() error {
			_, err := env.ExecuteActivity(a.BuildDataset, activities.DatasetInput{Pair: "NOPE", Horizon: 1, Folds: 3})
			return err
		},
		"missing dataset": func() error {
			_, err := env.ExecuteActivity(a.RunTrial, activities.TrialInput{Dataset: filepath.Join(dir, "nope.bin"),
				Folds: []activities.Fold{{}}, Params: p, MaxRows: 10, Rounds: 1})
			return err
		},
		"params outside the space": func() error {
			bad := p
			bad.MaxDepth = 99
			_, err := env.ExecuteActivity(a.RunTrial, activities.TrialInput{Dataset: "/x", Folds: []activities.Fold{{}}, Params: bad, MaxRows: 10, Rounds: 1})
			return err
		},
		"alias": func() error {
			_, err := env.ExecuteActivity(a.SetAlias, activities.AliasInput{Pair: "ETH/USDT", Horizon: 1, Alias: "boss", Version: 1})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != market.CodeInvalid || !appErr.NonRetryable() {
				t.Errorf("err = %v, want a non-retryable %s", err, market.CodeInvalid)
			}
		})
	}
}
