package fakekraken

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tickcast/tickcast/market"
)

// HostileKind is how a hostile trade is corrupt.
type HostileKind int

// The corruptions a real feed has been seen to carry, or that a client
// must survive anyway.
const (
	HostileYear2100   HostileKind = iota + 1 // timestamp moved to the year 2100
	HostileDayAhead                          // timestamp one day ahead
	HostileDayBehind                         // timestamp one day behind
	HostileHuge                              // price = qty = 1e308
	HostileNegative                          // price negated
	HostileZeroPrice                         // price 0
	HostilePriceX1000                        // price × 1000
)

// HostileKinds lists every kind, in order.
func HostileKinds() []HostileKind {
	return []HostileKind{HostileYear2100, HostileDayAhead, HostileDayBehind, HostileHuge, HostileNegative, HostileZeroPrice, HostilePriceX1000}
}

func (k HostileKind) String() string {
	names := map[HostileKind]string{HostileYear2100: "year-2100", HostileDayAhead: "day-ahead", HostileDayBehind: "day-behind",
		HostileHuge: "huge", HostileNegative: "negative-price", HostileZeroPrice: "zero-price", HostilePriceX1000: "price-x1000"}
	if n, ok := names[k]; ok {
		return n
	}
	return fmt.Sprintf("HostileKind(%d)", int(k))
}

// HostileTrade replaces the trade at tape index At (0 = the pair's first
// trade) by a corrupt copy with the same trade_id. It is the exchange's
// data: the WebSocket (snapshot and update) and REST Trades both serve the
// corrupt values under that id, every time. The replay itself runs on the
// original (its time schedules it; REST's since and last cursor use it;
// OHLC is built from originals), so the rest of the tape is unaffected.
type HostileTrade struct {
	Pair string // "" = every pair
	At   int
	Kind HostileKind
}

// corrupt returns t corrupted as k says.
func (k HostileKind) corrupt(t market.Trade) market.Trade {
	switch k {
	case HostileYear2100:
		t.TS = t.TS.AddDate(2100-t.TS.Year(), 0, 0)
	case HostileDayAhead:
		t.TS = t.TS.Add(24 * time.Hour)
	case HostileDayBehind:
		t.TS = t.TS.Add(-24 * time.Hour)
	case HostileHuge:
		t.Price, t.Qty = 1e308, 1e308
	case HostileNegative:
		t.Price = -math.Abs(t.Price)
	case HostileZeroPrice:
		t.Price = 0
	case HostilePriceX1000:
		t.Price *= 1000
	}
	return t
}

// RandomHostile picks n hostile trades among tape indices [from, to),
// kinds in turn, positions from a rand.PCG seeded with seed: the same
// arguments give the same trades.
func RandomHostile(seed uint64, n, from, to int) []HostileTrade {
	if n <= 0 || to <= from {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	kinds := HostileKinds()
	seen := map[int]bool{}
	var out []HostileTrade
	for len(out) < min(n, to-from) {
		at := from + rng.IntN(to-from)
		if seen[at] {
			continue
		}
		seen[at] = true
		out = append(out, HostileTrade{At: at, Kind: kinds[len(out)%len(kinds)]})
	}
	return out
}
