package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
)

// Defaults of a training request.
const (
	DefaultHorizon          = 1
	DefaultTrials           = 20
	DefaultFolds            = 3
	DefaultTrainConcurrency = 2 // trials at once, one thread each
	maxHorizon              = market.MaxHorizon
	maxFolds                = 10
)

// Phases of a training run, as Train's progress query shows them
// (PhaseCompleted and PhaseFailed as for backfills).
const (
	PhaseDataset    = "dataset"
	PhaseTuning     = "tuning"
	PhaseFitting    = "fitting"
	PhaseProducts   = "products"
	PhaseEvaluating = "evaluating"
	PhaseRegister   = "registering"
	PhasePromoting  = "promoting"
	PhaseReport     = "report"
)

// TrainRequest is the input of Train. From the Temporal UI it is JSON:
// {"pair":"ETH/USDT","horizon":1,"trials":20,"data_dir":"/data"}.
type TrainRequest struct {
	Pair        string    `json:"pair"`
	Horizon     int       `json:"horizon,omitempty"` // candles ahead: 1
	Trials      int       `json:"trials,omitempty"`  // parameter sets tried: 20
	DataDir     string    `json:"data_dir,omitempty"`
	From        time.Time `json:"from,omitzero"` // zero: all the store holds
	To          time.Time `json:"to,omitzero"`
	Seed        int64     `json:"seed,omitempty"`
	Folds       int       `json:"folds,omitempty"`       // walk-forward CV folds: 3
	Concurrency int       `json:"concurrency,omitempty"` // trials at once: 2
	// MaxRows and Rounds bound a trial (see TuneRequest); 0 = the defaults.
	MaxRows int `json:"max_rows,omitempty"`
	Rounds  int `json:"rounds,omitempty"`
}

// Normalize validates the request and fills its defaults.
func (r TrainRequest) Normalize() (TrainRequest, error) {
	n := r
	var errs []error
	n.Pair, errs = normalizePair(r.Pair, errs)
	n.DataDir, errs = cleanDataDir(r.DataDir, errs)
	n.From, n.To = r.From.UTC(), r.To.UTC()
	if !n.From.IsZero() && !n.To.IsZero() && !n.From.Before(n.To) {
		errs = append(errs, fmt.Errorf("from %s is not before to %s", n.From.Format(time.RFC3339), n.To.Format(time.RFC3339)))
	}
	n.Horizon = defaultInt(r.Horizon, DefaultHorizon)
	n.Trials = defaultInt(r.Trials, DefaultTrials)
	n.Folds = defaultInt(r.Folds, DefaultFolds)
	n.Concurrency = defaultInt(r.Concurrency, DefaultTrainConcurrency)
	errs = checkRange(errs, "horizon", n.Horizon, 1, maxHorizon)
	errs = checkRange(errs, "trials", n.Trials, 1, maxTrials)
	errs = checkRange(errs, "folds", n.Folds, 1, maxFolds)
	errs = checkRange(errs, "concurrency", n.Concurrency, 1, maxConcurrency)
	errs = checkRange(errs, "max_rows", n.MaxRows, 0, 1<<30)
	errs = checkRange(errs, "rounds", n.Rounds, 0, 100_000)
	return n, errors.Join(errs...)
}

func checkRange(errs []error, name string, v, lo, hi int) []error {
	if v < lo || v > hi {
		return append(errs, fmt.Errorf("%s %d: want %d…%d", name, v, lo, hi))
	}
	return errs
}

// TrainID is the workflow ID of a training run: one per pair and horizon,
// so starting the same training while it runs attaches to it, and starting
// it again later trains a new version.
func TrainID(req TrainRequest) string {
	n, err := req.Normalize()
	if err != nil {
		n = req
	}
	return fmt.Sprintf("train-%s-h%d", market.PairSlug(n.Pair), n.Horizon)
}

// TrainProgress is what Train's "progress" query returns; Tune's progress
// is filled in by QueryTrainProgress (a workflow cannot query its child).
type TrainProgress struct {
	Phase   string                  `json:"phase"`
	Dataset *activities.DatasetInfo `json:"dataset,omitempty"`
	TuneID  string                  `json:"tune_id,omitempty"`
	Tune    TuneProgress            `json:"tune,omitzero"`
	Best    *ml.TrialResult         `json:"best,omitempty"` // once tuning is done
	Version int                     `json:"version,omitempty"`
	Report  string                  `json:"report_dir,omitempty"`
}

