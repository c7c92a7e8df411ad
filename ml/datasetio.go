package ml

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tickcast/tickcast/internal/atomicfile"
	"github.com/tickcast/tickcast/market"
)

// datasetFormat versions the dataset file; ReadDataset refuses others.
const datasetFormat = 1

// datasetFile is the gob-encoded form of a Dataset file: the format and
// feature schema versions first, so a stale file is refused, not misread.
type datasetFile struct {
	Format        int
	FeatureSchema int
	Dataset       Dataset
}

// EncodeDataset writes d in the dataset file format (gob), which keeps float64
// values bit-exact.
func EncodeDataset(w io.Writer, d Dataset) error {
	bw := bufio.NewWriter(w)
	if err := gob.NewEncoder(bw).Encode(datasetFile{datasetFormat, market.FeatureSchemaVersion, d}); err != nil {
		return fmt.Errorf("encode dataset %s: %w", d.Pair, err)
	}
	return bw.Flush()
}

// DecodeDataset reads what EncodeDataset wrote and checks its shape.
func DecodeDataset(r io.Reader) (Dataset, error) {
	var f datasetFile
	if err := gob.NewDecoder(bufio.NewReader(r)).Decode(&f); err != nil {
		return Dataset{}, fmt.Errorf("decode dataset: %w", err)
	}
	if f.Format != datasetFormat || f.FeatureSchema != market.FeatureSchemaVersion {
		return Dataset{}, fmt.Errorf("decode dataset: format %d, feature schema %d, want %d, %d: %w",
			f.Format, f.FeatureSchema, datasetFormat, market.FeatureSchemaVersion, market.ErrInvalid)
	}
	d := f.Dataset
	n := d.Len()
	if len(d.TS) != n || len(d.Close) != n || len(d.X) != n*d.Cols || len(d.Names) != d.Cols {
		return Dataset{}, fmt.Errorf("decode dataset %s: inconsistent lengths: %w", d.Pair, market.ErrInvalid)
	}
	return d, nil
}

// WriteDatasetFile writes d to path atomically (temporary file, fsync,
// rename), making its directory first.
func WriteDatasetFile(path string, d Dataset) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write dataset: %w", err)
	}
	err := atomicfile.WriteFunc(path, atomicfile.Options{}, func(w io.Writer) error { return EncodeDataset(w, d) })
	if err != nil {
		return fmt.Errorf("write dataset: %w", err)
	}
	return nil
}

// ReadDatasetFile reads a file WriteDatasetFile wrote.
func ReadDatasetFile(path string) (Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return Dataset{}, fmt.Errorf("read dataset: %w", err)
	}
	defer f.Close()
	d, err := DecodeDataset(f)
	if err != nil {
		return Dataset{}, fmt.Errorf("read dataset %s: %w", path, err)
	}
	return d, nil
}
