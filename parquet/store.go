package parquet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/tickcast/tickcast/market"
)

// ErrClosed is returned by a Store's methods after Close.
var ErrClosed = errors.New("parquet store closed")

// Options tune a Store; the zero value is usable.
type Options struct {
	// FlushRows is the number of buffered rows at which a partition is
	// written. Default 50_000.
	FlushRows int
	// MaxBufferedRows bounds the rows buffered across all partitions: past
	// it every partition is written. Default 4 × FlushRows.
	MaxBufferedRows int
	// Logger receives a debug line per written partition. Default: discard.
	Logger *slog.Logger
	// QuarantineDir receives the corrupt files that writes move aside.
	// Default: quarantine/<root's name> beside the root, so <data>/parquet
	// quarantines to <data>/quarantine/parquet.
	QuarantineDir string
}

func (o Options) withDefaults() Options {
	if o.FlushRows <= 0 {
		o.FlushRows = 50_000
	}
	if o.MaxBufferedRows <= 0 {
		o.MaxBufferedRows = 4 * o.FlushRows
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store writes trades, candles and feature rows under a root directory; see
// the package documentation for layout, merge rules and concurrency.
type Store struct {
	root     string
	opts     Options
	trades   *codec[market.Trade, tradeKey]
	candles  *codec[market.Candle, timeKey]
	features *codec[market.FeatureRow, timeKey]

	mu       sync.Mutex
	parts    map[partKey]partition
	newest   map[seriesKey]int64 // newest day buffered per dataset and pair
	buffered int
	closed   bool

	// beforeRename is a test hook run between writing and renaming a file.
	beforeRename func(tmp string) error
}

// seriesKey is one pair of one dataset; partKey one of its days.
type seriesKey struct {
	dataset Dataset
	pair    string
}

type partKey struct {
	seriesKey
	day int64 // see unixDay
}

// Open returns a Store over root, creating the directory if needed.
func Open(root string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("open store %s: %w", root, err)
	}
	return &Store{
		root:     abs,
		opts:     opts.withDefaults(),
		trades:   tradeCodec(),
		candles:  candleCodec(),
		features: featureCodec(),
		parts:    make(map[partKey]partition),
		newest:   make(map[seriesKey]int64),
	}, nil
}

// Root returns the absolute root directory of the store.
func (s *Store) Root() string { return s.root }

// AddTrades buffers trades, partitioned by the UTC day of TS, and writes
// the partitions that become due (so it may block for a write). Pairs are
// stored under their v2 name, times in UTC truncated to microseconds; a
// row with an invalid pair or a zero time rejects the whole batch.
func (s *Store) AddTrades(ts []market.Trade) error { return add(s, s.trades, ts) }

// AddCandles buffers candles, partitioned by the UTC day of Start.
func (s *Store) AddCandles(cs []market.Candle) error { return add(s, s.candles, cs) }

// AddFeatures buffers feature rows, partitioned by the UTC day of TS.
func (s *Store) AddFeatures(rs []market.FeatureRow) error { return add(s, s.features, rs) }

// Buffered returns the number of rows waiting to be written.
func (s *Store) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buffered
}

// Flush writes every buffered partition. Partitions that fail stay
// buffered for the next Flush; the errors are joined. A flush rewrites each
// touched day file whole, so live writers should flush on a timer (say a
// minute), not per row.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.flushParts(ctx, s.partKeys(func(partKey) bool { return true }))
}

// Close flushes the store. When the flush fails the store stays open so
// that the caller may retry; a closed store rejects further use.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if err := s.flushParts(ctx, s.partKeys(func(partKey) bool { return true })); err != nil {
		return err
	}
	s.closed = true
	return nil
}

// add validates the whole batch before buffering any of it, so a bad row
// rejects the batch; rows are copied, the caller keeps its slice.
func add[T any, K comparable](s *Store, c *codec[T, K], rows []T) error {
	norm := slices.Clone(rows)
	var pairs pairCache
	for i := range norm {
		if err := c.normalize(&norm[i], &pairs); err != nil {
			return fmt.Errorf("add %s: %w", c.dataset, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	rolled := make(map[seriesKey]bool)
	for _, r := range norm {
		if k, newDay := bufferRow(s, c, r); newDay {
			rolled[k] = true
		}
	}
	// Add has no context in its API; flushes it triggers run to completion.
	return s.flushDue(context.Background(), rolled)
}

// bufferRow appends row to its partition buffer and reports whether it
// started a newer day for its pair.
func bufferRow[T any, K comparable](s *Store, c *codec[T, K], row T) (seriesKey, bool) {
	k := partKey{seriesKey{c.dataset, *c.pair(&row)}, unixDay(*c.time(&row))}
	p, ok := s.parts[k]
	if !ok {
		p = &buffer[T, K]{c: c}
		s.parts[k] = p
	}
	p.(*buffer[T, K]).add(row)
	s.buffered++
	newest, seen := s.newest[k.seriesKey]
	if seen && k.day <= newest {
		return k.seriesKey, false
	}
	s.newest[k.seriesKey] = k.day
	return k.seriesKey, seen
}

// flushDue writes full partitions, the older days of pairs that just
// started a new day, and everything when the buffers exceed their bound.
func (s *Store) flushDue(ctx context.Context, rolled map[seriesKey]bool) error {
	all := s.buffered > s.opts.MaxBufferedRows
	return s.flushParts(ctx, s.partKeys(func(k partKey) bool {
		return all || s.parts[k].len() >= s.opts.FlushRows ||
			(rolled[k.seriesKey] && k.day < s.newest[k.seriesKey])
	}))
}

// partKeys returns the buffered partitions that match, in a stable order.
func (s *Store) partKeys(match func(partKey) bool) []partKey {
	var keys []partKey
	for k := range s.parts {
		if match(k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b partKey) int {
		return cmp.Or(cmp.Compare(a.dataset, b.dataset), cmp.Compare(a.pair, b.pair), cmp.Compare(a.day, b.day))
	})
	return keys
}

func (s *Store) flushParts(ctx context.Context, keys []partKey) error {
	var errs []error
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("flush: %w", err))...)
		}
		if err := s.flushPart(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Store) flushPart(ctx context.Context, k partKey) error {
	dir := PartitionDir(s.root, k.dataset, k.pair, dayStart(k.day))
	p := s.parts[k]
	start := time.Now()
	n, err := p.flush(ctx, dir, writeEnv{log: s.opts.Logger, beforeRename: s.beforeRename,
		root: s.root, qdir: quarantineDir(s.root, s.opts.QuarantineDir)})
	if err != nil {
		return fmt.Errorf("flush %s: %w", dir, err)
	}
	s.buffered -= p.len()
	delete(s.parts, k)
	s.opts.Logger.Debug("wrote partition", "dir", dir, "added", p.len(), "rows", n,
		"took", time.Since(start))
	return nil
}