// TrainResult is the output of Train.
type TrainResult struct {
	Pair        string             `json:"pair"`
	Horizon     int                `json:"horizon"`
	Version     int                `json:"version"`
	ReportDir   string             `json:"report_dir"`
	ModelPath   string             `json:"model_path"`
	DatasetPath string             `json:"dataset_path"`
	Rows        int                `json:"rows"`
	TestRows    int                `json:"test_rows"`
	Trials      int                `json:"trials"`
	Best        ml.TrialResult     `json:"best"`
	Champion    bool               `json:"champion"`
	Reason      string             `json:"reason"`
	ModelMAE    float64            `json:"model_mae"`
	BaselineMAE float64            `json:"baseline_mae"`
	Metrics     map[string]float64 `json:"metrics"`
	// Products are the vol, quantile and p_up models trained beside the
	// return model, each with the gate's decision (metrics.json records
	// them); ProductsError says why there are none when their step failed.
	Products      []activities.ProductOutcome `json:"products,omitempty"`
	ProductsError string                      `json:"products_error,omitempty"`
	// ProductPromotions are the products' registered versions and champions.
	ProductPromotions []activities.ProductPromotion `json:"product_promotions,omitempty"`
}

// Train builds the dataset, tunes (child workflow Tune), fits the final
// model, evaluates it and the baselines on the test window, writes the
// report, registers the model and lets Promote (child workflow) decide
// whether it becomes champion.
func Train(ctx workflow.Context, req TrainRequest) (TrainResult, error) {
	n, err := req.Normalize()
	if err != nil {
		return TrainResult{}, invalid(err)
	}
	tr := &trainer{req: n, progress: TrainProgress{Phase: PhaseDataset}}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, tr.query); err != nil {
		return TrainResult{}, err
	}
	res, err := tr.run(ctx)
	if err != nil {
		tr.progress.Phase = PhaseFailed
		return TrainResult{}, err
	}
	tr.progress.Phase = PhaseCompleted
	return res, nil
}

type trainer struct {
	req      TrainRequest
	progress TrainProgress
}

func (tr *trainer) query() (TrainProgress, error) { return tr.progress, nil }

func (tr *trainer) run(ctx workflow.Context) (TrainResult, error) {
	r := tr.req
	ds, err := tr.dataset(ctx)
	if err != nil {
		return TrainResult{}, err
	}
	tune, err := tr.tune(ctx, ds)
	if err != nil {
		return TrainResult{}, err
	}
	fit, err := tr.fit(ctx, ds, tune.Best)
	if err != nil {
		return TrainResult{}, err
	}
	products := tr.products(ctx, ds, fit, tune.Best)
	ev, err := tr.evaluate(ctx, ds, fit, tune, nil)
	if err != nil {
		return TrainResult{}, err
	}
	reg, err := tr.register(ctx, ds, fit, tune.Best, ev)
	if err != nil {
		return TrainResult{}, err
	}
	pr, err := tr.promote(ctx, ds, reg.Version)
	if err != nil {
		return TrainResult{}, err
	}
	products = tr.registerProducts(ctx, ds, products)
	// The report is written last, so that it names the version and the
	// gate's decision; its metrics are the ones just registered.
	tr.progress.Phase = PhaseReport
	w := &report{version: reg.Version, notes: append(reportNotes(tune, fit, pr), products.notes()...)}
	if ev, err = tr.evaluate(ctx, ds, fit, tune, w); err != nil {
		return TrainResult{}, err
	}
	workflow.GetLogger(ctx).Info("train completed", "pair", r.Pair, "horizon", r.Horizon, "version", reg.Version,
		"champion", pr.Champion, "reason", pr.Reason)
	return TrainResult{Pair: r.Pair, Horizon: r.Horizon, Version: reg.Version, ReportDir: ev.ReportDir, ModelPath: fit.ModelPath,
		DatasetPath: ds.Path, Rows: ds.Rows, TestRows: ev.TestRows, Trials: r.Trials, Best: tune.Best,
		Champion: pr.Champion, Reason: pr.Reason, ModelMAE: ev.Metrics["model_mae"], BaselineMAE: ev.Metrics["baseline_mae"],
		Metrics: ev.Metrics, Products: products.res.Products, ProductsError: products.err, ProductPromotions: products.promotions}, nil
}

// productsVersion marks histories whose Train runs the products step
// (workflow.GetVersion): runs recorded before it replay without it.
const productsVersion = "products"

