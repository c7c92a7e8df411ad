package training

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/internal/atomicfile"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/xgboost"
)

// The forecast products beside the return model (issue #12), per pair ×
// horizon, trained on the return model's dataset and splits with targets
// from the pair's candles:
//
//   - vol: √Σr² of the 1-candle log returns in (t, t+h]; XGBoost squared
//     error on ln(max(vol, VolFloor)), predicted vol = exp(output) ×
//     vol_scale, the MAE-optimal scale on the validation rows (MAEScale);
//   - quantiles: predicted vol × z_q, z_q the empirical q-quantiles of r/σ̂
//     on the validation rows, q = 0.1, 0.5, 0.9 (as log returns): one z_q
//     for all rows (vol-z), or one per tercile of σ̂ (vol-z-terciles,
//     fitVolZTerciles), or pinball boosters; the lowest validation pinball
//     loss serves;
//   - p_up: XGBoost binary:logistic on the rows whose close moved.
//
// Each tries a small grid (productCandidates) with early stopping and
// base_score from the training labels, and keeps the candidate scoring best
// on the validation rows. The baselines are fitted on the training rows
// only; model and baselines are scored on the same test rows (every target
// and baseline defined), skills with a day-block bootstrap CI and a
// Diebold–Mariano test, and the gate's decision recorded per product.
const (
	ProductReturn    = "" // the log return: the registry's product ""
	ProductVol       = registry.ProductVol
	ProductQuantiles = registry.ProductQuantiles
	ProductPUp       = registry.ProductPUp
)

// Files a products run leaves in the run's report folder.
const (
	ProductsFile     = "products.json"     // ProductsReport, under "products" in metrics.json
	productsRowsFile = "products_rows.csv" // per test row, merged into test_predictions.csv
	VolModelFile     = "vol.ubj"           // booster on ln vol (the quantiles' too)
	PUpModelFile     = "p_up.ubj"          // binary:logistic booster
)

// pinballFiles are the pinball boosters' files, per ml.QuantileLevels.
var pinballFiles = []string{"q10.ubj", "q50.ubj", "q90.ubj"}

// Registry names and params of the products' models (the serving side's
// artifact contract: ml.ProductRule's names and params).
const (
	ModelNameVolZ         = ml.ModelXGBoostVolZ         // quantiles: the vol booster × z
	ModelNameVolZTerciles = ml.ModelXGBoostVolZTerciles // quantiles: the vol booster × z of its tercile
	ModelNamePinball      = "xgboost-pinball"           // quantiles: one pinball booster per level (not served yet)
	ParamVolTarget        = ml.ParamVolTarget           // "log": the booster predicts ln vol
	ParamVolScale         = ml.ParamVolScale
)

// ProductsRequest trains and scores the products of one dataset.
type ProductsRequest struct {
	ReportDir   string         // the run's report folder (FitOutput.ReportDir)
	ReturnModel string         // the return model (FitOutput.ModelPath), for its fee curve; "" skips it
	Params      ml.TrialParams // the return model's tuned parameters: one candidate of each product
	Rounds      int            // boosting rounds at most; 0: 400
	Threads     int
	Seed        int64 // of the bootstraps
	// Pinball also fits the quantiles by pinball-loss boosting (three more
	// boosters) and keeps it when it scores best on the validation rows.
	Pinball bool
	// Progress, when set, is told each stage ("vol", "p_up", "scoring").
	Progress func(stage string)
}

// ProductOutcome is one product's model, the gate's decision and the
// baseline that serves when the model does not pass: what registering it
// needs, without rows.
type ProductOutcome struct {
	Product   string            `json:"product"`
	Name      string            `json:"name"`
	ModelPath string            `json:"model_path"`
	Params    map[string]string `json:"params"`
	// Metrics are the registry's figures of the model: model_loss (its
	// test loss on the gate metric), baseline_loss, skill, skill_lo/hi, dm_p
	// and the product's own (finite values only).
	Metrics        map[string]float64 `json:"metrics"`
	Gate           GateDecision       `json:"gate"`
	Baseline       string             `json:"baseline"`
	BaselineParams map[string]string  `json:"baseline_params"`
}

