package training

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/tickcast/tickcast/internal/memo"
	"github.com/tickcast/tickcast/ml"
)

// DatasetCache keeps the last few decoded dataset files of a worker: every
// tuning trial is a separate activity over the same file, and decoding ~20 MB
// per trial would cost as much as a small trial. Keyed by the file's size and
// mtime too, so a rewritten file is decoded again. The datasets it returns
// share their arrays: callers must not modify them. The zero value is ready;
// it is safe for concurrent use.
type DatasetCache struct {
	init sync.Once // sets the memo's size: the zero value is ready
	memo memo.Cache[datasetKey, ml.Dataset]
}

const cacheDatasets = 2

type datasetKey struct {
	path  string
	size  int64
	mtime int64 // UnixNano
}

// ReadDataset returns the dataset file at path (through the cache: callers
// must not modify it) and its splits. A missing or corrupt file is an
// error of code invalid: retrying cannot bring it back.
func (c *DatasetCache) ReadDataset(path string) (ml.Dataset, Splits, error) {
	var sp Splits
	ds, err := c.read(path)
	if err != nil {
		return ds, sp, invalidf("dataset %s: %v", path, err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), splitsFile))
	if err == nil {
		err = json.Unmarshal(b, &sp)
	}
	if err != nil {
		return ds, sp, invalidf("dataset %s splits: %v", path, err)
	}
	return ds, sp, nil
}

// read returns the dataset file at path, decoding it once however many
// callers ask at the same time. Errors read as ml.ReadDatasetFile's.
func (c *DatasetCache) read(path string) (ml.Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return ml.Dataset{}, fmt.Errorf("read dataset: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat() // of the file opened, whatever replaces it later
	if err != nil {
		return ml.Dataset{}, fmt.Errorf("read dataset %s: %w", path, err)
	}
	c.init.Do(func() { c.memo.Size = cacheDatasets })
	return c.memo.Get(datasetKey{path, fi.Size(), fi.ModTime().UnixNano()}, func() (ml.Dataset, error) {
		ds, err := ml.DecodeDataset(f)
		if err != nil {
			return ds, fmt.Errorf("read dataset %s: %w", path, err)
		}
		return clip(ds), nil
	})
}

// clip caps every slice of ds at its length, so that a caller's append
// copies instead of writing into the shared arrays.
func clip(ds ml.Dataset) ml.Dataset {
	ds = ds.Slice(0, ds.Len())
	ds.Names = slices.Clip(ds.Names)
	return ds
}
