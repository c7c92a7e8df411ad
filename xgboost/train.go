package xgboost

// #include <stdlib.h>
// #include <xgboost/c_api.h>
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"strconv"
	"strings"
	"unsafe"
)

// Params are XGBoost learning parameters by name, e.g. objective
// reg:squarederror, max_depth, eta, subsample, colsample_bytree,
// min_child_weight, lambda, alpha, nthread, seed, eval_metric mae.
// XGBoost 1.7 defaults base_score to 0.5 (for reg:absoluteerror it already
// takes the labels' median; 2.x estimates it from the labels for more):
// set it from the training labels with WithBaseScore (or 0 for targets near
// zero such as log returns). Objectives known to work here, on 1.7 and
// later: reg:squarederror, binary:logistic (Predict returns probabilities;
// eval_metric logloss), reg:absoluteerror (eval_metric mae) and
// reg:pseudohubererror (set huber_slope to the labels' scale: the default 1
// makes it squared error on returns); custom losses through
// TrainOptions.Objective (Pinball for quantiles).
type Params map[string]string

// TrainOptions control the boosting loop.
type TrainOptions struct {
	Rounds int // boosting rounds to add (an upper bound with early stopping)
	// EarlyStoppingRounds > 0 stops after that many rounds without an
	// improvement of the Valid metric; it needs Valid.
	EarlyStoppingRounds int
	// Valid is evaluated every round (Params must name eval_metric); its
	// scores fill TrainResult.History.
	Valid  *Matrix
	Logger *slog.Logger // nil: silent
	// Progress, when set, is called after every round with the round index
	// and its validation score (NaN without Valid), e.g. to heartbeat. It
	// runs on the booster's thread: keep it short and do not call the
	// booster from it (that would deadlock).
	Progress func(round int, score float64)
	// Nice > 0 runs the new booster's thread — training, and every later
	// call on the booster — and the OpenMP threads it starts at that
	// niceness (1…19; Linux), so that a latency-sensitive stream in the same
	// process keeps the CPU while training runs. It costs nothing when the
	// machine is otherwise idle. Train only; Continue keeps the booster's.
	Nice int
	// Objective, when set, boosts from its gradients (custom loss, e.g.
	// Pinball) instead of the params' objective: Params must then name no
	// objective other than reg:squarederror (the identity link, so that
	// predictions are raw margins) and no eval_metric; Valid is scored and
	// early-stopped by Objective.Loss; base_score, when absent from Params,
	// is Objective.BaseScore of the training labels (and stored with the
	// params). Continue and Refresh of such a model need the same objective.
	Objective Objective
}

// TrainResult describes a boosting run. Iterations count from the first tree
// of the model, so they stay valid across Continue.
type TrainResult struct {
	BestIteration int       // predictions use trees [0, BestIteration]
	BestScore     float64   // Valid metric at BestIteration (NaN without Valid)
	History       []float64 // Valid metric per round of this run
}

// Train fits a new booster on train (labels set) for opt.Rounds rounds.
func Train(params Params, train *Matrix, opt TrainOptions) (*Booster, TrainResult, error) {
	return TrainContext(context.Background(), params, train, opt)
}

// TrainContext is Train that stops with ctx's error between rounds.
func TrainContext(ctx context.Context, params Params, train *Matrix, opt TrainOptions) (*Booster, TrainResult, error) {
	if err := checkOptions(params, train, opt); err != nil {
		return nil, TrainResult{}, fmt.Errorf("train: %w", err)
	}
	b, err := newBooster(opt.Nice, train, opt.Valid)
	if err != nil {
		return nil, TrainResult{}, fmt.Errorf("train: %w", err)
	}
	res, err := b.start(ctx, params, train, opt)
	if err != nil {
		_ = b.Close()
		return nil, TrainResult{}, fmt.Errorf("train: %w", err)
	}
	return b, res, nil
}

// start applies params, records them in the model and boosts.
func (b *Booster) start(ctx context.Context, params Params, train *Matrix, opt TrainOptions) (TrainResult, error) {
	if opt.Objective != nil {
		var err error
		if params, err = customParams(params, train, opt.Objective); err != nil {
			return TrainResult{}, err
		}
	}
	js, err := json.Marshal(params)
	if err != nil {
		return TrainResult{}, err
	}
	p := Params{"validate_parameters": "1"} // XGBoost warns about unknown names
	maps.Copy(p, params)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.boostLocked(ctx, params["eval_metric"], train, opt, func(h C.BoosterHandle) error {
		if err := setParams(h, p); err != nil {
			return err
		}
		if opt.Objective != nil {
			if err := setAttr(h, AttrObjective, opt.Objective.Name()); err != nil {
				return err
			}
		}
		return setAttr(h, AttrParams, string(js))
	})
}