// ProductsResult is where a products run went and what the gate decided.
type ProductsResult struct {
	ReportDir string           `json:"report_dir"`
	TestRows  int              `json:"test_rows"` // scored rows
	Seconds   float64          `json:"seconds"`
	Products  []ProductOutcome `json:"products"`
}

// ProductsReport is products.json.
type ProductsReport struct {
	Pair      string          `json:"pair"`
	Horizon   int             `json:"horizon"`
	TestRows  int             `json:"test_rows"` // rows where every target and baseline is defined
	TrainRows int             `json:"train_rows"`
	ValidRows int             `json:"valid_rows"`
	Block     int             `json:"bootstrap_block"`
	Seconds   float64         `json:"seconds"`
	Vol       VolReport       `json:"vol"`
	Quantiles QuantileReport  `json:"quantiles"`
	PUp       DirectionReport `json:"p_up"`
	Return    struct {
		FeeCurve *FeeCurve `json:"fee_curve,omitempty"` // signal: the predicted return
	} `json:"return"`
	Notes []string `json:"notes"`
}

// ReadCandles reads the pair's candles covering ds and h candles beyond it
// from the store of data directory dir.
func ReadCandles(dir string, ds ml.Dataset) ([]market.Candle, error) {
	if ds.Len() == 0 {
		return nil, invalidf("products: empty dataset")
	}
	store := &parquet.Reader{Root: datadir.Parquet(dir), SkipCorrupt: true}
	iv := max(ds.Interval, time.Second)
	from, to := ds.TS[0].Add(-1441*iv), ds.TS[ds.Len()-1].Add(time.Duration(ds.Horizon+1)*iv)
	c, err := store.Candles(ds.Pair, from, to)
	if err != nil {
		return nil, fmt.Errorf("read candles %s: %w", ds.Pair, err)
	}
	return c, nil
}

// TrainProducts fits, scores and saves the vol, quantile and direction
// products of ds on its final split, candles the pair's (ReadCandles).
func TrainProducts(ctx context.Context, ds ml.Dataset, sp Splits, candles []market.Candle, in ProductsRequest) (ProductsResult, error) {
	start := time.Now()
	f := sp.Final
	if err := f.check(ds.Len()); err != nil {
		return ProductsResult{}, err
	}
	if in.ReportDir == "" {
		return ProductsResult{}, invalidf("products: no report folder")
	}
	pd, err := buildProductData(ds, candles, f.Train)
	if err != nil {
		return ProductsResult{}, err
	}
	train, valid, test := pd.labelled(f.Train), pd.labelled(f.Valid), pd.scored(f.Test)
	if len(train) < 100 || len(valid) < 20 || len(test) < 20 {
		return ProductsResult{}, invalidf("products %s h%d: %d train, %d valid, %d test rows with targets", ds.Pair, ds.Horizon, len(train), len(valid), len(test))
	}
	stage(in.Progress, ProductVol)
	vol, err := fitVolModel(ctx, ds, pd, in, train, valid)
	if err != nil {
		return ProductsResult{}, err
	}
	defer vol.close()
	stage(in.Progress, ProductPUp)
	dir, err := fitDirModel(ctx, ds, pd, in, train, valid)
	if err != nil {
		return ProductsResult{}, err
	}
	defer dir.close()
	s := productScorer{ds: ds, pd: pd, in: in, f: f, train: train, valid: valid, test: test}
	if in.Pinball {
		stage(in.Progress, ProductQuantiles)
		pin, err := fitPinball(ctx, ds, pd, in, train, valid)
		if err != nil {
			return ProductsResult{}, err
		}
		defer pin.close()
		s.pinball = &pin
	}
	stage(in.Progress, "scoring")
	rep, rows, err := s.score(vol, dir)
	if err != nil {
		return ProductsResult{}, err
	}
	rep.Seconds = time.Since(start).Seconds()
	if err := saveProducts(in.ReportDir, rep, rows, vol, dir, s.pinball); err != nil {
		return ProductsResult{}, err
	}
	return ProductsResult{ReportDir: in.ReportDir, TestRows: len(test), Seconds: rep.Seconds,
		Products: outcomes(in.ReportDir, rep, pd.harModel, vol)}, nil
}

