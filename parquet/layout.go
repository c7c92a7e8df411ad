package parquet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Dataset names one table of the store; it is also its top directory.
type Dataset string

// The datasets of the store.
const (
	DatasetTrades   Dataset = "trades"
	DatasetCandles  Dataset = "candles"
	DatasetFeatures Dataset = "features"
)

// Datasets returns every dataset of the store.
func Datasets() []Dataset { return []Dataset{DatasetTrades, DatasetCandles, DatasetFeatures} }

// Validate rejects names that are not a dataset (they become paths).
func (d Dataset) Validate() error {
	if slices.Contains(Datasets(), d) {
		return nil
	}
	return fmt.Errorf("dataset %q: %w", string(d), market.ErrInvalid)
}

// Layout names; see the package documentation.
const (
	// PairKey is the hive key of the pair level: pair_slug, because "pair"
	// is already a column inside the files.
	PairKey  = "pair_slug"
	DateKey  = "date"
	FileName = "data.parquet"

	dateLayout = "2006-01-02"
	// tmpPattern names in-progress writes; it must not end in .parquet so
	// that readers' globs never match a half-written file.
	tmpPattern = FileName + ".tmp-*"
)

// Partition is one file of the store.
type Partition struct {
	Dataset Dataset
	Pair    string    // v2 name, "BTC/USD"
	Day     time.Time // UTC midnight
	Path    string
}

// PartitionDir returns the directory of a dataset's pair and UTC day.
func PartitionDir(root string, d Dataset, pair string, day time.Time) string {
	return filepath.Join(root, string(d),
		PairKey+"="+market.PairSlug(pair),
		DateKey+"="+day.UTC().Format(dateLayout))
}

// Partitions lists the existing files of dataset d for pair (any spelling;
// "" means every pair) whose day overlaps [from, to), zero bounds meaning
// unbounded, sorted by pair then day. A missing root or dataset yields none.
func Partitions(root string, d Dataset, pair string, from, to time.Time) ([]Partition, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	pairs, err := pairDirs(root, d, pair)
	if err != nil {
		return nil, err
	}
	var out []Partition
	for _, p := range pairs {
		parts, err := dayPartitions(root, d, p, from, to)
		if err != nil {
			return nil, err
		}
		out = append(out, parts...)
	}
	return out, nil
}

// Pairs lists the pairs (v2 names) that have at least one file in
// dataset d, sorted.
func Pairs(root string, d Dataset) ([]string, error) {
	parts, err := Partitions(root, d, "", time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	var pairs []string
	for _, p := range parts {
		pairs = append(pairs, p.Pair)
	}
	return slices.Compact(pairs), nil
}

// pairDirs returns the normalized pair, or every pair with a directory.
func pairDirs(root string, d Dataset, pair string) ([]string, error) {
	if pair != "" {
		p, err := market.NormalizePair(pair)
		return []string{p}, err
	}
	names, err := subdirs(filepath.Join(root, string(d)))
	if err != nil {
		return nil, err
	}
	var pairs []string
	for _, n := range names {
		slug, ok := strings.CutPrefix(n, PairKey+"=")
		if p, err := market.NormalizePair(slug); ok && err == nil {
			pairs = append(pairs, p)
		}
	}
	slices.Sort(pairs)
	return slices.Compact(pairs), nil
}

func dayPartitions(root string, d Dataset, pair string, from, to time.Time) ([]Partition, error) {
	dir := filepath.Join(root, string(d), PairKey+"="+market.PairSlug(pair))
	names, err := subdirs(dir)
	if err != nil {
		return nil, err
	}
	var out []Partition
	for _, n := range names {
		day, ok := parseDayDir(n)
		if !ok || !overlaps(day, from, to) {
			continue
		}
		path := filepath.Join(dir, n, FileName)
		if _, err := os.Stat(path); err == nil {
			out = append(out, Partition{Dataset: d, Pair: pair, Day: day, Path: path})
		}
	}
	slices.SortFunc(out, func(a, b Partition) int { return a.Day.Compare(b.Day) })
	return out, nil
}

// subdirs lists the directory names in dir; a missing dir has none.
func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func parseDayDir(name string) (time.Time, bool) {
	s, ok := strings.CutPrefix(name, DateKey+"=")
	if !ok {
		return time.Time{}, false
	}
	day, err := time.Parse(dateLayout, s)
	return day, err == nil
}

// overlaps reports whether the UTC day starting at day meets [from, to).
func overlaps(day, from, to time.Time) bool {
	if !from.IsZero() && !day.Add(24*time.Hour).After(from) {
		return false
	}
	return to.IsZero() || day.Before(to)
}

// unixDay numbers the UTC day of t (days since 1970-01-01, floored), a
// cheap map key for the per-row hot path.
func unixDay(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// dayStart is the UTC midnight starting day d.
func dayStart(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// Files lists the Parquet files below dir in name order, none when dir is
// missing: files the layout above does not describe (the scorer's
// predictions) are read by listing them.
func Files(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			paths = append(paths, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	slices.Sort(paths)
	return paths, err
}