// customParams are params for boosting with obj: the identity-link
// objective, and base_score from the labels unless given.
func customParams(params Params, train *Matrix, obj Objective) (Params, error) {
	p := maps.Clone(params)
	if p == nil {
		p = Params{}
	}
	p["objective"] = "reg:squarederror"
	if _, ok := p["base_score"]; !ok {
		y, err := train.Labels()
		if err != nil {
			return nil, err
		}
		if len(y) != train.rows {
			return nil, fmt.Errorf("custom objective %s: %d labels for %d rows: %w", obj.Name(), len(y), train.rows, ErrInvalid)
		}
		p["base_score"] = strconv.FormatFloat(obj.BaseScore(y), 'g', -1, 64)
	}
	return p, nil
}

// Continue adds up to rounds more rounds to the model, e.g. one loaded from
// a file (Load re-applies the params stored by Train; SetParam overrides).
// Early stopping only compares the rounds of this call: the best iteration
// becomes the best among them (all older trees stay in use). opt.Rounds is
// ignored. A validation matrix needs eval_metric in the stored params:
// models from Train have it; for others call SetParam("eval_metric", m) and
// SetAttr(AttrParams, `{"eval_metric":"m"}`) first.
func (b *Booster) Continue(train *Matrix, rounds int, opt TrainOptions) (TrainResult, error) {
	return b.ContinueContext(context.Background(), train, rounds, opt)
}

// ContinueContext is Continue that stops with ctx's error between rounds.
func (b *Booster) ContinueContext(ctx context.Context, train *Matrix, rounds int, opt TrainOptions) (TrainResult, error) {
	opt.Rounds = rounds
	b.mu.Lock()
	defer b.mu.Unlock()
	var params Params
	var custom string
	err := b.doLocked(func(h C.BoosterHandle) (err error) {
		if params, err = storedParams(h); err != nil {
			return err
		}
		custom, _, err = getAttr(h, AttrObjective)
		return err
	})
	if err != nil {
		return TrainResult{}, fmt.Errorf("continue: %w", err)
	}
	if err := checkObjective(custom, opt.Objective); err != nil {
		return TrainResult{}, fmt.Errorf("continue: %w", err)
	}
	metric := params["eval_metric"]
	if err := checkOptions(Params{"eval_metric": metric}, train, opt); err != nil {
		return TrainResult{}, fmt.Errorf("continue: %w", err)
	}
	if train.cols != b.nfeat {
		return TrainResult{}, fmt.Errorf("continue: matrix has %d columns, model %d features: %w", train.cols, b.nfeat, ErrInvalid)
	}
	res, err := b.boostLocked(ctx, metric, train, opt, nil)
	if err != nil {
		return TrainResult{}, fmt.Errorf("continue: %w", err)
	}
	return res, nil
}

func checkOptions(params Params, train *Matrix, opt TrainOptions) error {
	switch {
	case train == nil:
		return fmt.Errorf("nil train matrix: %w", ErrInvalid)
	case opt.Rounds <= 0:
		return fmt.Errorf("rounds %d: %w", opt.Rounds, ErrInvalid)
	case opt.EarlyStoppingRounds < 0:
		return fmt.Errorf("early stopping rounds %d: %w", opt.EarlyStoppingRounds, ErrInvalid)
	case opt.EarlyStoppingRounds > 0 && opt.Valid == nil:
		return fmt.Errorf("early stopping needs a validation matrix: %w", ErrInvalid)
	case opt.Objective != nil && params["objective"] != "" && params["objective"] != "reg:squarederror":
		return fmt.Errorf("objective %q with a custom objective (want none or reg:squarederror): %w", params["objective"], ErrInvalid)
	case opt.Objective != nil && params["eval_metric"] != "":
		return fmt.Errorf("eval_metric %q with a custom objective (its Loss is the metric): %w", params["eval_metric"], ErrInvalid)
	case opt.Valid != nil && opt.Objective == nil && params["eval_metric"] == "":
		return fmt.Errorf("a validation matrix needs params eval_metric: %w", ErrInvalid)
	case strings.Contains(params["eval_metric"], ","):
		return fmt.Errorf("eval_metric %q: one metric only: %w", params["eval_metric"], ErrInvalid)
	case opt.Valid != nil && opt.Valid.cols != train.cols:
		return fmt.Errorf("valid has %d columns, train %d: %w", opt.Valid.cols, train.cols, ErrInvalid)
	}
	return nil
}

// boostLocked runs prepare (if any) and the whole boosting loop in one call
// on the booster's thread, then uses the best iteration for predictions.
func (b *Booster) boostLocked(ctx context.Context, metric string, train *Matrix, opt TrainOptions, prepare func(C.BoosterHandle) error) (TrainResult, error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var res TrainResult
	var nfeat int
	err := b.doLocked(func(h C.BoosterHandle) (err error) {
		if prepare != nil {
			if err := prepare(h); err != nil {
				return err
			}
		}
		if res, err = boost(ctx, h, metric, train, opt, log); err != nil {
			return err
		}
		nfeat, err = numFeatures(h)
		return err
	})
	if err != nil {
		return TrainResult{}, err
	}
	b.nfeat = nfeat
	b.useBestLocked(res.BestIteration)
	return res, nil
}

