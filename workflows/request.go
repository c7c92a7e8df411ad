// Package workflows holds tickcast's Temporal workflows: thin, deterministic
// coordination over the activities package (no I/O, no wall clock here).
package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tickcast/tickcast/market"
)

// TaskQueue is the task queue of every tickcast workflow and activity.
const TaskQueue = "tickcast"

// Sources of a backfill.
const (
	SourceKraken  = "kraken"  // Kraken REST public trades
	SourceArchive = "archive" // files: Kraken OHLCVT or trade CSVs, Binance klines
)

// Defaults of a request.
const (
	DefaultDays          = 90 // the range of a Kraken backfill without From/To
	DefaultConcurrency   = 4
	DefaultKrakenChunk   = 1 // days
	DefaultArchiveChunk  = 7 // days
	DefaultTradeInterval = time.Minute
	maxConcurrency       = 64
	maxChunkDays         = 366
)

// BackfillRequest is the input of Backfill. From the Temporal UI it is JSON:
// {"pairs":["ETH/USD"],"source":"kraken","from":"2025-05-01T00:00:00Z","to":"2025-05-08T00:00:00Z"}.
type BackfillRequest struct {
	Pairs  []string  `json:"pairs,omitempty"` // any spelling; archive: "" = from the file names
	From   time.Time `json:"from,omitzero"`   // inclusive; kraken default: To − 90 days; archive: the files' start
	To     time.Time `json:"to,omitzero"`     // exclusive; kraken default: now; archive: the files' end
	Source string    `json:"source"`          // "kraken" or "archive"
	Files  []string  `json:"files,omitempty"` // archive: absolute paths on the worker's machine
	// DataDir is the data directory on the worker's machine; "" = the worker's --data-dir.
	DataDir string `json:"data_dir,omitempty"`
	// Interval is the candle length for trade sources ("1m"); candle files keep their own.
	Interval    string `json:"interval,omitempty"`
	ChunkDays   int    `json:"chunk_days,omitempty"`  // days per activity: 1 (kraken), 7 (archive)
	Concurrency int    `json:"concurrency,omitempty"` // activities of this backfill at once: 4
	// Resume is set by the workflow itself when it continues as new; leave it out.
	Resume *Resume `json:"resume,omitempty"`
}

// Normalize validates the request and fills the defaults that need no I/O
// and no clock: the workflow and BackfillID both start from it.
func (r BackfillRequest) Normalize() (BackfillRequest, error) {
	n := r
	var errs []error
	n.Source = strings.ToLower(strings.TrimSpace(r.Source))
	if n.Source == "" {
		n.Source = SourceKraken
		if len(r.Files) > 0 {
			n.Source = SourceArchive
		}
	}
	n.Pairs, errs = normalizePairs(r.Pairs, errs)
	n.Files, errs = cleanPaths(r.Files, errs)
	n.DataDir, errs = cleanDataDir(r.DataDir, errs)
	n.From, n.To = r.From.UTC(), r.To.UTC()
	n.Interval, errs = normalizeInterval(r.Interval, errs)
	errs = n.checkSource(errs)
	errs = n.checkRange(errs)
	errs = n.sizes(errs)
	return n, errors.Join(errs...)
}

func (r *BackfillRequest) checkSource(errs []error) []error {
	switch r.Source {
	case SourceKraken:
		if len(r.Pairs) == 0 {
			errs = append(errs, errors.New("kraken: at least one pair"))
		}
		if len(r.Files) > 0 {
			errs = append(errs, errors.New("kraken: files are for source archive"))
		}
	case SourceArchive:
		if len(r.Files) == 0 {
			errs = append(errs, errors.New("archive: at least one file"))
		}
	default:
		errs = append(errs, fmt.Errorf("source %q: want kraken or archive", r.Source))
	}
	return errs
}

func (r *BackfillRequest) checkRange(errs []error) []error {
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		errs = append(errs, fmt.Errorf("from %s is not before to %s", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339)))
	}
	return errs
}

