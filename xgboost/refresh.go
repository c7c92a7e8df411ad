package xgboost

// #include <stdlib.h>
// #include <xgboost/c_api.h>
import "C"

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"unsafe"
)

// refreshParams make XGBoosterUpdateOneIter (or BoostOneIter) re-estimate an
// existing tree per round instead of growing a new one.
var refreshParams = Params{"process_type": "update", "updater": "refresh", "refresh_leaf": "1"}

// Refresh re-estimates the leaf values (and node statistics) of every tree
// of the model on train's rows (labels set), keeping the trees' structure
// and number: XGBoost's process_type=update, updater=refresh,
// refresh_leaf=1, one XGBoosterUpdateOneIter per round (XGBoosterBoostOneIter
// or XGBoosterTrainOneIter with obj's gradients for a model boosted with a
// custom objective; nil for a built-in one). Tree by tree, each leaf becomes
// eta·(−G/(H+λ)) of the rows reaching it, G and H summed at the predictions
// of the trees before it.
//
// That Newton step is right for reg:squarederror, binary:logistic,
// reg:pseudohubererror and Pinball (whose gradient carries the label scale),
// not for reg:absoluteerror, whose trained leaves are medians of residuals
// but whose refreshed ones would be eta·mean(sign) — up to eta in label
// units: Refresh refuses it (and reg:quantileerror), as stored by Train.
//
// The refresh uses the params stored by Train (eta, lambda,
// min_child_weight...): a model without them (AttrParams) is refreshed with
// XGBoost's defaults, so SetAttr them first for a model made elsewhere.
//
// XGBoost logs one warning per refresh on stderr ("You have manually
// specified the updater parameter ... tree_method will be ignored"): that
// is the refresh updater replacing the tree method's, as intended.
//
// The refresh runs on a copy of the model; the booster takes the result
// only when it succeeded, so after an error it is unchanged. Trees stay
// after the best iteration, which is kept. Like Continue, it holds the
// booster for its duration: a server should refresh a copy (Load of Save)
// and swap it in.
func (b *Booster) Refresh(train *Matrix, obj Objective) error {
	return b.RefreshContext(context.Background(), train, obj)
}

// RefreshContext is Refresh that stops with ctx's error between trees.
func (b *Booster) RefreshContext(ctx context.Context, train *Matrix, obj Objective) error {
	if err := b.refresh(ctx, train, obj); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	return nil
}

func (b *Booster) refresh(ctx context.Context, train *Matrix, obj Objective) error {
	if train == nil {
		return fmt.Errorf("nil train matrix: %w", ErrInvalid)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var (
		rounds int
		params Params
		custom string
		model  []byte
	)
	err := b.doLocked(func(h C.BoosterHandle) (err error) {
		if rounds, err = boostedRounds(h); err != nil {
			return err
		}
		if params, err = storedParams(h); err != nil {
			return err
		}
		if custom, _, err = getAttr(h, AttrObjective); err != nil {
			return err
		}
		model, err = saveModel(h, "ubj")
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case rounds == 0:
		return fmt.Errorf("model has no trees: %w", ErrInvalid)
	case train.cols != b.nfeat:
		return fmt.Errorf("matrix has %d columns, model %d features: %w", train.cols, b.nfeat, ErrInvalid)
	case params["objective"] == "reg:absoluteerror" || params["objective"] == "reg:quantileerror":
		return fmt.Errorf("objective %s: its leaves are not Newton steps, a refresh would rescale them: %w", params["objective"], ErrInvalid)
	}
	if err := checkObjective(custom, obj); err != nil {
		return err
	}
	nice := b.c.nice
	refreshed, err := refreshModel(ctx, model, rounds, train, obj, nice)
	if err != nil {
		return err
	}
	// A fresh learner for the result: the refreshing one keeps
	// process_type=update, under which Continue could grow no tree.
	nb, err := newBooster(nice)
	if err != nil {
		return err
	}
	if err := nb.load(refreshed); err != nil {
		_ = nb.Close()
		return err
	}
	nb.mu.Lock()
	defer nb.mu.Unlock()
	nb.cleanup.Stop()
	old := b.c
	b.cleanup.Stop()
	b.c, nb.c = nb.c, nil
	b.cleanup = runtime.AddCleanup(b, freeForgotten, b.c)
	b.best, b.nfeat = nb.best, nb.nfeat
	_ = old.free() // nothing runs on it: we hold the write lock
	return nil
}

// refreshModel refreshes the trees of the model encoded in buf (rounds of
// them) on train in a learner of its own, and returns the refreshed model.
func refreshModel(ctx context.Context, buf []byte, rounds int, train *Matrix, obj Objective, nice int) ([]byte, error) {
	t, err := newBooster(nice, train)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	var out []byte
	err = t.do(func(h C.BoosterHandle) error {
		if err := check("XGBoosterLoadModelFromBuffer",
			C.XGBoosterLoadModelFromBuffer(h, unsafe.Pointer(&buf[0]), C.bst_ulong(len(buf)))); err != nil {
			return err
		}
		// The stored params and the refresh ones in one go, before anything
		// configures the learner: XGBoost 1.7 builds the refresh updater from
		// the params set since the last configuration only, so a learner
		// configured first (as Load does) refreshes with the default eta,
		// lambda and min_child_weight, silently (TestRefreshPythonCrossCheck).
		p, err := storedParams(h)
		if err != nil {
			return err
		}
		p = maps.Clone(p)
		if p == nil {
			p = Params{}
		}
		maps.Copy(p, refreshParams)
		if err := setParams(h, p); err != nil {
			return err
		}
		step := func(it int) error { return updateOne(h, it, train) }
		if obj != nil {
			cr, err := newCustomRounds(obj, train, nil)
			if err != nil {
				return err
			}
			defer cr.free()
			step = func(it int) error { return cr.step(ctx, h, it) }
		}
		// The learner moved its trees aside to update them; round it takes
		// tree it back, refreshed.
		for it := range rounds {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("tree %d: %w", it, err)
			}
			if err := step(it); err != nil {
				return fmt.Errorf("tree %d: %w", it, err)
			}
		}
		n, err := boostedRounds(h)
		if err != nil {
			return err
		}
		if n != rounds {
			return fmt.Errorf("refreshed model has %d rounds, want %d: %w", n, rounds, ErrXGBoost)
		}
		out, err = saveModel(h, "ubj")
		return err
	})
	return out, err
}
