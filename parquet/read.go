package parquet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tickcast/tickcast/market"
)

// ReadTrades returns the stored trades of pair (any spelling; "" for every
// pair) with ts in [from, to), zero bounds meaning unbounded, sorted by ts.
// It reads with arrow-go, for tests and tools; queries belong to DuckDB.
// A corrupt file fails the read with a *CorruptError naming it; a Reader
// with SkipCorrupt reads the other files instead.
func ReadTrades(root, pair string, from, to time.Time) ([]market.Trade, error) {
	return read(tradeCodec(), root, pair, from, to, nil)
}

// ReadCandles is ReadTrades for candles, by start.
func ReadCandles(root, pair string, from, to time.Time) ([]market.Candle, error) {
	return read(candleCodec(), root, pair, from, to, nil)
}

// ReadFeatures is ReadTrades for feature rows, by ts.
func ReadFeatures(root, pair string, from, to time.Time) ([]market.FeatureRow, error) {
	return read(featureCodec(), root, pair, from, to, nil)
}

// Reader reads like ReadTrades, ReadCandles and ReadFeatures, optionally
// skipping corrupt files: for training and warm starts, where the other
// days are worth more than a failure. It is safe for concurrent use.
type Reader struct {
	Root string
	// SkipCorrupt reads past a corrupt file: it is logged (warn) and
	// recorded in Skipped instead of failing the read.
	SkipCorrupt bool
	Logger      *slog.Logger // default: discard

	mu      sync.Mutex
	skipped []string
}

// Trades is ReadTrades over r.Root.
func (r *Reader) Trades(pair string, from, to time.Time) ([]market.Trade, error) {
	return read(tradeCodec(), r.Root, pair, from, to, r)
}

// Candles is ReadCandles over r.Root.
func (r *Reader) Candles(pair string, from, to time.Time) ([]market.Candle, error) {
	return read(candleCodec(), r.Root, pair, from, to, r)
}

// Features is ReadFeatures over r.Root.
func (r *Reader) Features(pair string, from, to time.Time) ([]market.FeatureRow, error) {
	return read(featureCodec(), r.Root, pair, from, to, r)
}

// Skipped returns the corrupt files skipped so far, once each, in order.
func (r *Reader) Skipped() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.skipped)
}

// skip reports whether err is a corrupt file to read past, and records it.
func (r *Reader) skip(err error) bool {
	var ce *CorruptError
	if r == nil || !r.SkipCorrupt || !errors.As(err, &ce) {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.skipped, ce.Path) {
		r.skipped = append(r.skipped, ce.Path)
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Warn("skipped a corrupt store file; its rows are missing from this read", "path", ce.Path, "err", ce.Err)
	return true
}

func read[T any, K comparable](c *codec[T, K], root, pair string, from, to time.Time, r *Reader) ([]T, error) {
	parts, err := Partitions(root, c.dataset, pair, from, to)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", c.dataset, pair, err)
	}
	var out []T
	for _, p := range parts {
		rows, err := c.Read(context.Background(), p.Path)
		if r.skip(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, slices.DeleteFunc(rows, func(r T) bool { return !inRange(*c.time(&r), from, to) })...)
	}
	// Partitions come pair by pair; a stable sort by time keeps pair order on ties.
	slices.SortStableFunc(out, func(a, b T) int { return c.time(&a).Compare(*c.time(&b)) })
	return out, nil
}

func inRange(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}
