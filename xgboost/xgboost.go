package xgboost

// #cgo LDFLAGS: -lxgboost
// #include <stdlib.h>
// #include <xgboost/c_api.h>
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

var (
	// ErrXGBoost wraps every failure reported by the C library.
	ErrXGBoost = errors.New("xgboost")
	// ErrClosed is returned when a closed Matrix or Booster is used.
	ErrClosed = errors.New("xgboost: handle closed")
	// ErrInvalid is returned for arguments rejected before reaching C
	// (shapes, lengths, options).
	ErrInvalid = errors.New("xgboost: invalid argument")
)

// onThread runs f with the goroutine locked to its OS thread. XGBoost keeps
// the last error and every returned buffer (predictions, saved models, scores)
// in thread-local storage, so the call, XGBGetLastError and the copy into Go
// memory must happen on one thread with no other goroutine running there in
// between.
func onThread(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return f()
}

// check turns a C return code into an error; call it inside onThread, right
// after the C call.
func check(op string, rc C.int) error {
	if rc == 0 {
		return nil
	}
	msg := C.GoString(C.XGBGetLastError())
	if i := strings.Index(msg, "Stack trace:"); i >= 0 { // C++ frames: noise in Go errors
		msg = msg[:i]
	}
	return fmt.Errorf("%s: %w: %s", op, ErrXGBoost, strings.TrimSpace(msg))
}

// Version reports the version of the linked libxgboost.
func Version() (major, minor, patch int) {
	var ma, mi, pa C.int
	C.XGBoostVersion(&ma, &mi, &pa)
	return int(ma), int(mi), int(pa)
}