func (r *BackfillRequest) sizes(errs []error) []error {
	switch {
	case r.ChunkDays < 0 || r.ChunkDays > maxChunkDays:
		errs = append(errs, fmt.Errorf("chunk_days %d: want 1…%d", r.ChunkDays, maxChunkDays))
	case r.ChunkDays == 0 && r.Source == SourceArchive:
		r.ChunkDays = DefaultArchiveChunk
	case r.ChunkDays == 0:
		r.ChunkDays = DefaultKrakenChunk
	}
	switch {
	case r.Concurrency < 0 || r.Concurrency > maxConcurrency:
		errs = append(errs, fmt.Errorf("concurrency %d: want 1…%d", r.Concurrency, maxConcurrency))
	case r.Concurrency == 0:
		r.Concurrency = DefaultConcurrency
	}
	return errs
}

// normalizePair accepts any spelling of one pair and returns its v2 name.
func normalizePair(s string, errs []error) (string, []error) {
	p, err := market.NormalizePair(s)
	if err != nil {
		errs = append(errs, fmt.Errorf("pair %q: %w", s, err))
	}
	return p, errs
}

// normalizePairs accepts any spelling, comma lists inside elements, and
// returns the v2 names sorted and without duplicates.
func normalizePairs(in []string, errs []error) ([]string, []error) {
	var out []string
	for _, s := range in {
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			n, err := market.NormalizePair(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("pair %q: %w", p, err))
				continue
			}
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), errs
}

// cleanPaths wants absolute paths: they are opened by a worker, maybe on
// another machine, whose working directory nobody knows.
func cleanPaths(in []string, errs []error) ([]string, []error) {
	var out []string
	for _, p := range in {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("file %q: want an absolute path on the worker's machine", p))
			continue
		}
		out = append(out, filepath.Clean(p))
	}
	slices.Sort(out)
	return slices.Compact(out), errs
}

func cleanDataDir(d string, errs []error) (string, []error) {
	if d = strings.TrimSpace(d); d == "" {
		return "", errs
	}
	if !filepath.IsAbs(d) {
		return d, append(errs, fmt.Errorf("data_dir %q: want an absolute path on the worker's machine", d))
	}
	return filepath.Clean(d), errs
}

func normalizeInterval(s string, errs []error) (string, []error) {
	if s = strings.TrimSpace(s); s == "" {
		return "", errs
	}
	d, err := parseInterval(s)
	if err != nil {
		return s, append(errs, err)
	}
	return d.String(), errs
}

// parseInterval accepts what the candles processor accepts: 1s … 24h, dividing a day.
func parseInterval(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second || d > 24*time.Hour || (24*time.Hour)%d != 0 {
		return 0, fmt.Errorf("interval %q: want a duration from 1s to 24h that divides a day", s)
	}
	return d, nil
}

// BackfillID is the workflow ID of a request: equal for requests that mean
// the same backfill (pair spellings and order, file order, defaults), so that
// starting one twice attaches to the running workflow instead of doing the
// work again. Chunking and concurrency change how, not what, so they are
// left out. The ID of a request without From/To does not depend on the day.
func BackfillID(req BackfillRequest) string {
	n, err := req.Normalize()
	if err != nil {
		n = req // the workflow will reject it; the ID only has to be stable
	}
	key, _ := json.Marshal(struct {
		Source, DataDir, Interval string
		Pairs, Files              []string
		From, To                  time.Time
	}{n.Source, n.DataDir, n.Interval, n.Pairs, n.Files, n.From, n.To})
	sum := sha256.Sum256(key)
	return "backfill-" + n.Source + "-" + idPairs(n.Pairs) + "-" + hex.EncodeToString(sum[:8])
}

// idPairs makes the ID readable in the UI's list without growing unbounded.
func idPairs(pairs []string) string {
	switch {
	case len(pairs) == 0:
		return "files"
	case len(pairs) > 3:
		return fmt.Sprintf("%dpairs", len(pairs))
	}
	slugs := make([]string, len(pairs))
	for i, p := range pairs {
		slugs[i] = market.PairSlug(p)
	}
	return strings.Join(slugs, "_")
}
