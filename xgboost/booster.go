package xgboost

// #include <stdlib.h>
// #include <xgboost/c_api.h>
import "C"

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

// Attribute keys stored in the model, so they survive save and load. The
// first two are the names Python's xgboost uses for the same facts.
const (
	AttrBestIteration = "best_iteration"
	AttrBestScore     = "best_score"
	// AttrParams holds the training Params as JSON; Load re-applies them so a
	// loaded model continues training with the same configuration.
	AttrParams = "tickcast_params"
)

// Booster is a trained (or loaded) XGBoost model. Its C calls run on a
// thread of its own (see thread), except small PredictDense calls, which run
// on the caller's thread so that many goroutines predict in parallel.
type Booster struct {
	mu      sync.RWMutex // read: Predict, PredictDense; write: everything else
	c       *handles     // nil once closed
	best    int          // best iteration; -1 = use every tree
	nfeat   int          // features of the model; 0 before training
	cleanup runtime.Cleanup
}

// handles are the C resources of a Booster, kept apart from it so the safety
// net cleanup can free them once the Booster is unreachable.
type handles struct {
	h          C.BoosterHandle
	t          *thread
	nice       int     // the thread's niceness (TrainOptions.Nice)
	cfg        *C.char // PredictFromDMatrix config, iteration_end = best+1
	inplaceCfg *C.char // PredictFromDense config, the same plus missing NaN
	// proxies are idle proxy DMatrix handles for in-place prediction. Each
	// call takes its own: XGBoost stores the call's data in the proxy.
	proxies chan C.DMatrixHandle
}

// free releases the handles and ends the thread; no call may be running.
func (c *handles) free() error {
	err := c.t.run(func() error { return check("XGBoosterFree", C.XGBoosterFree(c.h)) })
	c.t.stop()
	C.free(unsafe.Pointer(c.cfg))
	C.free(unsafe.Pointer(c.inplaceCfg))
	for {
		select {
		case p := <-c.proxies:
			C.XGDMatrixFree(p)
		default:
			return err
		}
	}
}

// freeForgotten is the safety-net cleanup of an unclosed Booster.
func freeForgotten(c *handles) { _ = c.free() }

// setBest points both prediction configs at trees [0, best+1).
func (c *handles) setBest(best int) {
	C.free(unsafe.Pointer(c.cfg))
	C.free(unsafe.Pointer(c.inplaceCfg))
	c.cfg = C.CString(predictConfig(best, ""))
	c.inplaceCfg = C.CString(predictConfig(best, `,"missing":NaN,"cache_id":0`))
}

// predictConfig is the prediction config: a normal prediction over trees
// [0, best+1), or over every tree when best < 0, plus extra fields.
func predictConfig(best int, extra string) string {
	return fmt.Sprintf(`{"type":0,"training":false,"iteration_begin":0,"iteration_end":%d,"strict_shape":false%s}`, best+1, extra)
}

// newBooster creates a learner, on a new thread, that caches predictions for
// the given matrices (none for a model about to be loaded).
func newBooster(nice int, cache ...*Matrix) (*Booster, error) {
	hs := make([]C.DMatrixHandle, 0, len(cache))
	for i, m := range cache {
		if m == nil || slices.Contains(cache[:i], m) {
			continue
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.h == nil {
			return nil, fmt.Errorf("create booster: matrix: %w", ErrClosed)
		}
		hs = append(hs, m.h)
	}
	t := startThread(nice)
	var h C.BoosterHandle
	err := t.run(func() error {
		var p *C.DMatrixHandle
		if len(hs) > 0 {
			p = &hs[0]
		}
		return check("XGBoosterCreate", C.XGBoosterCreate(p, C.bst_ulong(len(hs)), &h))
	})
	if err != nil {
		t.stop()
		return nil, err
	}
	c := &handles{h: h, t: t, nice: nice, proxies: make(chan C.DMatrixHandle, max(4, 2*runtime.GOMAXPROCS(0)))}
	c.setBest(-1)
	b := &Booster{c: c, best: -1}
	b.cleanup = runtime.AddCleanup(b, freeForgotten, c)
	return b, nil
}

// Close frees the booster. It is idempotent; calls after it fail with ErrClosed.
func (b *Booster) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c == nil {
		return nil
	}
	b.cleanup.Stop()
	c := b.c
	b.c = nil
	return c.free()
}

// do runs f with the live handle on the booster's thread, under the write lock.
func (b *Booster) do(f func(C.BoosterHandle) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.doLocked(f)
}

// doLocked is do for a caller holding b.mu (read or write).
func (b *Booster) doLocked(f func(C.BoosterHandle) error) error {
	if b.c == nil {
		return fmt.Errorf("booster: %w", ErrClosed)
	}
	c := b.c
	return c.t.run(func() error { return f(c.h) })
}

// BestIteration is the iteration predictions stop at (inclusive); -1 means
// every tree is used (a model without the best_iteration attribute).
func (b *Booster) BestIteration() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.best
}

// useBestLocked makes predictions use trees [0, best+1).
func (b *Booster) useBestLocked(best int) {
	b.best = best
	b.c.setBest(best)
}

// SetParam sets one parameter, e.g. nthread for inference on a loaded model.
func (b *Booster) SetParam(name, value string) error {
	return b.do(func(h C.BoosterHandle) error {
		if err := setParam(h, name, value); err != nil {
			return err
		}
		_, err := boostedRounds(h) // configure now, not in concurrent predictions
		return err
	})
}

// Attr returns a model attribute and whether it is set.
func (b *Booster) Attr(key string) (val string, ok bool, err error) {
	err = b.do(func(h C.BoosterHandle) (err error) {
		val, ok, err = getAttr(h, key)
		return err
	})
	return val, ok, err
}

// SetAttr stores a string attribute in the model (saved with it). The
// attributes named by the Attr* constants are managed by this package.
func (b *Booster) SetAttr(key, value string) error {
	return b.do(func(h C.BoosterHandle) error { return setAttr(h, key, value) })
}

// Rounds is the number of boosting rounds in the model (including those
// after the best iteration).
func (b *Booster) Rounds() (n int, err error) {
	err = b.do(func(h C.BoosterHandle) (err error) {
		n, err = boostedRounds(h)
		return err
	})
	return n, err
}

// NumFeatures is the number of features the model was trained on.
func (b *Booster) NumFeatures() (n int, err error) {
	err = b.do(func(h C.BoosterHandle) (err error) {
		n, err = numFeatures(h)
		return err
	})
	return n, err
}
