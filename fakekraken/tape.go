package fakekraken

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/tickcast/tickcast/market"
)

// DefaultHistory is how many published trades a streamed pair keeps
// (Config.History): the snapshot's and REST Trades' window.
const DefaultHistory = 200_000

// tape is one pair's replay. Trades are numbered by their index in the
// pair's stream (0, 1, ...); hist holds indices base..loaded()-1: the
// window of the published ones (trades [0, published) have happened) plus
// those read ahead. A pair from Config.Trades keeps every trade (keep 0);
// a streamed one drops all but the last keep published trades, so its
// memory does not depend on the file's size. We keep a window rather than
// an index of file offsets: a client repairs gaps of seconds to hours, far
// inside 200,000 trades, and a window works for any source, files or not.
type tape struct {
	pair      string
	src       TradeSource // nil once drained
	err       error       // why the source ended early, if it did
	inMemory  bool        // Config.Trades: all loaded at New, REST serves them all before the replay
	hist      []market.Trade
	base      int
	published int
	keep      int
	snap      int          // snapshot size (Config.SnapshotSize, SnapshotSizes)
	prev      market.Trade // the last trade loaded (order checks, tick rule)
	decimals  int          // most price decimals seen (AssetPairs' pair_decimals)
	hostile   map[int]HostileKind
	stalls    []*stall // Faults.Stalls of this pair (stall.go)
	subs      map[*conn]*sub
}

// sub is a connection's subscription: next is the index of the next trade
// to send it.
type sub struct{ next int }

func newTape(name string, src TradeSource, hostile []HostileTrade) (*tape, error) {
	pair, err := market.NormalizePair(name)
	if err != nil {
		return nil, fmt.Errorf("fakekraken: %w", err)
	}
	t := &tape{pair: pair, src: src, subs: map[*conn]*sub{}}
	for _, h := range hostile {
		if p, err := market.NormalizePair(h.Pair); h.Pair == "" || (err == nil && p == pair) {
			if t.hostile == nil {
				t.hostile = map[int]HostileKind{}
			}
			t.hostile[h.At] = h.Kind
		}
	}
	return t, nil
}

func (t *tape) loaded() int           { return t.base + len(t.hist) }
func (t *tape) at(i int) market.Trade { return t.hist[i-t.base] }
func (t *tape) drained() bool         { return t.src == nil }
func (t *tape) exhausted() bool {
	t.fill(t.published + 1)
	return t.drained() && t.published == t.loaded()
}
func (t *tape) has(i int) bool                      { t.fill(i + 1); return i < t.loaded() }
func (t *tape) originals(lo, hi int) []market.Trade { return t.hist[lo-t.base : hi-t.base] }

// until is the end of the run of trades from published up to n (exclusive)
// whose time is not after at.
func (t *tape) until(n int, at time.Time) int {
	i := t.published
	for i < n && t.has(i) && !t.at(i).TS.After(at) {
		i++
	}
	return i
}

// restEnd is where the trades REST serves end: every trade of
// Config.Trades before the replay starts, else the published ones.
func (t *tape) restEnd(started bool) int {
	if !started && t.inMemory {
		return t.loaded()
	}
	return t.published
}

// fill reads from the source until n trades are loaded or it ends; a bad
// trade ends it with t.err.
func (t *tape) fill(n int) {
	for t.src != nil && t.loaded() < n {
		tr, err := t.src.Next()
		if err == nil {
			err = t.admit(&tr)
		}
		if err != nil {
			t.end(err)
			return
		}
		t.hist = append(t.hist, tr)
	}
}

// end stops reading the source, keeping err unless it is io.EOF.
func (t *tape) end(err error) {
	if !errors.Is(err, io.EOF) {
		t.err = fmt.Errorf("fakekraken: %s trade %d: %w", t.pair, t.loaded(), err)
	}
	if c, ok := t.src.(io.Closer); ok {
		c.Close()
	}
	t.src = nil
}

// admit checks the next trade and fills in what the wire needs.
func (t *tape) admit(tr *market.Trade) error {
	if tr.Pair != "" {
		if p, err := market.NormalizePair(tr.Pair); err != nil || p != t.pair {
			return fmt.Errorf("pair %q under %s", tr.Pair, t.pair)
		}
	}
	tr.Pair = t.pair
	if err := tr.Validate(); err != nil {
		return fmt.Errorf("id %d: %w", tr.TradeID, err)
	}
	first := t.loaded() == 0
	if !first && tr.TradeID <= t.prev.TradeID {
		return fmt.Errorf("trade_id %d not above %d", tr.TradeID, t.prev.TradeID)
	}
	if !first && tr.TS.Before(t.prev.TS) {
		return fmt.Errorf("id %d: time %s before the previous trade", tr.TradeID, tr.TS)
	}
	tr.TS = tr.TS.UTC().Truncate(time.Microsecond)
	if tr.Side == market.SideUnknown {
		tr.Side = nextSide(t.prev, !first, tr.Price)
	}
	t.decimals = max(t.decimals, priceDecimals(tr.Price))
	t.prev = *tr
	return nil
}

// nextSide infers a taker side by the tick rule: uptick buy, downtick
// sell, unchanged the previous side, first trade buy.
func nextSide(prev market.Trade, hasPrev bool, price float64) market.Side {
	switch {
	case !hasPrev || price > prev.Price:
		return market.SideBuy
	case price < prev.Price:
		return market.SideSell
	}
	return prev.Side
}

func priceDecimals(p float64) int {
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], p, 'f', -1, 64)
	if i := slices.Index(b, '.'); i >= 0 {
		return len(b) - i - 1
	}
	return 0
}

// trim forgets published trades beyond the window, in steps of keep so
// that it copies each trade at most once. It allocates a new array: the
// slices handed out before (snapshots, batches) stay valid.
func (t *tape) trim() {
	if t.keep <= 0 {
		return
	}
	if drop := t.published - t.keep - t.base; drop >= t.keep {
		rest := t.hist[drop:]
		t.hist = append(make([]market.Trade, 0, len(rest)+t.keep), rest...)
		t.base += drop
	}
}

// emit returns trades [lo, hi) as the exchange serves them: hostile ones
// replaced by their corrupt copies (copying only then).
func (t *tape) emit(lo, hi int) []market.Trade {
	out := t.originals(lo, hi)
	copied := false
	for i := range out {
		if kind, ok := t.hostile[lo+i]; ok {
			if !copied {
				out, copied = slices.Clone(out), true
			}
			out[i] = kind.corrupt(out[i])
		}
	}
	return out
}
