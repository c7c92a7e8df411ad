package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/tickcast/tickcast/internal/atomicfile"
	"github.com/tickcast/tickcast/internal/datadir"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/xgboost"
)

// Span is a half-open range [Lo, Hi) of dataset row indices.
type Span struct {
	Lo int `json:"lo"`
	Hi int `json:"hi"`
}

// Len is the number of rows in the span.
func (s Span) Len() int { return max(0, s.Hi-s.Lo) }

// Fold is one walk-forward split: train, then valid (and, for the final
// split, test), each after a purge gap of at least the horizon.
type Fold struct {
	Train Span `json:"train"`
	Valid Span `json:"valid"`
	Test  Span `json:"test,omitzero"`
}

// DatasetInput asks for a pair's training set at one horizon.
type DatasetInput struct {
	DataDir string    `json:"data_dir,omitempty"`
	Pair    string    `json:"pair"`
	Horizon int       `json:"horizon"`
	From    time.Time `json:"from,omitzero"` // zero: all the store holds
	To      time.Time `json:"to,omitzero"`
	Folds   int       `json:"folds"`
}

// DatasetInfo is a dataset written to a file: the path and a summary, never rows.
type DatasetInfo struct {
	Path     string    `json:"path"` // <dataDir>/datasets/<slug>/h<h>/<hash>/dataset.bin
	Hash     string    `json:"hash"`
	Rows     int       `json:"rows"`
	Cols     int       `json:"cols"`
	From     time.Time `json:"from"` // first and last row ts
	To       time.Time `json:"to"`
	Folds    []Fold    `json:"folds"` // walk-forward CV folds, for tuning
	Final    Fold      `json:"final"` // train | valid | test, for the final fit and the gate
	TestFrom time.Time `json:"test_from"`
	TestTo   time.Time `json:"test_to"`
}

// TrialInput is one tuning trial at one rung of successive halving: the
// walk-forward CV score of one parameter set on at most MaxRows training
// rows per fold (the newest ones).
type TrialInput struct {
	Dataset string         `json:"dataset"` // DatasetInfo.Path
	Folds   []Fold         `json:"folds"`
	Trial   int            `json:"trial"`
	Rung    int            `json:"rung"`
	Params  ml.TrialParams `json:"params"`
	MaxRows int            `json:"max_rows"`
	Rounds  int            `json:"rounds"`
	Threads int            `json:"threads"`
}

// FitInput is the final fit: the best parameters on the final split's train
// rows, early stopping on its valid rows.
type FitInput struct {
	DataDir string         `json:"data_dir,omitempty"`
	Pair    string         `json:"pair"`
	Horizon int            `json:"horizon"`
	Dataset string         `json:"dataset"`
	Final   Fold           `json:"final"`
	Params  ml.TrialParams `json:"params"`
	Rounds  int            `json:"rounds"`
	Threads int            `json:"threads"`
	RunKey  string         `json:"run_key"` // names the report folder
}

// FitOutput is where the model went.
type FitOutput struct {
	ReportDir     string  `json:"report_dir"`
	ModelPath     string  `json:"model_path"`
	BestIteration int     `json:"best_iteration"`
	ValidMAE      float64 `json:"valid_mae"`
	Seconds       float64 `json:"seconds"`
}