// productsRun is the products step's result, or why it failed.
type productsRun struct {
	res        activities.ProductsResult
	promotions []activities.ProductPromotion
	err        string
}

// productsRegisterVersion marks histories whose Train registers the
// products and promotes each through the gate.
const productsRegisterVersion = "products-register"

// registerProducts registers each product's model and fitted baseline and
// sets its aliases (the gate's decision per product); a failure is recorded
// like the products step's.
func (tr *trainer) registerProducts(ctx workflow.Context, ds activities.DatasetInfo, p productsRun) productsRun {
	if len(p.res.Products) == 0 || workflow.GetVersion(ctx, productsRegisterVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return p
	}
	r := tr.req
	in := activities.RegisterProductsInput{DataDir: r.DataDir, Pair: r.Pair, Horizon: r.Horizon, ReportDir: p.res.ReportDir,
		Dataset: ds, Products: p.res.Products}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, registryOptions), acts.RegisterProducts, in).Get(ctx, &p.promotions)
	if err != nil {
		workflow.GetLogger(ctx).Warn("products not registered", "pair", r.Pair, "horizon", r.Horizon, "error", err)
		p.err = "register: " + err.Error()
	}
	return p
}

// products trains the vol, quantile and p_up products into the run's report
// folder (one activity for all, paths only). They come beside the return
// model: their failure is recorded, not the run's.
func (tr *trainer) products(ctx workflow.Context, ds activities.DatasetInfo, fit activities.FitOutput, best ml.TrialResult) productsRun {
	if workflow.GetVersion(ctx, productsVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return productsRun{}
	}
	r := tr.req
	tr.progress.Phase = PhaseProducts
	in := activities.ProductsInput{DataDir: r.DataDir, Pair: r.Pair, Horizon: r.Horizon, Dataset: ds.Path, ReportDir: fit.ReportDir,
		ReturnModel: fit.ModelPath, Params: best.Params, Rounds: defaultInt(r.Rounds, DefaultRounds), Threads: r.Concurrency, Seed: r.Seed}
	var run productsRun
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, fitOptions), acts.TrainProducts, in).Get(ctx, &run.res); err != nil {
		workflow.GetLogger(ctx).Warn("products failed; the return model goes on", "pair", r.Pair, "horizon", r.Horizon, "error", err)
		run.err = err.Error()
	}
	return run
}

// notes are the report's lines on the products: each gate decision.
func (p productsRun) notes() []string {
	if len(p.res.Products) == 0 && p.err != "" {
		return []string{"Products (vol, quantiles, p_up) failed: " + p.err + "."}
	}
	var out []string
	for _, o := range p.res.Products {
		out = append(out, fmt.Sprintf("Product %s gate: %s.", o.Product, o.Gate.Reason))
	}
	for _, pr := range p.promotions {
		out = append(out, fmt.Sprintf("Product %s registry: model v%d, baseline v%d, champion v%d.", pr.Product, pr.Version, pr.BaselineVersion, pr.Champion))
	}
	if p.err != "" {
		out = append(out, "Products "+p.err+".")
	}
	return out
}

func (tr *trainer) dataset(ctx workflow.Context) (activities.DatasetInfo, error) {
	r := tr.req
	in := activities.DatasetInput{DataDir: r.DataDir, Pair: r.Pair, Horizon: r.Horizon, From: r.From, To: r.To, Folds: r.Folds}
	var ds activities.DatasetInfo
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, datasetOptions), acts.BuildDataset, in).Get(ctx, &ds)
	if err != nil {
		return ds, err
	}
	tr.progress.Dataset = &ds
	return ds, nil
}

func (tr *trainer) tune(ctx workflow.Context, ds activities.DatasetInfo) (TuneResult, error) {
	r := tr.req
	id := workflow.GetInfo(ctx).WorkflowExecution.ID + "-tune"
	tr.progress.Phase, tr.progress.TuneID = PhaseTuning, id
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id})
	in := TuneRequest{Pair: r.Pair, Horizon: r.Horizon, Dataset: ds, Trials: r.Trials, Concurrency: r.Concurrency,
		Seed: r.Seed, MaxRows: r.MaxRows, Rounds: r.Rounds}
	var res TuneResult
	if err := workflow.ExecuteChildWorkflow(cctx, Tune, in).Get(ctx, &res); err != nil {
		return res, err
	}
	tr.progress.Best = &res.Best
	return res, nil
}

