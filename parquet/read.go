package parquet

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tickcast/tickcast/market"
)

// ReadTrades returns the stored trades of pair (any spelling; "" for every
// pair) with ts in [from, to), zero bounds meaning unbounded, sorted by ts.
// It reads with arrow-go, for tests and tools; queries belong to DuckDB.
func ReadTrades(root, pair string, from, to time.Time) ([]market.Trade, error) {
	return read(tradeCodec(), root, pair, from, to)
}

// ReadCandles is ReadTrades for candles, by start.
func ReadCandles(root, pair string, from, to time.Time) ([]market.Candle, error) {
	return read(candleCodec(), root, pair, from, to)
}

// ReadFeatures is ReadTrades for feature rows, by ts.
func ReadFeatures(root, pair string, from, to time.Time) ([]market.FeatureRow, error) {
	return read(featureCodec(), root, pair, from, to)
}

func read[T any, K comparable](c *codec[T, K], root, pair string, from, to time.Time) ([]T, error) {
	parts, err := Partitions(root, c.dataset, pair, from, to)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", c.dataset, pair, err)
	}
	var out []T
	for _, p := range parts {
		rows, err := readFile(context.Background(), c, p.Path)
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