// volModel is the vol booster with its validation calibration.
type volModel struct {
	productFit
	scale float64   // vol = scale · exp(output)
	z     []float64 // standardized quantiles at ml.QuantileLevels
	zt    ml.VolZ   // the same per tercile of σ̂ (fitVolZTerciles)
	ztN   [3]int    // the validation rows of each tercile
	// validSigma is the calibrated vol of the validation rows.
	validSigma []float64
}

func fitVolModel(ctx context.Context, ds ml.Dataset, pd productData, in ProductsRequest, train, valid []int) (volModel, error) {
	realized := pick(pd.vol, valid)
	score := func(b *xgboost.Booster) (float64, error) {
		raw, err := predictRows(b, ds, valid)
		if err != nil {
			return 0, err
		}
		return ml.Mean(ml.AbsErrors(expAll(raw, MAEScale(expAll(raw, 1), realized)), realized)), nil
	}
	fit, err := fitCandidates(ctx, ds, in, "reg:squarederror", "rmse", train, valid,
		logVolLabels(pd.vol, train), logVolLabels(pd.vol, valid), score)
	if err != nil {
		return volModel{}, err
	}
	m := volModel{productFit: fit}
	raw, err := predictRows(fit.booster, ds, valid)
	if err != nil {
		m.close()
		return volModel{}, err
	}
	m.scale = MAEScale(expAll(raw, 1), realized)
	sigma, ret := expAll(raw, m.scale), pick(pd.ret, valid)
	std := make([]float64, len(ret))
	for i := range ret {
		std[i] = ret[i] / sigma[i]
	}
	m.z, m.validSigma = ml.EmpiricalQuantiles(std, ml.QuantileLevels), sigma
	m.zt, m.ztN = fitVolZTerciles(sigma, std, m.z)
	return m, nil
}

// fitDirModel fits p_up on the rows whose close moved (label 1: up).
func fitDirModel(ctx context.Context, ds ml.Dataset, pd productData, in ProductsRequest, train, valid []int) (productFit, error) {
	tr, va := moved(pd.dir, train), moved(pd.dir, valid)
	ytr, yva := upLabels(pd.dir, tr), upLabels(pd.dir, va)
	score := func(b *xgboost.Booster) (float64, error) {
		p, err := predictRows(b, ds, va)
		if err != nil {
			return 0, err
		}
		s := 0.0
		for i, y := range yva {
			s += (p[i] - float64(y)) * (p[i] - float64(y))
		}
		return s / float64(len(yva)), nil
	}
	return fitCandidates(ctx, ds, in, "binary:logistic", "logloss", tr, va, ytr, yva, score)
}

func moved(dir []ml.Dir, rows []int) []int {
	var out []int
	for _, i := range rows {
		if dir[i] == ml.DirUp || dir[i] == ml.DirDown {
			out = append(out, i)
		}
	}
	return out
}

func upLabels(dir []ml.Dir, rows []int) []float32 {
	out := make([]float32, len(rows))
	for j, i := range rows {
		if dir[i] == ml.DirUp {
			out[j] = 1
		}
	}
	return out
}

// productScorer predicts the test span and scores every product.
type productScorer struct {
	ds                 ml.Dataset
	pd                 productData
	in                 ProductsRequest
	f                  Fold
	train, valid, test []int
	pinball            *pinballModel // nil: not fitted
}

func spanRows(s Span) []int {
	out := make([]int, s.Len())
	for i := range out {
		out[i] = s.Lo + i
	}
	return out
}

