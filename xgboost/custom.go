package xgboost

// #cgo LDFLAGS: -ldl
// #define _GNU_SOURCE
// #include <dlfcn.h>
// #include <stdlib.h>
// #include <xgboost/c_api.h>
//
// // tc_xgb_symbol looks name up in the libxgboost already loaded (the one
// // providing XGBoostVersion), without linking against it: functions newer
// // than the headers we build with resolve at run time, or to NULL.
// static void *tc_xgb_symbol(const char *name) {
//	Dl_info info;
//	if (dladdr((void *)&XGBoostVersion, &info) && info.dli_fname) {
//		void *lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
//		if (lib) {
//			void *sym = dlsym(lib, name);
//			dlclose(lib); // drops the reference NOLOAD took; the library stays
//			return sym;
//		}
//	}
//	return dlsym(RTLD_DEFAULT, name);
// }
//
// // XGBoosterTrainOneIter, XGBoost 2.0+.
// typedef int (*tc_train_one_iter)(BoosterHandle, DMatrixHandle, int, char const *, char const *);
//
// static int tc_call_train_one_iter(void *f, BoosterHandle h, DMatrixHandle d, int iter,
//                                   char const *grad, char const *hess) {
//	return ((tc_train_one_iter)f)(h, d, iter, grad, hess);
// }
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"unsafe"
)

// AttrObjective holds the Name of the custom Objective a model was boosted
// with; Continue and Refresh refuse another objective (or none).
const AttrObjective = "tickcast_objective"

// gradientCall says which C function boosts one round from gradients.
type gradientCall int

const (
	// callBoostOneIter is XGBoosterBoostOneIter: 1.7 (and 2.x/3.x, but
	// deprecated from 2.1, where it warns on every call).
	callBoostOneIter gradientCall = iota
	// callTrainOneIter is XGBoosterTrainOneIter: 2.0+, gradients passed as
	// array-interface JSON.
	callTrainOneIter
)

func (c gradientCall) String() string {
	if c == callTrainOneIter {
		return "XGBoosterTrainOneIter"
	}
	return "XGBoosterBoostOneIter"
}

// chooseGradientCall picks XGBoosterTrainOneIter from 2.0 on when the
// library exports it, XGBoosterBoostOneIter otherwise.
func chooseGradientCall(major int, haveTrainOneIter bool) gradientCall {
	if major >= 2 && haveTrainOneIter {
		return callTrainOneIter
	}
	return callBoostOneIter
}

// xgbSymbol is the address of a libxgboost function, nil when the linked
// library lacks it.
func xgbSymbol(name string) unsafe.Pointer {
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	return C.tc_xgb_symbol(n)
}

// gradientImpl is the call chosen for the linked library, and the address of
// XGBoosterTrainOneIter when that is the one.
var gradientImpl = sync.OnceValues(func() (gradientCall, unsafe.Pointer) {
	major, _, _ := Version()
	f := xgbSymbol("XGBoosterTrainOneIter")
	return chooseGradientCall(major, f != nil), f
})

// GradientCall names the C function custom objectives boost through with
// the linked library: "XGBoosterBoostOneIter" before 2.0,
// "XGBoosterTrainOneIter" from 2.0 on (resolved at run time, as the package
// builds against the 1.7 headers).
func GradientCall() string {
	c, _ := gradientImpl()
	return c.String()
}

// boostGradient adds one round to the model from per-row gradients; call it
// on the booster's thread. iter counts from the model's first round.
func boostGradient(h C.BoosterHandle, it int, train *Matrix, grad, hess []float32) error {
	call, trainOneIter := gradientImpl()
	return train.do(func(mh C.DMatrixHandle) error {
		if call == callBoostOneIter {
			return check("XGBoosterBoostOneIter", C.XGBoosterBoostOneIter(h, mh,
				(*C.float)(unsafe.Pointer(&grad[0])), (*C.float)(unsafe.Pointer(&hess[0])), C.bst_ulong(len(grad))))
		}
		// The library reads both arrays through the addresses in the JSON,
		// which cgo cannot see: pin them for the call.
		var pin runtime.Pinner
		pin.Pin(&grad[0])
		pin.Pin(&hess[0])
		defer pin.Unpin()
		g, hs := C.CString(columnInterface(grad)), C.CString(columnInterface(hess))
		defer C.free(unsafe.Pointer(g))
		defer C.free(unsafe.Pointer(hs))
		return check("XGBoosterTrainOneIter", C.tc_call_train_one_iter(trainOneIter, h, mh, C.int(it), g, hs))
	})
}

// columnInterface describes v as an n×1 float32 array (array interface
// version 3), the gradient shape XGBoosterTrainOneIter expects for one
// target.
func columnInterface(v []float32) string {
	return `{"data":[` + strconv.FormatUint(uint64(uintptr(unsafe.Pointer(&v[0]))), 10) +
		`,true],"shape":[` + strconv.Itoa(len(v)) + `,1],"typestr":"<f4","version":3}`
}

