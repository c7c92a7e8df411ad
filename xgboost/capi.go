package xgboost

// #include <stdlib.h>
// #include <xgboost/c_api.h>
import "C"

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unsafe"
)

// The functions in this file wrap single C calls on a booster handle. They
// must run on the booster's thread (inside Booster.doLocked), so that a whole
// training run or model load costs one hand-off to that thread.

func setParam(h C.BoosterHandle, name, value string) error {
	n, v := C.CString(name), C.CString(value)
	defer C.free(unsafe.Pointer(n))
	defer C.free(unsafe.Pointer(v))
	return check("XGBoosterSetParam "+name, C.XGBoosterSetParam(h, n, v))
}

// setParams applies p in key order, so runs are reproducible.
func setParams(h C.BoosterHandle, p Params) error {
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if err := setParam(h, k, p[k]); err != nil {
			return err
		}
	}
	return nil
}

func getAttr(h C.BoosterHandle, key string) (val string, ok bool, err error) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	var out *C.char
	var success C.int
	if err := check("XGBoosterGetAttr "+key, C.XGBoosterGetAttr(h, k, &out, &success)); err != nil {
		return "", false, err
	}
	if success != 1 || out == nil {
		return "", false, nil
	}
	return C.GoString(out), true, nil
}

func setAttr(h C.BoosterHandle, key, value string) error {
	k, v := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(k))
	defer C.free(unsafe.Pointer(v))
	return check("XGBoosterSetAttr "+key, C.XGBoosterSetAttr(h, k, v))
}

// storedParams reads the training params stored by Train (nil if absent).
func storedParams(h C.BoosterHandle) (Params, error) {
	s, ok, err := getAttr(h, AttrParams)
	if err != nil || !ok {
		return nil, err
	}
	var p Params
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("attribute %s: %w", AttrParams, err)
	}
	return p, nil
}

// boostedRounds counts the model's rounds. It also configures the learner,
// applying pending parameters: doing that here, on the booster's thread, keeps
// it out of concurrent predictions.
func boostedRounds(h C.BoosterHandle) (int, error) {
	var n C.int
	err := check("XGBoosterBoostedRounds", C.XGBoosterBoostedRounds(h, &n))
	return int(n), err
}

func numFeatures(h C.BoosterHandle) (int, error) {
	var n C.bst_ulong
	err := check("XGBoosterGetNumFeature", C.XGBoosterGetNumFeature(h, &n))
	return int(n), err
}

func updateOne(h C.BoosterHandle, it int, train *Matrix) error {
	return train.do(func(mh C.DMatrixHandle) error {
		return check("XGBoosterUpdateOneIter", C.XGBoosterUpdateOneIter(h, C.int(it), mh))
	})
}

// evalOne returns XGBoosterEvalOneIter's text for valid, named name.
func evalOne(h C.BoosterHandle, it int, valid *Matrix, name *C.char) (msg string, err error) {
	err = valid.do(func(mh C.DMatrixHandle) error {
		dm := [1]C.DMatrixHandle{mh}
		names := [1]*C.char{name}
		var out *C.char
		if err := check("XGBoosterEvalOneIter", C.XGBoosterEvalOneIter(h, C.int(it), &dm[0], &names[0], 1, &out)); err != nil {
			return err
		}
		msg = C.GoString(out)
		return nil
	})
	return msg, err
}
