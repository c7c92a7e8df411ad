package xgboost

// #include <stdlib.h>
// #include <xgboost/c_api.h>
import "C"

import (
	"fmt"
	"strconv"
)

// Slice returns a new booster holding the model's rounds [begin, end)
// (XGBoosterSlice, in the C API of 1.7, 2.x and 3.x), with the params
// stored by Train and its best iteration at its last round. Continued
// boosting from a model early-stopped before its last round should start
// from Slice(0, BestIteration()+1): the trees after the best one are
// unused by its predictions, and new rounds would be added after them.
func (b *Booster) Slice(begin, end int) (*Booster, error) {
	if begin < 0 || end <= begin {
		return nil, fmt.Errorf("slice [%d, %d): %w", begin, end, ErrInvalid)
	}
	var buf []byte
	err := b.do(func(h C.BoosterHandle) error {
		n, err := boostedRounds(h)
		if err != nil {
			return err
		}
		if end > n {
			return fmt.Errorf("slice [%d, %d) of %d rounds: %w", begin, end, n, ErrInvalid)
		}
		var out C.BoosterHandle
		if err := check("XGBoosterSlice", C.XGBoosterSlice(h, C.int(begin), C.int(end), 1, &out)); err != nil {
			return err
		}
		defer C.XGBoosterFree(out)
		// The slice may not carry the attributes (it depends on the
		// version): copy the stored params, set the best iteration.
		params, ok, err := getAttr(h, AttrParams)
		if err != nil {
			return err
		}
		if ok {
			if err := setAttr(out, AttrParams, params); err != nil {
				return err
			}
		}
		if err := setAttr(out, AttrBestIteration, strconv.Itoa(end-begin-1)); err != nil {
			return err
		}
		buf, err = saveModel(out, "ubj")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("slice: %w", err)
	}
	s, err := Load(buf)
	if err != nil {
		return nil, fmt.Errorf("slice: %w", err)
	}
	return s, nil
}
