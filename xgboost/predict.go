package xgboost

// #include <stdlib.h>
// #include <xgboost/c_api.h>
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"unsafe"
)

// callerThreadRows is the largest PredictDense run on the caller's thread.
// XGBoost 1.7 keeps each thread's last prediction in a per-thread, per-model
// buffer that is never freed, so large batches run on the booster's own
// thread, whose buffers go when it exits.
const callerThreadRows = 64

// Predict returns one prediction per row of m (rows×groups values for
// multi-output objectives), using trees up to the best iteration. Calls run
// one at a time on the booster's thread; XGBoost caches the result per
// matrix, so predicting the same Matrix again is cheap.
func (b *Booster) Predict(m *Matrix) ([]float32, error) {
	if m == nil {
		return nil, fmt.Errorf("predict: nil matrix: %w", ErrInvalid)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if err := b.checkColsLocked(m.cols); err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	var out []float32
	err := b.doLocked(func(h C.BoosterHandle) error {
		return m.do(func(mh C.DMatrixHandle) error {
			var shape *C.bst_ulong
			var dim C.bst_ulong
			var res *C.float
			if err := check("XGBoosterPredictFromDMatrix",
				C.XGBoosterPredictFromDMatrix(h, mh, b.c.cfg, &shape, &dim, &res)); err != nil {
				return err
			}
			out = copyPredictions(shape, dim, res)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	return out, nil
}

// checkColsLocked rejects a column count other than the model's: XGBoost
// 1.7 silently treats absent trailing columns as missing values.
func (b *Booster) checkColsLocked(cols int) error {
	if b.c == nil {
		return fmt.Errorf("booster: %w", ErrClosed)
	}
	if cols != b.nfeat {
		return fmt.Errorf("%d columns, model has %d features: %w", cols, b.nfeat, ErrInvalid)
	}
	return nil
}

// copyPredictions copies a prediction out of XGBoost's thread-local buffer,
// which the next call on this thread overwrites.
func copyPredictions(shape *C.bst_ulong, dim C.bst_ulong, res *C.float) []float32 {
	n := 1
	for _, s := range unsafe.Slice(shape, int(dim)) {
		n *= int(s)
	}
	out := make([]float32, n)
	if n > 0 {
		copy(out, unsafe.Slice((*float32)(unsafe.Pointer(res)), n))
	}
	return out
}

// PredictDense predicts rows×cols row-major data (NaN = missing) in place,
// without building a DMatrix: the serving hot path. It returns exactly what
// Predict returns for the same data. Calls of up to 64 rows run on the
// caller's thread, in parallel with each other; larger ones run on the
// booster's thread.
func (b *Booster) PredictDense(data []float32, rows, cols int) ([]float32, error) {
	if rows <= 0 || cols <= 0 || rows > math.MaxInt/cols || len(data) != rows*cols {
		return nil, fmt.Errorf("predict dense %d×%d from %d values: %w", rows, cols, len(data), ErrInvalid)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if err := b.checkColsLocked(cols); err != nil {
		return nil, fmt.Errorf("predict dense: %w", err)
	}
	// XGBoost reads data through the address in the array interface JSON,
	// which cgo cannot see: pin it for the call.
	var pin runtime.Pinner
	pin.Pin(&data[0])
	defer pin.Unpin()
	iface := C.CString(`{"data":[` + strconv.FormatUint(uint64(uintptr(unsafe.Pointer(&data[0]))), 10) +
		`,true],"shape":[` + strconv.Itoa(rows) + `,` + strconv.Itoa(cols) + `],"typestr":"<f4","version":3}`)
	defer C.free(unsafe.Pointer(iface))
	var out []float32
	predict := func() (err error) {
		out, err = b.c.predictInplace(iface)
		return err
	}
	var err error
	if rows <= callerThreadRows {
		err = onThread(predict)
	} else {
		err = b.c.t.run(predict)
	}
	if err != nil {
		return nil, fmt.Errorf("predict dense: %w", err)
	}
	return out, nil
}

// predictInplace runs XGBoosterPredictFromDense with a pooled proxy
// DMatrix; call it on a locked thread.
func (c *handles) predictInplace(iface *C.char) ([]float32, error) {
	proxy, err := c.proxy()
	if err != nil {
		return nil, err
	}
	defer c.release(proxy)
	var shape *C.bst_ulong
	var dim C.bst_ulong
	var res *C.float
	if err := check("XGBoosterPredictFromDense",
		C.XGBoosterPredictFromDense(c.h, iface, c.inplaceCfg, proxy, &shape, &dim, &res)); err != nil {
		return nil, err
	}
	return copyPredictions(shape, dim, res), nil
}

// proxy takes an idle proxy DMatrix or creates one. Reusing proxies matters:
// creating one costs more than a one-row prediction.
func (c *handles) proxy() (C.DMatrixHandle, error) {
	select {
	case p := <-c.proxies:
		return p, nil
	default:
	}
	var p C.DMatrixHandle
	if err := check("XGProxyDMatrixCreate", C.XGProxyDMatrixCreate(&p)); err != nil {
		return nil, err
	}
	return p, nil
}

// release returns a proxy to the pool, freeing it when the pool is full.
func (c *handles) release(p C.DMatrixHandle) {
	select {
	case c.proxies <- p:
	default:
		C.XGDMatrixFree(p)
	}
}