// EvaluateInput scores the fitted model and the baselines on the test
// window and writes the report.
type EvaluateInput struct {
	Pair      string           `json:"pair"`
	Horizon   int              `json:"horizon"`
	Dataset   string           `json:"dataset"`
	Final     Fold             `json:"final"`
	ModelPath string           `json:"model_path"`
	ReportDir string           `json:"report_dir"`
	Params    ml.TrialParams   `json:"params"`
	Trials    []ml.TrialResult `json:"trials"`
	Seed      int64            `json:"seed"`
	// Write writes the report files; Train evaluates once for the metrics,
	// and again with Write once the version and the gate's decision are known.
	Write   bool     `json:"write,omitempty"`
	Version int      `json:"version,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// Evaluation is the test-window metrics in the registry's keys
// (model_mae, baseline_mae, dir_acc, skill, …).
type Evaluation struct {
	ReportDir string             `json:"report_dir"`
	TestRows  int                `json:"test_rows"`
	Metrics   map[string]float64 `json:"metrics"`
}

// RegisterInput records a trained model as a new version.
type RegisterInput struct {
	DataDir   string             `json:"data_dir,omitempty"`
	Pair      string             `json:"pair"`
	Horizon   int                `json:"horizon"`
	ModelPath string             `json:"model_path"`
	ReportDir string             `json:"report_dir"`
	Params    map[string]string  `json:"params"`
	Metrics   map[string]float64 `json:"metrics"`
	Dataset   DatasetInfo        `json:"dataset"`
}

// Registered is the new version (and the baseline's, version 0).
type Registered struct {
	Version         int `json:"version"`
	BaselineVersion int `json:"baseline_version"`
}

// GateInput names a candidate and the dataset whose test window judges it.
type GateInput struct {
	DataDir string `json:"data_dir,omitempty"`
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	Version int    `json:"version"`
	Dataset string `json:"dataset"`
}

// GateScores are the candidate's, the zero-return baseline's and the current
// champion's MAE on the same test window.
type GateScores struct {
	Rows            int       `json:"rows"`
	TestFrom        time.Time `json:"test_from"`
	TestTo          time.Time `json:"test_to"`
	CandidateMAE    float64   `json:"candidate_mae"`
	ZeroMAE         float64   `json:"zero_mae"`
	ChampionVersion int       `json:"champion_version"`
	ChampionName    string    `json:"champion_name"`
	ChampionMAE     float64   `json:"champion_mae"`
}

// AliasInput points an alias at a version, with the reason recorded.
type AliasInput struct {
	DataDir string `json:"data_dir,omitempty"`
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	Alias   string `json:"alias"`
	Version int    `json:"version"`
	Reason  string `json:"reason"`
}

// Layout of the training outputs in a data directory.
const (
	datasetFile = "dataset.bin"
	splitsFile  = "splits.json"
	modelFile   = "model.ubj"
)

// Splits: the last 20% of the rows are the test window, the 10% before it
// the final fit's validation (early stopping); CV folds live in the rest.
const (
	testFrac      = 0.2
	validFrac     = 0.1
	earlyStopping = 20
)

// trainNice is the niceness of the threads boosting trials and final fits
// (xgboost.TrainOptions.Nice): the live stream shares the process and its
// cores (`tickcast run`), and gets the CPU first whenever both want it
// (docs/benchmarks.md, candle emit while training). On an otherwise idle
// machine it changes nothing.
const trainNice = 10

// splits is splits.json beside a dataset file: the dataset's layout, so that
// the final fit, the evaluation and the gate all use one test window.
type splits struct {
	Folds    []Fold    `json:"folds"`
	Final    Fold      `json:"final"`
	TestFrom time.Time `json:"test_from"`
	TestTo   time.Time `json:"test_to"`
}

// BuildDataset reads the pair's features and candles from the store, builds
// the supervised rows (ml.Build) and the walk-forward splits, and writes them
// under a content hash, so equal data gives the same path and is written once.
func (a *Activities) BuildDataset(ctx context.Context, in DatasetInput) (DatasetInfo, error) {
	dir, err := a.dataDir(in.DataDir)
	if err != nil {
		return DatasetInfo{}, err
	}
	pair, err := market.NormalizePair(in.Pair)
	if err != nil || in.Horizon < 1 || in.Folds < 1 {
		return DatasetInfo{}, invalidf("dataset: pair %q, horizon %d, folds %d: want a pair, horizon ≥ 1, folds ≥ 1", in.Pair, in.Horizon, in.Folds)
	}
	hb := startHeartbeat(ctx, "reading features")
	defer hb.close()
	ds, err := loadSupervised(dir, pair, in)
	if err != nil {
		return DatasetInfo{}, err
	}
	cv, final, err := ds.WalkForward(in.Folds, testFrac, validFrac)
	if err != nil {
		return DatasetInfo{}, invalid(err)
	}
	sp := splits{Final: fold(final), TestFrom: ds.TS[final.Test[0]], TestTo: ds.TS[final.Test[1]-1]}
	for _, s := range cv {
		sp.Folds = append(sp.Folds, fold(s))
	}
	hb.set(ctx, "writing dataset")
	path, hash, err := writeDataset(dir, ds, sp)
	if err != nil {
		return DatasetInfo{}, err
	}
	a.logger().Info("dataset built", "pair", pair, "horizon", in.Horizon, "rows", ds.Len(), "stats", ds.Stats, "path", path)
	return DatasetInfo{Path: path, Hash: hash, Rows: ds.Len(), Cols: ds.Cols, From: ds.TS[0], To: ds.TS[ds.Len()-1],
		Folds: sp.Folds, Final: sp.Final, TestFrom: sp.TestFrom, TestTo: sp.TestTo}, nil
}

func fold(s ml.Split) Fold {
	return Fold{Train: Span{s.Train[0], s.Train[1]}, Valid: Span{s.Valid[0], s.Valid[1]}, Test: Span{s.Test[0], s.Test[1]}}
}

// loadSupervised reads feature rows in [From, To) and the candles that close
// them and h candles later, and builds the dataset.
func loadSupervised(dir, pair string, in DatasetInput) (ml.Dataset, error) {
	root := datadir.Parquet(dir)
	rows, err := parquet.ReadFeatures(root, pair, in.From, in.To)
	if err != nil {
		return ml.Dataset{}, fmt.Errorf("read features %s: %w", pair, err)
	}
	if len(rows) < 2 {
		return ml.Dataset{}, invalidf("%d feature rows of %s in %s: backfill the pair first", len(rows), pair, root)
	}
	iv := rowInterval(rows)
	// A row's candle ends at its ts; its label's candle ends h intervals later.
	from := rows[0].TS.Add(-2 * iv)
	to := rows[len(rows)-1].TS.Add(time.Duration(in.Horizon+1) * iv)
	candles, err := parquet.ReadCandles(root, pair, from, to)
	if err != nil {
		return ml.Dataset{}, fmt.Errorf("read candles %s: %w", pair, err)
	}
	ds, err := ml.Build(rows, candles, in.Horizon)
	if err != nil {
		return ml.Dataset{}, invalid(err)
	}
	if ds.Len() == 0 {
		return ml.Dataset{}, invalidf("no usable rows of %s (%+v)", pair, ds.Stats)
	}
	return ds, nil
}

// rowInterval is the smallest gap between consecutive feature rows: the
// candle length.
func rowInterval(rows []market.FeatureRow) time.Duration {
	iv := time.Duration(0)
	for i := 1; i < len(rows); i++ {
		if d := rows[i].TS.Sub(rows[i-1].TS); d > 0 && (iv == 0 || d < iv) {
			iv = d
		}
	}
	return max(iv, time.Second)
}

// writeDataset stores the dataset and its splits under
// <dir>/datasets/<slug>/h<h>/<hash>/, hash of both.
func writeDataset(dir string, ds ml.Dataset, sp splits) (path, hash string, err error) {
	var buf bytes.Buffer
	if err := ml.EncodeDataset(&buf, ds); err != nil {
		return "", "", err
	}
	sj, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	h.Write(buf.Bytes())
	h.Write(sj)
	hash = hex.EncodeToString(h.Sum(nil)[:8])
	base := filepath.Join(datadir.Datasets(dir), market.PairSlug(ds.Pair), fmt.Sprintf("h%d", ds.Horizon), hash)
	path = filepath.Join(base, datasetFile)
	if _, err := os.Stat(path); err == nil {
		return path, hash, nil // same content, written before
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", "", err
	}
	if err := atomicfile.Write(filepath.Join(base, splitsFile), sj); err != nil {
		return "", "", err
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return "", "", err
	}
	return path, hash, nil
}

// readDataset loads a dataset file (decoded once per worker, see
// datasetCache: read-only) and its splits; a missing or corrupt file is
// final: retrying cannot bring it back.
func (a *Activities) readDataset(path string) (ml.Dataset, splits, error) {
	var sp splits
	path, err := a.dataPath("dataset", path)
	if err != nil {
		return ml.Dataset{}, sp, err
	}
	ds, err := a.datasets.read(path)
	if err != nil {
		return ds, sp, invalidf("dataset %s: %v", path, err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), splitsFile))
	if err == nil {
		err = json.Unmarshal(b, &sp)
	}
	if err != nil {
		return ds, sp, invalidf("dataset %s splits: %v", path, err)
	}
	return ds, sp, nil
}

// TrialProgress is RunTrial's heartbeat, shown in the UI.
type TrialProgress struct {
	Trial int `json:"trial"`
	Rung  int `json:"rung"`
	Fold  int `json:"fold"`
	Round int `json:"round"`
}

// RunTrial scores one parameter set by walk-forward CV: per fold, train on
// the newest MaxRows training rows with early stopping on the fold's
// validation rows, score = MAE on the fold's test rows at the best round. XGBoost failing
// on these parameters is a result (Err set), not an activity failure.
func (a *Activities) RunTrial(ctx context.Context, in TrialInput) (ml.TrialResult, error) {
	start := time.Now()
	if err := in.Params.Validate(); err != nil {
		return ml.TrialResult{}, invalid(err)
	}
	if len(in.Folds) == 0 || in.MaxRows < 1 || in.Rounds < 1 {
		return ml.TrialResult{}, invalidf("trial %d: %d folds, max_rows %d, rounds %d", in.Trial, len(in.Folds), in.MaxRows, in.Rounds)
	}
	ds, _, err := a.readDataset(in.Dataset)
	if err != nil {
		return ml.TrialResult{}, err
	}
	hb := startHeartbeat(ctx, TrialProgress{Trial: in.Trial, Rung: in.Rung})
	defer hb.close()
	params := xgbParams(in.Params, in.Threads)
	res := ml.TrialResult{ID: in.Trial, Rung: in.Rung, Params: in.Params}
	rounds := 0
	for k, f := range in.Folds {
		if err := checkFold(f, ds.Len(), true); err != nil {
			return ml.TrialResult{}, err
		}
		train := Span{max(f.Train.Lo, f.Train.Hi-in.MaxRows), f.Train.Hi}
		progress := func(round int, _ float64) {
			if round%10 == 0 {
				hb.set(ctx, TrialProgress{Trial: in.Trial, Rung: in.Rung, Fold: k, Round: round})
			}
		}
		b, tr, err := fit(ctx, ds, params, train, f.Valid, in.Rounds, progress)
		if ctx.Err() != nil {
			return ml.TrialResult{}, ctx.Err()
		}
		if err != nil {
			res.Err = err.Error()
			break
		}
		// Score on the fold's test block, not on the rows early stopping
		// chose the round with: that score would be optimistic.
		score, err := foldMAE(ds, b, f.Test)
		b.Close()
		if err != nil {
			res.Err = err.Error()
			break
		}
		res.Scores = append(res.Scores, score)
		rounds += tr.BestIteration + 1
	}
	res.Score = math.NaN()
	if res.Err == "" {
		res.Score = ml.MeanScore(res.Scores)
		res.Rounds = rounds / len(in.Folds)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// foldMAE is the booster's MAE (at its best iteration) on rows s.
func foldMAE(ds ml.Dataset, b *xgboost.Booster, s Span) (float64, error) {
	x, y := ds.Float32(s.Lo, s.Hi)
	pred, err := b.PredictDense(x, s.Len(), ds.Cols)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for i, p := range pred {
		sum += math.Abs(float64(p) - float64(y[i]))
	}
	return sum / float64(len(pred)), nil
}

func xgbParams(p ml.TrialParams, threads int) xgboost.Params {
	params := xgboost.Params(p.XGB())
	params["nthread"] = strconv.Itoa(max(1, threads))
	return params
}

func checkFold(f Fold, n int, test bool) error {
	spans := []Span{f.Train, f.Valid}
	if test {
		spans = append(spans, f.Test)
	}
	for _, s := range spans {
		if s.Lo < 0 || s.Hi > n || s.Lo >= s.Hi {
			return invalidf("split %+v does not fit a dataset of %d rows", f, n)
		}
	}
	return nil
}

// fit trains on rows train with early stopping on rows valid.
func fit(ctx context.Context, ds ml.Dataset, params xgboost.Params, train, valid Span, rounds int, progress func(int, float64)) (*xgboost.Booster, xgboost.TrainResult, error) {
	tm, err := matrix(ds, train)
	if err != nil {
		return nil, xgboost.TrainResult{}, err
	}
	defer tm.Close()
	vm, err := matrix(ds, valid)
	if err != nil {
		return nil, xgboost.TrainResult{}, err
	}
	defer vm.Close()
	return xgboost.TrainContext(ctx, params, tm, xgboost.TrainOptions{Rounds: rounds, EarlyStoppingRounds: earlyStopping, Valid: vm, Progress: progress, Nice: trainNice})
}

func matrix(ds ml.Dataset, s Span) (*xgboost.Matrix, error) {
	x, y := ds.Float32(s.Lo, s.Hi)
	m, err := xgboost.NewMatrix(x, s.Len(), ds.Cols, float32(math.NaN()))
	if err != nil {
		return nil, err
	}
	if err := m.SetLabels(y); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// ReportDir is where a training run's report and model go:
// <dataDir>/reports/<pair_slug>/h<h>/<runKey>.
func ReportDir(dataDir, pair string, horizon int, runKey string) string {
	return filepath.Join(datadir.Reports(dataDir), market.PairSlug(pair), fmt.Sprintf("h%d", horizon), runKey)
}

// FitFinal trains the chosen parameters on the final split's train rows,
// early stopping on its valid rows, and saves the model in the report folder.
func (a *Activities) FitFinal(ctx context.Context, in FitInput) (FitOutput, error) {
	start := time.Now()
	dir, err := a.dataDir(in.DataDir)
	if err != nil {
		return FitOutput{}, err
	}
	if err := in.Params.Validate(); err != nil {
		return FitOutput{}, invalid(err)
	}
	if in.RunKey == "" || strings.ContainsAny(in.RunKey, `/\`) || in.Rounds < 1 {
		return FitOutput{}, invalidf("fit: run key %q, rounds %d", in.RunKey, in.Rounds)
	}
	ds, _, err := a.readDataset(in.Dataset)
	if err != nil {
		return FitOutput{}, err
	}
	if err := checkFold(in.Final, ds.Len(), true); err != nil {
		return FitOutput{}, err
	}
	hb := startHeartbeat(ctx, "fitting")
	defer hb.close()
	progress := func(round int, _ float64) {
		if round%10 == 0 {
			hb.set(ctx, TrialProgress{Trial: -1, Round: round})
		}
	}
	b, tr, err := fit(ctx, ds, xgbParams(in.Params, in.Threads), in.Final.Train, in.Final.Valid, in.Rounds, progress)
	if err != nil {
		return FitOutput{}, fmt.Errorf("final fit %s h%d: %w", in.Pair, in.Horizon, err)
	}
	defer b.Close()
	out := FitOutput{ReportDir: ReportDir(dir, ds.Pair, ds.Horizon, in.RunKey), BestIteration: tr.BestIteration, ValidMAE: tr.BestScore}
	out.ModelPath = filepath.Join(out.ReportDir, modelFile)
	if err := os.MkdirAll(out.ReportDir, 0o755); err != nil {
		return FitOutput{}, err
	}
	if err := b.SaveFile(out.ModelPath); err != nil {
		return FitOutput{}, fmt.Errorf("save model: %w", err)
	}
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// predictModel predicts rows s of ds with the model file at path.
func predictModel(path string, ds ml.Dataset, s Span) ([]float64, map[string]float64, error) {
	b, err := xgboost.LoadFile(path)
	if err != nil {
		return nil, nil, invalidf("model %s: %v", path, err)
	}
	defer b.Close()
	pred, err := predictBooster(b, ds, s)
	if err != nil {
		return nil, nil, err
	}
	imp, err := b.FeatureImportance("gain", ds.Names)
	if err != nil {
		return nil, nil, fmt.Errorf("feature importance: %w", err)
	}
	return pred, imp, nil
}

func predictBooster(b *xgboost.Booster, ds ml.Dataset, s Span) ([]float64, error) {
	x, _ := ds.Float32(s.Lo, s.Hi)
	p32, err := b.PredictDense(x, s.Len(), ds.Cols)
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	pred := make([]float64, len(p32))
	for i, v := range p32 {
		pred[i] = float64(v)
	}
	return pred, nil
}

// Evaluate scores the model and the baselines on the test window with the
// same metrics (skill against zero-return), returns them in the registry's
// keys and, with Write, writes the report (ml.WriteReport).
func (a *Activities) Evaluate(ctx context.Context, in EvaluateInput) (Evaluation, error) {
	ds, sp, err := a.readDataset(in.Dataset)
	if err != nil {
		return Evaluation{}, err
	}
	final := in.Final
	if final == (Fold{}) {
		final = sp.Final
	}
	if err := checkFold(final, ds.Len(), true); err != nil {
		return Evaluation{}, err
	}
	hb := startHeartbeat(ctx, "evaluating")
	defer hb.close()
	test := final.Test
	model, err := a.dataPath("model", in.ModelPath)
	if err != nil {
		return Evaluation{}, err
	}
	reportDir := in.ReportDir
	if in.Write {
		if reportDir, err = a.dataPath("report_dir", in.ReportDir); err != nil {
			return Evaluation{}, err
		}
	}
	pred, imp, err := predictModel(model, ds, test)
	if err != nil {
		return Evaluation{}, err
	}
	realized, closes := ds.Y[test.Lo:test.Hi], ds.Close[test.Lo:test.Hi]
	ev := ml.Eval{Horizon: ds.Horizon, Fee: ml.KrakenTakerFee, Seed: in.Seed}
	base := map[string][]float64{}
	for name, p := range ml.Baselines(ds.Horizon) {
		base[name] = ds.Predict(p, test.Lo, test.Hi)
	}
	zero := base[ml.BaselineZero]
	r := ml.Report{Pair: ds.Pair, Horizon: ds.Horizon, Model: "xgboost", Version: in.Version,
		Metrics: ev.Evaluate(pred, realized, closes, zero), Baselines: map[string]ml.Metrics{},
		Importance: imp, Trials: in.Trials, DataFrom: ds.TS[0], DataTo: ds.TS[ds.Len()-1],
		TestFrom: ds.TS[test.Lo], TestTo: ds.TS[test.Hi-1], Params: in.Params.XGB(), Notes: in.Notes, Fee: ml.KrakenTakerFee}
	for name, p := range base {
		r.Baselines[name] = ev.Evaluate(p, realized, closes, zero)
	}
	out := Evaluation{ReportDir: in.ReportDir, TestRows: test.Len(), Metrics: registryMetrics(r)}
	if !in.Write {
		return out, nil
	}
	r.Test = ml.PredictionRows(ds, test.Lo, test.Hi, pred)
	if err := ml.WriteReport(reportDir, r); err != nil {
		return Evaluation{}, err
	}
	return out, nil
}

// registryMetrics flattens a report's metrics into the registry's keys:
// the model's (model_mae, rmse, dir_acc, skill, pnl, …) and each baseline's
// MAE (baseline_mae is zero-return's, the gate's reference).
func registryMetrics(r ml.Report) map[string]float64 {
	m := r.Metrics
	out := map[string]float64{
		"model_mae": m.MAE, "rmse": m.RMSE, "price_mae": m.PriceMAE, "price_rmse": m.PriceRMSE,
		"dir_acc": m.DirAcc, "dir_acc_lo": m.DirAccLo, "dir_acc_hi": m.DirAccHi,
		"skill": m.Skill, "skill_lo": m.SkillLo, "skill_hi": m.SkillHi,
		"pnl": m.Backtest.PnL, "hit_rate": m.Backtest.HitRate, "turnover": m.Backtest.Turnover,
		"trades": float64(m.Backtest.Trades), "test_rows": float64(m.N),
	}
	for name, b := range r.Baselines {
		key := strings.ReplaceAll(name, "-", "_")
		out[key+"_mae"], out[key+"_rmse"], out[key+"_pnl"] = b.MAE, b.RMSE, b.Backtest.PnL
	}
	out["baseline_mae"] = r.Baselines[ml.BaselineZero].MAE
	for k, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(out, k) // undefined; JSON cannot carry it
		}
	}
	return out
}

func (a *Activities) openRegistry(dataDir string) (*registry.Registry, string, error) {
	dir, err := a.dataDir(dataDir)
	if err != nil {
		return nil, "", err
	}
	reg, err := registry.Open(dir)
	if err != nil {
		return nil, "", fmt.Errorf("open registry %s: %w", dir, err)
	}
	return reg, dir, nil
}

// RegisterModel makes sure the zero-return baseline is version 0, then
// registers the model as the next version. A retry after a registration
// that went through finds it by its report folder instead of adding another.
func (a *Activities) RegisterModel(ctx context.Context, in RegisterInput) (Registered, error) {
	reg, _, err := a.openRegistry(in.DataDir)
	if err != nil {
		return Registered{}, err
	}
	base, err := reg.EnsureBaseline(ctx, in.Pair, in.Horizon)
	if err != nil {
		return Registered{}, fmt.Errorf("baseline: %w", err)
	}
	versions, err := reg.List(ctx, in.Pair, in.Horizon)
	if err != nil {
		return Registered{}, err
	}
	for _, m := range versions {
		if m.Version > 0 && m.ReportDir == in.ReportDir {
			return Registered{Version: m.Version, BaselineVersion: base.Version}, nil
		}
	}
	path, err := a.dataPath("model", in.ModelPath)
	if err != nil {
		return Registered{}, err
	}
	model, err := os.ReadFile(path)
	if err != nil {
		return Registered{}, invalidf("model %s: %v", in.ModelPath, err)
	}
	ds := in.Dataset
	m, err := reg.Register(ctx, registry.Meta{Pair: in.Pair, Horizon: in.Horizon, Name: "xgboost", Artifact: modelFile,
		Params: in.Params, Metrics: in.Metrics, DataFrom: ds.From, DataTo: ds.To, TestFrom: ds.TestFrom, TestTo: ds.TestTo,
		ReportDir: in.ReportDir}, model)
	if err != nil {
		return Registered{}, fmt.Errorf("register %s h%d: %w", in.Pair, in.Horizon, err)
	}
	return Registered{Version: m.Version, BaselineVersion: base.Version}, nil
}

// ScoreGate scores the candidate, the zero-return baseline and the current
// champion on the dataset's test window: the champion is re-evaluated on
// these rows (an XGBoost champion is loaded from its artifact), never judged
// by the numbers it was registered with.
func (a *Activities) ScoreGate(ctx context.Context, in GateInput) (GateScores, error) {
	reg, _, err := a.openRegistry(in.DataDir)
	if err != nil {
		return GateScores{}, err
	}
	ds, sp, err := a.readDataset(in.Dataset)
	if err != nil {
		return GateScores{}, err
	}
	test := sp.Final.Test
	if err := checkFold(sp.Final, ds.Len(), true); err != nil {
		return GateScores{}, err
	}
	if _, err := reg.EnsureBaseline(ctx, in.Pair, in.Horizon); err != nil {
		return GateScores{}, err
	}
	cand, err := reg.Get(ctx, in.Pair, in.Horizon, strconv.Itoa(in.Version))
	if err != nil {
		return GateScores{}, invalidf("candidate v%d: %v", in.Version, err)
	}
	champ, err := reg.Get(ctx, in.Pair, in.Horizon, registry.Champion)
	if err != nil {
		return GateScores{}, fmt.Errorf("champion: %w", err)
	}
	realized := ds.Y[test.Lo:test.Hi]
	s := GateScores{Rows: test.Len(), TestFrom: ds.TS[test.Lo], TestTo: ds.TS[test.Hi-1], ChampionVersion: champ.Version, ChampionName: champ.Name}
	s.ZeroMAE = mae(make([]float64, len(realized)), realized)
	if s.CandidateMAE, err = a.versionMAE(ctx, reg, cand, ds, test); err != nil {
		return GateScores{}, fmt.Errorf("candidate v%d: %w", cand.Version, err)
	}
	if s.ChampionMAE, err = a.versionMAE(ctx, reg, champ, ds, test); err != nil {
		return GateScores{}, fmt.Errorf("champion v%d: %w", champ.Version, err)
	}
	return s, nil
}

// versionMAE is a registered version's MAE on rows s.
func (a *Activities) versionMAE(ctx context.Context, reg *registry.Registry, m registry.Meta, ds ml.Dataset, s Span) (float64, error) {
	realized := ds.Y[s.Lo:s.Hi]
	if m.Name == registry.BaselineName {
		return mae(ds.Predict(ml.ZeroReturn{}, s.Lo, s.Hi), realized), nil
	}
	if m.FeatureSchemaVersion != market.FeatureSchemaVersion {
		return 0, invalidf("feature schema %d, the dataset's is %d: not comparable", m.FeatureSchemaVersion, market.FeatureSchemaVersion)
	}
	art, err := reg.Artifact(ctx, m)
	if err != nil {
		return 0, err
	}
	b, err := xgboost.Load(art)
	if err != nil {
		return 0, invalidf("load artifact: %v", err)
	}
	defer b.Close()
	pred, err := predictBooster(b, ds, s)
	if err != nil {
		return 0, err
	}
	return mae(pred, realized), nil
}

func mae(pred, realized []float64) float64 {
	if len(realized) == 0 {
		return math.NaN()
	}
	var sum float64
	for i, y := range realized {
		sum += math.Abs(pred[i] - y)
	}
	return sum / float64(len(realized))
}

// SetAlias points champion or challenger at a version, recording the reason.
func (a *Activities) SetAlias(ctx context.Context, in AliasInput) error {
	reg, _, err := a.openRegistry(in.DataDir)
	if err != nil {
		return err
	}
	if in.Alias != registry.Champion && in.Alias != registry.Challenger {
		return invalidf("alias %q: want %s or %s", in.Alias, registry.Champion, registry.Challenger)
	}
	if err := reg.SetAlias(ctx, in.Pair, in.Horizon, in.Alias, in.Version, in.Reason); err != nil {
		return fmt.Errorf("set %s of %s h%d to v%d: %w", in.Alias, in.Pair, in.Horizon, in.Version, err)
	}
	return nil
}