// BoostOneIter adds one round to the model from gradients computed by the
// caller (one grad and hess value per row of train, labels set), through
// GradientCall's C function; iter is the model's round count (Rounds).
// Predictions keep using the best iteration set before (call SetAttr and
// reload, or Continue, to move it); TrainOptions.Objective runs a whole
// loop with early stopping instead.
func (b *Booster) BoostOneIter(train *Matrix, iter int, grad, hess []float32) error {
	if train == nil {
		return fmt.Errorf("boost one iter: nil matrix: %w", ErrInvalid)
	}
	if len(grad) != train.rows || len(hess) != train.rows {
		return fmt.Errorf("boost one iter: %d gradients and %d hessians for %d rows: %w", len(grad), len(hess), train.rows, ErrInvalid)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil && b.nfeat != 0 && train.cols != b.nfeat {
		return fmt.Errorf("boost one iter: matrix has %d columns, model %d features: %w", train.cols, b.nfeat, ErrInvalid)
	}
	var nfeat int
	err := b.doLocked(func(h C.BoosterHandle) (err error) {
		if err := boostGradient(h, iter, train, grad, hess); err != nil {
			return err
		}
		nfeat, err = numFeatures(h)
		return err
	})
	if err != nil {
		return fmt.Errorf("boost one iter: %w", err)
	}
	b.nfeat = nfeat
	return nil
}

// marginConfig predicts the raw margin with every tree; training true is
// what a custom objective's gradient needs (it matters for dart).
func marginConfig(training bool) string {
	return `{"type":1,"training":` + strconv.FormatBool(training) +
		`,"iteration_begin":0,"iteration_end":0,"strict_shape":false}`
}

// predictMargin predicts m's raw margins on the booster's thread.
func predictMargin(h C.BoosterHandle, m *Matrix, cfg *C.char) (out []float32, err error) {
	err = m.do(func(mh C.DMatrixHandle) error {
		var shape *C.bst_ulong
		var dim C.bst_ulong
		var res *C.float
		if err := check("XGBoosterPredictFromDMatrix",
			C.XGBoosterPredictFromDMatrix(h, mh, cfg, &shape, &dim, &res)); err != nil {
			return err
		}
		out = copyPredictions(shape, dim, res)
		return nil
	})
	if err == nil && len(out) != m.rows {
		err = fmt.Errorf("%d margins for %d rows (multi-output model?): %w", len(out), m.rows, ErrInvalid)
	}
	return out, err
}

// customRounds boosts rounds from obj's gradients: the state of one custom
// training run, living on the booster's thread.
type customRounds struct {
	obj                  Objective
	train, valid         *Matrix
	labels, validLabels  []float32
	grad, hess           []float32
	trainCfg, predictCfg *C.char
}

func newCustomRounds(obj Objective, train, valid *Matrix) (*customRounds, error) {
	c := &customRounds{obj: obj, train: train, valid: valid}
	var err error
	if c.labels, err = train.Labels(); err != nil {
		return nil, err
	}
	if len(c.labels) != train.rows {
		return nil, fmt.Errorf("custom objective %s: train has %d labels for %d rows: %w", obj.Name(), len(c.labels), train.rows, ErrInvalid)
	}
	if valid != nil {
		if c.validLabels, err = valid.Labels(); err != nil {
			return nil, err
		}
		if len(c.validLabels) != valid.rows {
			return nil, fmt.Errorf("custom objective %s: valid has %d labels for %d rows: %w", obj.Name(), len(c.validLabels), valid.rows, ErrInvalid)
		}
	}
	c.grad, c.hess = make([]float32, train.rows), make([]float32, train.rows)
	c.trainCfg, c.predictCfg = C.CString(marginConfig(true)), C.CString(marginConfig(false))
	return c, nil
}

func (c *customRounds) free() {
	C.free(unsafe.Pointer(c.trainCfg))
	C.free(unsafe.Pointer(c.predictCfg))
}

// step adds round it: margins on train, gradients, one boost.
func (c *customRounds) step(_ context.Context, h C.BoosterHandle, it int) error {
	pred, err := predictMargin(h, c.train, c.trainCfg)
	if err != nil {
		return err
	}
	c.obj.Gradient(pred, c.labels, c.grad, c.hess)
	return boostGradient(h, it, c.train, c.grad, c.hess)
}

// score is obj's loss on the validation rows with every tree.
func (c *customRounds) score(h C.BoosterHandle) (float64, error) {
	pred, err := predictMargin(h, c.valid, c.predictCfg)
	if err != nil {
		return 0, err
	}
	return c.obj.Loss(pred, c.validLabels), nil
}

// checkObjective refuses to continue a model with an objective other than
// the one it was boosted with (stored is its AttrObjective, "" for a
// built-in objective).
func checkObjective(stored string, obj Objective) error {
	switch {
	case obj == nil && stored != "":
		return fmt.Errorf("model was boosted with custom objective %s: pass it in TrainOptions.Objective: %w", stored, ErrInvalid)
	case obj != nil && stored == "":
		return fmt.Errorf("model was boosted with a built-in objective, not %s: %w", obj.Name(), ErrInvalid)
	case obj != nil && obj.Name() != stored:
		return fmt.Errorf("model was boosted with custom objective %s, not %s: %w", stored, obj.Name(), ErrInvalid)
	}
	return nil
}