func (tr *trainer) fit(ctx workflow.Context, ds activities.DatasetInfo, best ml.TrialResult) (activities.FitOutput, error) {
	r := tr.req
	tr.progress.Phase = PhaseFitting
	info := workflow.GetInfo(ctx)
	// The report folder is named by the run's start time and ID: unique per
	// run, and the same on a replay.
	key := info.WorkflowStartTime.UTC().Format("20060102T150405Z") + "-" + shortID(info.WorkflowExecution.RunID)
	in := activities.FitInput{DataDir: r.DataDir, Pair: r.Pair, Horizon: r.Horizon, Dataset: ds.Path, Final: ds.Final,
		Params: best.Params, Rounds: defaultInt(r.Rounds, DefaultRounds), Threads: r.Concurrency, RunKey: key}
	var out activities.FitOutput
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, fitOptions), acts.FitFinal, in).Get(ctx, &out)
	return out, err
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// report asks Evaluate to write the report files.
type report struct {
	version int
	notes   []string
}

func reportNotes(tune TuneResult, fit activities.FitOutput, pr PromoteResult) []string {
	status := AliasChallenger
	if pr.Champion {
		status = AliasChampion
	}
	return []string{
		fmt.Sprintf("Promotion gate: %s — %s.", status, pr.Reason),
		fmt.Sprintf("Tuning: %d trial results; the best, trial %d at rung %d, had a walk-forward CV MAE of %.6g over %d folds.",
			len(tune.Trials), tune.Best.ID, tune.Best.Rung+1, tune.Best.Score, len(tune.Best.Scores)),
		fmt.Sprintf("Final fit: %d boosting rounds (early stopping on the validation rows, MAE %.6g).", fit.BestIteration+1, fit.ValidMAE),
	}
}

func (tr *trainer) evaluate(ctx workflow.Context, ds activities.DatasetInfo, fit activities.FitOutput, tune TuneResult, w *report) (activities.Evaluation, error) {
	r := tr.req
	if w == nil {
		tr.progress.Phase = PhaseEvaluating
	}
	in := activities.EvaluateInput{Pair: r.Pair, Horizon: r.Horizon, Dataset: ds.Path, Final: ds.Final, ModelPath: fit.ModelPath,
		ReportDir: fit.ReportDir, Params: tune.Best.Params, Trials: tune.Trials, Seed: r.Seed}
	if w != nil {
		in.Write, in.Version, in.Notes = true, w.version, w.notes
	}
	var ev activities.Evaluation
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, evaluateOptions), acts.Evaluate, in).Get(ctx, &ev); err != nil {
		return ev, err
	}
	tr.progress.Report = ev.ReportDir
	return ev, nil
}

func (tr *trainer) register(ctx workflow.Context, ds activities.DatasetInfo, fit activities.FitOutput, best ml.TrialResult, ev activities.Evaluation) (activities.Registered, error) {
	r := tr.req
	tr.progress.Phase = PhaseRegister
	in := activities.RegisterInput{DataDir: r.DataDir, Pair: r.Pair, Horizon: r.Horizon, ModelPath: fit.ModelPath,
		ReportDir: ev.ReportDir, Params: best.Params.XGB(), Metrics: ev.Metrics, Dataset: ds}
	var reg activities.Registered
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, registryOptions), acts.RegisterModel, in).Get(ctx, &reg); err != nil {
		return reg, err
	}
	tr.progress.Version = reg.Version
	return reg, nil
}

func (tr *trainer) promote(ctx workflow.Context, ds activities.DatasetInfo, version int) (PromoteResult, error) {
	r := tr.req
	tr.progress.Phase = PhasePromoting
	id := workflow.GetInfo(ctx).WorkflowExecution.ID + "-promote"
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id})
	in := PromoteRequest{Pair: r.Pair, Horizon: r.Horizon, Version: version, DataDir: r.DataDir, DatasetPath: ds.Path}
	var res PromoteResult
	err := workflow.ExecuteChildWorkflow(cctx, Promote, in).Get(ctx, &res)
	return res, err
}

// DefaultRetrainEvery is how often a retraining schedule starts Train.
const DefaultRetrainEvery = 24 * time.Hour

// ScheduleID is the ID of the retraining schedule of a pair and horizon.
func ScheduleID(req TrainRequest) string {
	return "re" + TrainID(req) // retrain-<slug>-h<h>
}
