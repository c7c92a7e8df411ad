package xgboost

// #include <stdlib.h>
// #include <xgboost/c_api.h>
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// Matrix is a dense XGBoost DMatrix. XGBoost copies the data on creation, so
// the caller's slice may be reused at once.
type Matrix struct {
	mu      sync.Mutex // one C call at a time, and none after Close
	h       C.DMatrixHandle
	rows    int
	cols    int
	cleanup runtime.Cleanup
}

// NewMatrix builds a rows×cols matrix from row-major data. Cells equal to
// missing, and NaN cells always, are treated as missing values.
func NewMatrix(data []float32, rows, cols int, missing float32) (*Matrix, error) {
	if rows <= 0 || cols <= 0 || rows > math.MaxInt/cols || len(data) != rows*cols {
		return nil, fmt.Errorf("new matrix %d×%d from %d values: %w", rows, cols, len(data), ErrInvalid)
	}
	var h C.DMatrixHandle
	err := onThread(func() error {
		return check("XGDMatrixCreateFromMat", C.XGDMatrixCreateFromMat(
			(*C.float)(unsafe.Pointer(&data[0])), C.bst_ulong(rows), C.bst_ulong(cols), C.float(missing), &h))
	})
	if err != nil {
		return nil, fmt.Errorf("new matrix %d×%d: %w", rows, cols, err)
	}
	m := &Matrix{h: h, rows: rows, cols: cols}
	m.cleanup = runtime.AddCleanup(m, freeMatrix, h)
	if err := m.checkRows(); err != nil {
		_ = m.Close()
		return nil, err
	}
	return m, nil
}

// checkRows confirms XGBoost saw the shape we passed.
func (m *Matrix) checkRows() error {
	var n C.bst_ulong
	err := m.do(func(h C.DMatrixHandle) error {
		return check("XGDMatrixNumRow", C.XGDMatrixNumRow(h, &n))
	})
	if err == nil && int(n) != m.rows {
		err = fmt.Errorf("matrix has %d rows, want %d: %w", n, m.rows, ErrXGBoost)
	}
	return err
}

func freeMatrix(h C.DMatrixHandle) { C.XGDMatrixFree(h) }

// SetLabels sets one label per row.
func (m *Matrix) SetLabels(y []float32) error {
	if len(y) != m.rows {
		return fmt.Errorf("set labels: %d labels for %d rows: %w", len(y), m.rows, ErrInvalid)
	}
	field := C.CString("label")
	defer C.free(unsafe.Pointer(field))
	return m.do(func(h C.DMatrixHandle) error {
		return check("XGDMatrixSetFloatInfo label", C.XGDMatrixSetFloatInfo(
			h, field, (*C.float)(unsafe.Pointer(&y[0])), C.bst_ulong(len(y))))
	})
}

// Labels returns a copy of the labels set on the matrix (empty when none are).
func (m *Matrix) Labels() ([]float32, error) {
	var out []float32
	err := m.do(func(h C.DMatrixHandle) error {
		var err error
		out, err = labelsOf(h)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	return out, nil
}

// labelsOf copies a DMatrix's labels; call it inside Matrix.do.
func labelsOf(h C.DMatrixHandle) ([]float32, error) {
	field := C.CString("label")
	defer C.free(unsafe.Pointer(field))
	var n C.bst_ulong
	var p *C.float
	if err := check("XGDMatrixGetFloatInfo label", C.XGDMatrixGetFloatInfo(h, field, &n, &p)); err != nil {
		return nil, err
	}
	out := make([]float32, int(n))
	if n > 0 {
		copy(out, unsafe.Slice((*float32)(unsafe.Pointer(p)), int(n)))
	}
	return out, nil
}

// Rows is the number of rows given at creation (kept after Close).
func (m *Matrix) Rows() int { return m.rows }

// Cols is the number of columns given at creation (kept after Close).
func (m *Matrix) Cols() int { return m.cols }

// Close frees the DMatrix. It is idempotent; calls after it fail with ErrClosed.
func (m *Matrix) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return nil
	}
	m.cleanup.Stop()
	h := m.h
	m.h = nil
	return onThread(func() error { return check("XGDMatrixFree", C.XGDMatrixFree(h)) })
}

// do runs f with the live handle under the matrix lock, on one OS thread.
func (m *Matrix) do(f func(C.DMatrixHandle) error) error {
	if m == nil {
		return fmt.Errorf("nil matrix: %w", ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return fmt.Errorf("matrix: %w", ErrClosed)
	}
	return onThread(func() error { return f(m.h) })
}