func (s productScorer) score(vol volModel, dir productFit) (ProductsReport, []ml.ProductValues, error) {
	ds, pd, h := s.ds, s.pd, s.ds.Horizon
	span := spanRows(s.f.Test)
	raw, err := predictRows(vol.booster, ds, span)
	if err != nil {
		return ProductsReport{}, nil, err
	}
	pUp, err := predictRows(dir.booster, ds, span)
	if err != nil {
		return ProductsReport{}, nil, err
	}
	volPred := expAll(raw, vol.scale)
	offs := make([]int, len(s.test))
	for j, i := range s.test {
		offs[j] = i - s.f.Test.Lo
	}
	q, methods, best, err := s.chooseQuantiles(vol, volPred, offs)
	if err != nil {
		return ProductsReport{}, nil, err
	}
	rows := make([]ml.ProductValues, len(span))
	for j, i := range span {
		rows[j] = ml.ProductValues{RealizedVol: pd.vol[i], PredVol: volPred[j], Q10: q[0][j], Q50: q[1][j], Q90: q[2][j], PUp: pUp[j]}
	}
	c := comparer{h: h, block: DayRows(ds.Interval, h), seed: uint64(s.in.Seed)}
	rep := ProductsReport{Pair: ds.Pair, Horizon: h, TestRows: len(s.test), TrainRows: len(s.train), ValidRows: len(s.valid), Block: c.block}
	realizedVol := pick(pd.vol, s.test)
	rep.Vol = scoreVol(c, pick(volPred, offs), realizedVol, map[string][]float64{
		ml.BaselineLastRV: pick(pd.lastRV, s.test), ml.BaselineEWMA: pick(pd.ewma, s.test), ml.BaselineHAR: pick(pd.har, s.test)})
	rep.Vol.VolScale, rep.Vol.VolFloor, rep.Vol.Candidates, rep.Vol.HAR = jnum(vol.scale), VolFloor, vol.candidates, pd.harModel.Params()
	rep.Quantiles = s.quantiles(c, [][]float64{pick(q[0], offs), pick(q[1], offs), pick(q[2], offs)})
	rep.Quantiles.Z, rep.Quantiles.Methods, rep.Quantiles.Method = jnums(vol.z), methods, methods[best].Name
	rep.Quantiles.ZTerciles = volZTercileReport(vol.zt, vol.ztN)
	rep.PUp = scoreDirection(c, pick(pUp, offs), pick(pd.dir, s.test), ml.Climatology(pick(pd.dir, s.train)))
	rep.PUp.Candidates = dir.candidates
	if err := s.feeCurves(&rep, dir, pUp); err != nil {
		return ProductsReport{}, nil, err
	}
	rep.Notes = productNotes(pd)
	return rep, rows, nil
}

// chooseQuantiles returns the test span's quantiles of the method with the
// lowest validation pinball loss (a tie keeps the earlier, simpler one),
// every method's validation and test pinball loss (test rows: offs into the
// span) and the chosen one's index. vol-z-terciles is scored on the rows
// its z's were fitted on, as vol-z is: in-sample it never loses to vol-z,
// so its test loss beside it is the check.
func (s productScorer) chooseQuantiles(vol volModel, volPred []float64, offs []int) ([][]float64, []candidateScore, int, error) {
	validRet, testRet := pick(s.pd.ret, s.valid), pick(s.pd.ret, s.test)
	var methods []candidateScore
	var span [][][]float64
	add := func(c candidateScore, valid, test [][]float64) {
		c.ValidLoss, c.TestLoss = jnum(validPinball(valid, validRet)), jnum(validPinball(pickQ(test, offs), testRet))
		methods, span = append(methods, c), append(span, test)
	}
	for _, m := range []struct {
		name string
		z    ml.VolZ
	}{{methodVolZ, ml.GlobalVolZ([3]float64(vol.z))}, {methodVolZTerciles, vol.zt}} {
		add(candidateScore{Name: m.name}, volZQuantiles(vol.validSigma, m.z), volZQuantiles(volPred, m.z))
	}
	if s.pinball != nil {
		vq, err := s.pinball.predict(s.ds, s.valid)
		if err != nil {
			return nil, nil, 0, err
		}
		pq, err := s.pinball.predict(s.ds, spanRows(s.f.Test))
		if err != nil {
			return nil, nil, 0, err
		}
		add(candidateScore{Name: methodPinball, Rounds: slices.Max(s.pinball.rounds), Seconds: s.pinball.seconds}, vq, pq)
	}
	best := 0
	for i, m := range methods {
		if m.ValidLoss < methods[best].ValidLoss {
			best = i
		}
	}
	return span[best], methods, best, nil
}

// The quantile methods.
const (
	methodVolZ         = "vol-z"          // predicted vol × z (empirical quantiles of r/σ̂ on the validation rows)
	methodVolZTerciles = "vol-z-terciles" // the same, z per tercile of σ̂ (Mondrian)
	methodPinball      = "pinball"        // one pinball-loss booster per level (xgboost.Pinball)
)