// boost runs the rounds, evaluates Valid after each, stops early, and
// records the best iteration (and score) as model attributes.
func boost(ctx context.Context, h C.BoosterHandle, metric string, train *Matrix, opt TrainOptions, log *slog.Logger) (TrainResult, error) {
	first, err := boostedRounds(h) // also applies the params
	if err != nil {
		return TrainResult{}, fmt.Errorf("configure: %w", err)
	}
	name := C.CString("valid")
	defer C.free(unsafe.Pointer(name))
	step := func(it int) error { return updateOne(h, it, train) }
	evalValid := func(it int) (float64, error) {
		msg, err := evalOne(h, it, opt.Valid, name)
		if err != nil {
			return 0, err
		}
		return parseEval(msg, "valid")
	}
	if opt.Objective != nil {
		cr, err := newCustomRounds(opt.Objective, train, opt.Valid)
		if err != nil {
			return TrainResult{}, err
		}
		defer cr.free()
		metric = opt.Objective.Name()
		step = func(it int) error { return cr.step(ctx, h, it) }
		evalValid = func(int) (float64, error) { return cr.score(h) }
	}
	stop := newStopper(opt.EarlyStoppingRounds, opt.Objective == nil && maximizes(metric))
	res := TrainResult{BestScore: math.NaN()}
	it := first
	for ; it < first+opt.Rounds; it++ {
		if err := ctx.Err(); err != nil {
			return TrainResult{}, fmt.Errorf("round %d: %w", it, err)
		}
		if err := step(it); err != nil {
			return TrainResult{}, err
		}
		res.BestIteration = it
		score := math.NaN()
		if opt.Valid != nil {
			var err error
			if score, err = evalValid(it); err != nil {
				return TrainResult{}, err
			}
			res.History = append(res.History, score)
			log.Debug("xgboost round", "round", it, "valid_"+metric, score)
		}
		if opt.Progress != nil {
			opt.Progress(it, score)
		}
		if opt.Valid != nil && stop.update(it, score) {
			it++
			break
		}
	}
	if opt.Valid != nil && opt.EarlyStoppingRounds > 0 {
		res.BestIteration, res.BestScore = stop.best, stop.score
	} else if len(res.History) > 0 {
		res.BestScore = res.History[len(res.History)-1]
	}
	if !math.IsNaN(res.BestScore) {
		if err := setAttr(h, AttrBestScore, strconv.FormatFloat(res.BestScore, 'g', -1, 64)); err != nil {
			return TrainResult{}, err
		}
	}
	if err := setAttr(h, AttrBestIteration, strconv.Itoa(res.BestIteration)); err != nil {
		return TrainResult{}, err
	}
	log.Info("xgboost trained", "rounds", it, "new_rounds", it-first, "best_iteration", res.BestIteration,
		"best_"+metric, res.BestScore)
	return res, nil
}

// parseEval reads the score of data set name from XGBoosterEvalOneIter's
// "[3]\tvalid-mae:0.00123" (the last metric when there are several, as
// Python's early stopping does).
func parseEval(msg, name string) (float64, error) {
	score, found := 0.0, false
	for _, f := range strings.Fields(msg) { // the first, "[3]", has no ':'
		i := strings.LastIndexByte(f, ':')
		if i < 0 || !strings.HasPrefix(f[:i], name+"-") {
			continue
		}
		v, err := strconv.ParseFloat(f[i+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("eval %q: %w", msg, err)
		}
		score, found = v, true
	}
	if !found {
		return 0, fmt.Errorf("eval %q: no %s score: %w", msg, name, ErrXGBoost)
	}
	return score, nil
}

// maximizes says whether a higher metric is better (Python's rule).
func maximizes(metric string) bool {
	if metric == "mape" {
		return false
	}
	for _, p := range []string{"auc", "aucpr", "map", "ndcg"} {
		if metric == p || strings.HasPrefix(metric, p+"@") {
			return true
		}
	}
	return false
}

// stopper is the early-stopping rule of Python's xgboost: a round improves
// when strictly better than the best so far; stop after patience rounds
// without one. patience 0 never stops.
type stopper struct {
	patience, since int
	maximize        bool
	started         bool
	best            int
	score           float64
}

func newStopper(patience int, maximize bool) *stopper {
	return &stopper{patience: patience, maximize: maximize, best: -1, score: math.NaN()}
}

// update records round it's score and reports whether to stop.
func (s *stopper) update(it int, score float64) bool {
	better := !s.started || (s.maximize && score > s.score) || (!s.maximize && score < s.score)
	if better {
		s.started, s.best, s.score, s.since = true, it, score, 0
	} else {
		s.since++
	}
	return s.patience > 0 && s.since >= s.patience
}

func nan32() float32 { return float32(math.NaN()) }
