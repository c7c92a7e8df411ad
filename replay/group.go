package replay

import (
	"slices"
	"time"

	"github.com/tickcast/tickcast/market"
)

// SnapshotDefault is Kraken's snapshot size, and SnapshotMax a bound that
// keeps a snapshot message far below the client's 4 MiB frame limit.
const (
	SnapshotDefault = 50
	SnapshotMax     = 10000
)

// Group holds sources whose replays overlap in market time: they start
// together, on one market clock, served by one fake Kraken and streamed by
// one pipeline (see SnapshotSizes).
type Group struct {
	Sources []*Source
}

// Pairs are the group's pairs, in the order of its sources.
func (g *Group) Pairs() []string {
	var out []string
	for _, s := range g.Sources {
		out = append(out, s.Pair)
	}
	return out
}

// Last is the time of the group's last trade.
func (g *Group) Last() time.Time {
	var last time.Time
	for _, s := range g.Sources {
		if s.Last().After(last) {
			last = s.Last()
		}
	}
	return last
}

// SnapshotSizes aligns the group's replays. A fake Kraken publishes each
// pair's first snapshot-size trades at once and replays the rest from the
// latest of their ends; a subscriber's snapshot holds only the last
// snapshot-size published trades. With one size for all pairs it would
// publish more trades of the others than their snapshots hold: their first
// candles would go missing (and warm start with them). So each source gets
// its own size (fakekraken.Config.SnapshotSizes): exactly its trades up to
// the group's common start, so that they all begin at that market time and
// nothing is lost. A size of SnapshotMax says the source had more trades
// before the start than one snapshot holds.
func (g *Group) SnapshotSizes() (sizes []int, start time.Time) {
	for _, s := range g.Sources {
		if ts := s.head[min(SnapshotDefault, len(s.head))-1].TS; ts.After(start) {
			start = ts
		}
	}
	for _, s := range g.Sources {
		// head holds SnapshotMax+1 trades: n beyond it is capped below anyway.
		n, _ := slices.BinarySearchFunc(s.head, start, func(t market.Trade, ts time.Time) int {
			if t.TS.After(ts) {
				return 1
			}
			return -1
		})
		sizes = append(sizes, min(max(n, 1), SnapshotMax))
	}
	return sizes, start
}

// GroupSources puts sources whose [first, last] trade spans overlap in one group.
func GroupSources(srcs []*Source) []*Group {
	sorted := slices.Clone(srcs)
	slices.SortStableFunc(sorted, func(a, b *Source) int { return a.First().Compare(b.First()) })
	var groups []*Group
	for _, s := range sorted {
		if n := len(groups); n > 0 && !s.First().After(groups[n-1].Last()) {
			groups[n-1].Sources = append(groups[n-1].Sources, s)
			continue
		}
		groups = append(groups, &Group{Sources: []*Source{s}})
	}
	return groups
}