func pickQ(q [][]float64, offs []int) [][]float64 {
	out := make([][]float64, len(q))
	for j := range q {
		out[j] = pick(q[j], offs)
	}
	return out
}

// quantiles scores the model's quantiles q (test rows) and the baselines'.
func (s productScorer) quantiles(c comparer, q [][]float64) QuantileReport {
	n := len(s.test)
	uq := ml.EmpiricalQuantiles(pick(s.pd.ret, s.train), ml.QuantileLevels)
	uncond := make([][]float64, len(uq))
	for j, v := range uq {
		uncond[j] = make([]float64, n)
		for t := range n {
			uncond[j][t] = v
		}
	}
	har := pick(s.pd.har, s.test)
	r := scoreQuantiles(c, q, pick(s.pd.ret, s.test), har, map[string][][]float64{
		ml.BaselineUncondQuantiles: uncond, ml.BaselineHARGaussian: ml.GaussianQuantiles(0, har, ml.QuantileLevels)})
	return r
}

// feeCurves backtests the direction signal p_up − 0.5 and, with the return
// model, the predicted return, thresholds chosen on the validation span.
func (s productScorer) feeCurves(rep *ProductsReport, dir productFit, pUpTest []float64) error {
	ds, h := s.ds, s.ds.Horizon
	validRet, testRet := ds.Y[s.f.Valid.Lo:s.f.Valid.Hi], ds.Y[s.f.Test.Lo:s.f.Test.Hi]
	pv, err := predictRows(dir.booster, ds, spanRows(s.f.Valid))
	if err != nil {
		return err
	}
	rep.PUp.FeeCurve = feeCurve("p_up − 0.5", h, centred(pv), validRet, centred(pUpTest), testRet)
	if s.in.ReturnModel == "" {
		return nil
	}
	rv, _, err := predictModel(s.in.ReturnModel, ds, s.f.Valid)
	if err != nil {
		return err
	}
	rt, _, err := predictModel(s.in.ReturnModel, ds, s.f.Test)
	if err != nil {
		return err
	}
	fc := feeCurve("predicted return", h, rv, validRet, rt, testRet)
	rep.Return.FeeCurve = &fc
	return nil
}

func centred(p []float64) []float64 {
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = v - 0.5
	}
	return out
}

func productNotes(pd productData) []string {
	return []string{
		fmt.Sprintf("HAR fitted on grid rows [%d, %d) of the training span; windows %v.", pd.harFit.Lo, pd.harFit.Hi, pd.harModel.Windows),
		"vol_scale is the MAE-optimal scale of exp(ln-vol prediction) on the validation rows (the prediction-weighted median of realized/predicted).",
		"Skills: 1 − mean loss(model)/mean loss(baseline) on the same test rows, 95% paired circular moving-block bootstrap CI, blocks of one day of rows (never < h); DM test with Newey–West lag h−1.",
		"Tercile coverage is by the HAR vol forecast's terciles (the same rows for every model).",
		"Quantile methods: vol-z = predicted vol × z (empirical quantiles of r/σ̂ on the validation rows); vol-z-terciles = the same with z per tercile of σ̂ on the validation rows (a tercile under " + strconv.Itoa(minTercileRows) + " rows takes the global z); pinball = one booster per level by pinball loss (when tried); the lowest validation pinball loss serves.",
	}
}

// saveProducts writes the boosters, products.json and the rows.
func saveProducts(dir string, rep ProductsReport, rows []ml.ProductValues, vol volModel, pup productFit, pin *pinballModel) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := vol.booster.SaveFile(filepath.Join(dir, VolModelFile)); err != nil {
		return fmt.Errorf("save vol model: %w", err)
	}
	if err := pup.booster.SaveFile(filepath.Join(dir, PUpModelFile)); err != nil {
		return fmt.Errorf("save p_up model: %w", err)
	}
	if pin != nil {
		for j, b := range pin.boosters {
			if err := b.SaveFile(filepath.Join(dir, pinballFiles[j])); err != nil {
				return fmt.Errorf("save pinball model: %w", err)
			}
		}
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("products report: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, ProductsFile), append(js, '\n')); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, productsRowsFile), rowsCSV(rows))
}

func rowsCSV(rows []ml.ProductValues) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	_ = w.Write([]string{"realized_vol", "predicted_vol", "q10", "q50", "q90", "p_up"})
	for _, r := range rows {
		_ = w.Write([]string{f(r.RealizedVol), f(r.PredVol), f(r.Q10), f(r.Q50), f(r.Q90), f(r.PUp)})
	}
	w.Flush()
	return buf.Bytes()
}

