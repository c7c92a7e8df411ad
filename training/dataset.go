package training

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tickcast/tickcast/internal/atomicfile"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/parquet"
)

// The files of a dataset folder, <dataDir>/datasets/<slug>/h<h>/<hash>/.
const (
	datasetFile = "dataset.bin"
	splitsFile  = "splits.json"
)

// DatasetRequest asks for a pair's training set at one horizon.
type DatasetRequest struct {
	Pair     string
	Horizon  int
	From, To time.Time // feature rows' ts in [From, To); zero: all the store holds
	Folds    int       // walk-forward CV folds
	// Logger gets the corrupt store files skipped (warn) and the result (info); nil: discard.
	Logger *slog.Logger
	// Progress, when set, is told each stage ("reading features", "writing dataset").
	Progress func(stage string)
}

// DatasetInfo is a dataset written to a file: the path and a summary, never rows.
type DatasetInfo struct {
	Path     string    `json:"path"` // <dataDir>/datasets/<slug>/h<h>/<hash>/dataset.bin
	Hash     string    `json:"hash"`
	Rows     int       `json:"rows"`
	Cols     int       `json:"cols"`
	From     time.Time `json:"from"` // first and last row ts
	To       time.Time `json:"to"`
	Folds    []Fold    `json:"folds"` // walk-forward CV folds, for tuning
	Final    Fold      `json:"final"` // train | valid | test, for the final fit and the gate
	TestFrom time.Time `json:"test_from"`
	TestTo   time.Time `json:"test_to"`
}

// BuildDataset reads the pair's feature rows and candles from the store of
// data directory dir, skipping corrupt files (logged), builds the supervised
// rows (ml.Build) and the splits, and writes them under a content hash
// (WriteDataset), so equal data gives the same path and is written once.
func BuildDataset(ctx context.Context, dir string, req DatasetRequest) (DatasetInfo, error) {
	pair, err := market.NormalizePair(req.Pair)
	if err != nil || req.Horizon < 1 || req.Folds < 1 {
		return DatasetInfo{}, invalidf("dataset: pair %q, horizon %d, folds %d: want a pair, horizon ≥ 1, folds ≥ 1", req.Pair, req.Horizon, req.Folds)
	}
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stage(req.Progress, "reading features")
	ds, err := loadSupervised(ctx, &parquet.Reader{Root: datadir.Parquet(dir), SkipCorrupt: true, Logger: log}, pair, req)
	if err != nil {
		return DatasetInfo{}, err
	}
	sp, err := Split(ds, req.Folds)
	if err != nil {
		return DatasetInfo{}, err
	}
	stage(req.Progress, "writing dataset")
	path, hash, err := WriteDataset(dir, ds, sp)
	if err != nil {
		return DatasetInfo{}, err
	}
	log.Info("dataset built", "pair", pair, "horizon", req.Horizon, "rows", ds.Len(), "stats", ds.Stats, "path", path)
	return DatasetInfo{Path: path, Hash: hash, Rows: ds.Len(), Cols: ds.Cols, From: ds.TS[0], To: ds.TS[ds.Len()-1],
		Folds: sp.Folds, Final: sp.Final, TestFrom: sp.TestFrom, TestTo: sp.TestTo}, nil
}

func stage(progress func(string), s string) {
	if progress != nil {
		progress(s)
	}
}

// loadSupervised reads feature rows in [From, To) and the candles that close
// them and h candles later, and builds the dataset.
func loadSupervised(ctx context.Context, store *parquet.Reader, pair string, req DatasetRequest) (ml.Dataset, error) {
	rows, err := store.Features(pair, req.From, req.To)
	if err != nil {
		return ml.Dataset{}, fmt.Errorf("read features %s: %w", pair, err)
	}
	if len(rows) < 2 {
		return ml.Dataset{}, invalidf("%d feature rows of %s in %s: backfill the pair first", len(rows), pair, store.Root)
	}
	if err := ctx.Err(); err != nil {
		return ml.Dataset{}, err
	}
	iv := rowInterval(rows)
	// A row's candle ends at its ts; its label's candle ends h intervals later.
	from := rows[0].TS.Add(-2 * iv)
	to := rows[len(rows)-1].TS.Add(time.Duration(req.Horizon+1) * iv)
	candles, err := store.Candles(pair, from, to)
	if err != nil {
		return ml.Dataset{}, fmt.Errorf("read candles %s: %w", pair, err)
	}
	ds, err := ml.Build(rows, candles, req.Horizon)
	if err != nil {
		return ml.Dataset{}, invalid(err)
	}
	if ds.Len() == 0 {
		return ml.Dataset{}, invalidf("no usable rows of %s (%+v)", pair, ds.Stats)
	}
	return ds, nil
}

// rowInterval is the smallest gap between consecutive feature rows: the
// candle length.
func rowInterval(rows []market.FeatureRow) time.Duration {
	iv := time.Duration(0)
	for i := 1; i < len(rows); i++ {
		if d := rows[i].TS.Sub(rows[i-1].TS); d > 0 && (iv == 0 || d < iv) {
			iv = d
		}
	}
	return max(iv, time.Second)
}

// WriteDataset stores ds and its splits under
// <dir>/datasets/<slug>/h<h>/<hash>/, hash of both, and returns the
// dataset file's path and the hash. Equal content was written before: its
// path is returned and nothing is written.
func WriteDataset(dir string, ds ml.Dataset, sp Splits) (path, hash string, err error) {
	var buf bytes.Buffer
	if err := ml.EncodeDataset(&buf, ds); err != nil {
		return "", "", err
	}
	sj, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	h.Write(buf.Bytes())
	h.Write(sj)
	hash = hex.EncodeToString(h.Sum(nil)[:8])
	base := filepath.Join(datadir.Datasets(dir), market.PairSlug(ds.Pair), fmt.Sprintf("h%d", ds.Horizon), hash)
	path = filepath.Join(base, datasetFile)
	if _, err := os.Stat(path); err == nil {
		return path, hash, nil // same content, written before
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", "", err
	}
	if err := atomicfile.Write(filepath.Join(base, splitsFile), sj); err != nil {
		return "", "", err
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return "", "", err
	}
	return path, hash, nil
}
