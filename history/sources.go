package history

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tickcast/tickcast/internal/atomicfile"
	"github.com/tickcast/tickcast/internal/datadir"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// SourceRecord is what <dataDir>/sources/<dataset>/<pair_slug>.json says
// about where a pair's rows of one dataset were imported from. It holds no
// times, so that importing again rewrites the same bytes.
type SourceRecord struct {
	Pair    string        `json:"pair"`
	Dataset string        `json:"dataset"`
	Sources []SourceGroup `json:"sources"`
}

// SourceGroup is the files of one exchange and format.
type SourceGroup struct {
	Exchange string       `json:"exchange"`
	Kind     string       `json:"kind"`
	Notes    []string     `json:"notes,omitempty"`
	Files    []SourceFile `json:"files"`
}

// SourceFile is one imported file.
type SourceFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
}

// SourcesPath is the record of pair's rows of dataset d under dataDir.
func SourcesPath(dataDir string, d parquet.Dataset, pair string) string {
	return filepath.Join(datadir.Sources(dataDir), string(d), market.PairSlug(pair)+".json")
}

// RecordSources adds srcs to the record of pair's rows of dataset d: a file
// already listed under its path is replaced, others are added, and the
// record is sorted, so the result does not depend on the order of calls.
// The file is replaced atomically, under a lock for concurrent importers.
func RecordSources(dataDir string, d parquet.Dataset, pair string, srcs ...archive.Source) error {
	pair, err := market.NormalizePair(pair)
	if err != nil {
		return fmt.Errorf("record sources: %w", err)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("record sources: %w", err)
	}
	path := SourcesPath(dataDir, d, pair)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("record sources: %w", err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return fmt.Errorf("record sources: %w", err)
	}
	defer unlock()
	if err := updateRecord(path, pair, d, srcs); err != nil {
		return fmt.Errorf("record sources %s: %w", path, err)
	}
	return nil
}

// ReadSources reads the record of pair's rows of dataset d; an error
// wrapping fs.ErrNotExist when nothing was recorded.
func ReadSources(dataDir string, d parquet.Dataset, pair string) (SourceRecord, error) {
	pair, err := market.NormalizePair(pair)
	if err != nil {
		return SourceRecord{}, fmt.Errorf("read sources: %w", err)
	}
	var rec SourceRecord
	b, err := os.ReadFile(SourcesPath(dataDir, d, pair))
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	if err != nil {
		return SourceRecord{}, fmt.Errorf("read sources: %w", err)
	}
	return rec, nil
}

func updateRecord(path, pair string, d parquet.Dataset, srcs []archive.Source) error {
	rec := SourceRecord{Pair: pair, Dataset: string(d)}
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(old, &rec); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	for _, s := range srcs {
		rec.add(s)
	}
	rec.sort()
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if bytes.Equal(b, old) {
		return nil
	}
	return atomicfile.Write(path, b)
}

func (r *SourceRecord) add(s archive.Source) {
	i := slices.IndexFunc(r.Sources, func(g SourceGroup) bool { return g.Exchange == s.Exchange && g.Kind == s.Kind })
	if i < 0 {
		r.Sources = append(r.Sources, SourceGroup{Exchange: s.Exchange, Kind: s.Kind})
		i = len(r.Sources) - 1
	}
	g := &r.Sources[i]
	g.Notes = slices.Clone(s.Notes)
	f := SourceFile{Path: s.File, SHA256: s.SHA256, Rows: s.Rows}
	if j := slices.IndexFunc(g.Files, func(f SourceFile) bool { return f.Path == s.File }); j >= 0 {
		g.Files[j] = f
	} else {
		g.Files = append(g.Files, f)
	}
}

func (r *SourceRecord) sort() {
	slices.SortFunc(r.Sources, func(a, b SourceGroup) int {
		return cmp.Or(cmp.Compare(a.Exchange, b.Exchange), cmp.Compare(a.Kind, b.Kind))
	})
	for _, g := range r.Sources {
		slices.SortFunc(g.Files, func(a, b SourceFile) int { return cmp.Compare(a.Path, b.Path) })
	}
}