// readProducts reads what TrainProducts left in dir for a test span of n
// rows; (nil, nil, nil) when it left nothing.
func readProducts(dir string, n int) (json.RawMessage, []ml.ProductValues, error) {
	js, err := os.ReadFile(filepath.Join(dir, ProductsFile))
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, productsRowsFile))
	if err != nil {
		return nil, nil, err
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs)-1 != n {
		return nil, nil, invalidf("products rows %s: %d rows for %d test rows (%v)", dir, len(recs)-1, n, err)
	}
	rows := make([]ml.ProductValues, n)
	for i, rec := range recs[1:] {
		var v [6]float64
		for k := range v {
			if v[k], err = strconv.ParseFloat(rec[k], 64); err != nil {
				return nil, nil, invalidf("products rows %s: row %d: %v", dir, i, err)
			}
		}
		rows[i] = ml.ProductValues{RealizedVol: v[0], PredVol: v[1], Q10: v[2], Q50: v[3], Q90: v[4], PUp: v[5]}
	}
	return json.RawMessage(js), rows, nil
}

// outcomes are the products' models and servable baselines in the
// registry's terms.
func outcomes(dir string, rep ProductsReport, har ml.HAR, vol volModel) []ProductOutcome {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	volParams := map[string]string{ParamVolTarget: "log", ParamVolScale: f(vol.scale)}
	qParams := map[string]string{ParamVolTarget: "log", ParamVolScale: f(vol.scale), "z10": f(vol.z[0]), "z50": f(vol.z[1]), "z90": f(vol.z[2])}
	hg := har.Params()
	for j, k := range []string{"z10", "z50", "z90"} {
		hg[k] = f(ml.NormInv(ml.QuantileLevels[j]))
	}
	quantiles := ProductOutcome{Product: ProductQuantiles, Name: ModelNameVolZ, ModelPath: filepath.Join(dir, VolModelFile), Params: qParams,
		Gate: rep.Quantiles.Gate, Baseline: ml.BaselineHARGaussian, BaselineParams: hg}
	switch rep.Quantiles.Method {
	case methodVolZTerciles:
		quantiles.Name, quantiles.Params = ModelNameVolZTerciles, vol.zt.TercileParams()
		quantiles.Params[ParamVolTarget], quantiles.Params[ParamVolScale] = "log", f(vol.scale)
	case methodPinball: // no serving contract yet: the gate's decision is recorded, nothing registers it
		quantiles.Name, quantiles.ModelPath = ModelNamePinball, filepath.Join(dir, pinballFiles[0])
		quantiles.Params = map[string]string{"artifacts": strings.Join(pinballFiles, ",")}
	}
	v, qr, d := rep.Vol, rep.Quantiles, rep.PUp
	quantiles.Metrics = outcomeMetrics(float64(qr.Model.Pinball), qr.Gate, map[string]float64{"coverage": float64(qr.Model.Coverage)})
	return []ProductOutcome{
		{Product: ProductVol, Name: modelName, ModelPath: filepath.Join(dir, VolModelFile), Params: volParams, Gate: v.Gate,
			Metrics:  outcomeMetrics(float64(v.Model.MAE), v.Gate, map[string]float64{"model_mae": float64(v.Model.MAE), "qlike": float64(v.Model.QLIKE)}),
			Baseline: ml.BaselineHAR, BaselineParams: har.Params()},
		quantiles,
		{Product: ProductPUp, Name: modelName, ModelPath: filepath.Join(dir, PUpModelFile), Params: map[string]string{}, Gate: d.Gate,
			Metrics:  outcomeMetrics(float64(d.Model.Brier), d.Gate, map[string]float64{"brier": float64(d.Model.Brier), "log_loss": float64(d.Model.LogLoss)}),
			Baseline: ml.BaselineClimatology, BaselineParams: map[string]string{registry.ParamPUp: f(float64(rep.PUp.Climatology))}},
	}
}
