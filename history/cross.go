package history

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// CrossStats counts what CrossFeatures wrote: the Pairs with candles in the
// range, their Features rows, and the rows Crossed, those with another
// pair's row at their TS. A rerun gives the same counts.
type CrossStats struct {
	Pairs, Features, Crossed int
}

// CrossFeatures rewrites the feature rows of pairs whose candles start in
// [from, to) (bounds rounded up to the interval) with their cross-pair
// features: each pair's base rows are recomputed from its stored candles as
// BuildChunk computes them, each is filled by market.CrossFill from the
// other pairs' base rows at its TS, and all are written and flushed. It
// reads no stored feature row (their Revision already counts the other
// pairs), so running it again, or over other splits of the days, writes the
// same rows. Run it after the pairs' chunks covering the range are built;
// see the package documentation for which pairs.
func CrossFeatures(ctx context.Context, st *parquet.Store, dataDir string, pairs []string, from, to time.Time, iv time.Duration) (CrossStats, error) {
	list, err := crossArgs(st, dataDir, pairs, iv)
	if err != nil {
		return CrossStats{}, fmt.Errorf("cross features: %w", err)
	}
	from, to = alignUp(from, iv), alignUp(to, iv)
	if !to.After(from) {
		return CrossStats{}, fmt.Errorf("cross features: empty range [%s, %s): %w", from.Format(time.RFC3339), to.Format(time.RFC3339), market.ErrInvalid)
	}
	var s CrossStats
	base := make([][]market.FeatureRow, 0, len(list))
	for _, p := range list {
		rows, err := pairBaseRows(ctx, st.Root(), p, from, to, iv)
		if err != nil {
			return CrossStats{}, fmt.Errorf("cross features: base rows of %s: %w", p, err)
		}
		if len(rows) > 0 {
			s.Pairs++
			base = append(base, rows)
		}
	}
	rows, crossed := crossAll(base)
	if err := st.AddFeatures(rows); err != nil {
		return CrossStats{}, fmt.Errorf("cross features: %w", err)
	}
	if err := st.Flush(ctx); err != nil {
		return CrossStats{}, fmt.Errorf("cross features: %w", err)
	}
	s.Features, s.Crossed = len(rows), crossed
	return s, nil
}

// crossArgs checks the interval and the store and returns the pairs,
// normalized, sorted and each once.
func crossArgs(st *parquet.Store, dataDir string, pairs []string, iv time.Duration) ([]string, error) {
	if err := (market.AggregatorConfig{Interval: iv}).Validate(); err != nil {
		return nil, err
	}
	if err := checkDataDir(st, dataDir); err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no pairs: %w", market.ErrInvalid)
	}
	list := make([]string, len(pairs))
	for i, p := range pairs {
		n, err := market.NormalizePair(p)
		if err != nil {
			return nil, err
		}
		list[i] = n
	}
	slices.Sort(list)
	return slices.Compact(list), nil
}

// pairBaseRows recomputes the base rows of the stored candles of pair
// starting in [from, to).
func pairBaseRows(ctx context.Context, root, pair string, from, to time.Time, iv time.Duration) ([]market.FeatureRow, error) {
	cs, err := parquet.ReadCandles(root, pair, from, to)
	if err != nil {
		return nil, err
	}
	if err := checkBars(cs, iv); err != nil {
		return nil, err
	}
	return baseRows(ctx, root, pair, iv, cs)
}

// crossAll fills every base row from the rows of the other pairs at its
// TS, and counts the rows that had some.
func crossAll(base [][]market.FeatureRow) (rows []market.FeatureRow, crossed int) {
	n := 0
	for _, rs := range base {
		n += len(rs)
	}
	byTS := make(map[int64][]market.FeatureRow, n/max(len(base), 1))
	for _, rs := range base {
		for _, r := range rs {
			k := r.TS.UnixNano()
			byTS[k] = append(byTS[k], r)
		}
	}
	rows = make([]market.FeatureRow, 0, n)
	for _, rs := range base {
		for _, r := range rs {
			at := byTS[r.TS.UnixNano()] // r among them: CrossFill skips its own pair
			if len(at) > 1 {
				crossed++
			}
			rows = append(rows, market.CrossFill(r, at))
		}
	}
	return rows, crossed
}
