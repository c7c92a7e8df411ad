package xgboost

// #include <stdlib.h>
// #include <xgboost/c_api.h>
import "C"

import (
	"encoding/json"
	"fmt"
	"github.com/tickcast/tickcast/internal/atomicfile"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"
)

// Save encodes the model as "json" or "ubj" (Universal Binary JSON). The
// model includes the attributes (best iteration, training params), not the
// training data.
func (b *Booster) Save(format string) ([]byte, error) {
	if format != "json" && format != "ubj" {
		return nil, fmt.Errorf("save: format %q (want json or ubj): %w", format, ErrInvalid)
	}
	var buf []byte
	err := b.do(func(h C.BoosterHandle) (err error) {
		buf, err = saveModel(h, format)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", format, err)
	}
	return buf, nil
}

// saveModel encodes the model as format ("json" or "ubj") on the booster's
// thread.
func saveModel(h C.BoosterHandle, format string) ([]byte, error) {
	cfg := C.CString(`{"format":"` + format + `"}`)
	defer C.free(unsafe.Pointer(cfg))
	var n C.bst_ulong
	var p *C.char
	if err := check("XGBoosterSaveModelToBuffer", C.XGBoosterSaveModelToBuffer(h, cfg, &n, &p)); err != nil {
		return nil, err
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n)), nil // copy out of the thread-local buffer
}

// Load decodes a model saved as JSON or UBJ (by this package, Python's
// xgboost or any other binding), restoring its best iteration and, when
// present, its training params.
func Load(buf []byte) (*Booster, error) {
	if len(buf) == 0 {
		return nil, fmt.Errorf("load: empty model: %w", ErrInvalid)
	}
	b, err := newBooster(0)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := b.load(buf); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("load: %w", err)
	}
	return b, nil
}

func (b *Booster) load(buf []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	best := -1
	err := b.doLocked(func(h C.BoosterHandle) (err error) {
		if err := check("XGBoosterLoadModelFromBuffer",
			C.XGBoosterLoadModelFromBuffer(h, unsafe.Pointer(&buf[0]), C.bst_ulong(len(buf)))); err != nil {
			return err
		}
		p, err := storedParams(h)
		if err != nil {
			return err
		}
		if err := setParams(h, p); err != nil {
			return err
		}
		if _, err := boostedRounds(h); err != nil { // configure now
			return err
		}
		if b.nfeat, err = numFeatures(h); err != nil {
			return err
		}
		s, ok, err := getAttr(h, AttrBestIteration)
		if err != nil || !ok {
			return err
		}
		if best, err = strconv.Atoi(s); err != nil || best < 0 {
			return fmt.Errorf("attribute %s=%q: %w", AttrBestIteration, s, ErrInvalid)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.useBestLocked(best)
	return nil
}

// SaveFile writes the model to path atomically (temporary file, fsync,
// rename); the format follows the extension, .json or .ubj.
func (b *Booster) SaveFile(path string) error {
	format, err := formatOf(path)
	if err != nil {
		return err
	}
	buf, err := b.Save(format)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, buf); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

func formatOf(path string) (string, error) {
	switch filepath.Ext(path) {
	case ".json":
		return "json", nil
	case ".ubj":
		return "ubj", nil
	}
	return "", fmt.Errorf("save %s: extension must be .json or .ubj: %w", path, ErrInvalid)
}

// LoadFile reads a model file written by SaveFile (or any JSON/UBJ model).
func LoadFile(path string) (*Booster, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	b, err := Load(buf)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return b, nil
}

// FeatureImportance scores every feature by kind: "weight", "gain", "cover",
// "total_gain" or "total_cover". names label the features in order (nil:
// XGBoost's f0, f1, ...); a feature no tree splits on scores 0.
func (b *Booster) FeatureImportance(kind string, names []string) (map[string]float64, error) {
	nf, err := b.NumFeatures()
	if err != nil {
		return nil, fmt.Errorf("feature importance: %w", err)
	}
	if nf == 0 {
		return nil, fmt.Errorf("feature importance: untrained model: %w", ErrInvalid)
	}
	if names == nil {
		for i := range nf {
			names = append(names, "f"+strconv.Itoa(i))
		}
	}
	if len(names) != nf {
		return nil, fmt.Errorf("feature importance: %d names for %d features: %w", len(names), nf, ErrInvalid)
	}
	js, err := json.Marshal(map[string]any{"importance_type": kind, "feature_names": names})
	if err != nil {
		return nil, err
	}
	cfg := C.CString(string(js))
	defer C.free(unsafe.Pointer(cfg))
	imp := make(map[string]float64, nf)
	for _, n := range names {
		imp[n] = 0
	}
	err = b.do(func(h C.BoosterHandle) error {
		var n, dim C.bst_ulong
		var feats **C.char
		var shape *C.bst_ulong
		var scores *C.float
		if err := check("XGBoosterFeatureScore", C.XGBoosterFeatureScore(h, cfg, &n, &feats, &dim, &shape, &scores)); err != nil {
			return err
		}
		if size := unsafe.Slice(shape, int(dim)); dim != 1 || size[0] != n {
			return fmt.Errorf("feature scores of shape %v (multi-output model?): %w", size, ErrInvalid)
		}
		// Names and scores live in thread-local buffers: copy them now.
		vals := unsafe.Slice((*float32)(unsafe.Pointer(scores)), int(n))
		for i, f := range unsafe.Slice(feats, int(n)) {
			imp[C.GoString(f)] = float64(vals[i])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("feature importance %s: %w", kind, err)
	}
	return imp, nil
}
