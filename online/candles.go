package online

import (
	"sync"

	"github.com/tickcast/tickcast/market"
)

// DefaultRecentCandles is how many candles per pair Candles keeps by default:
// a day of 1-minute candles, enough for the dashboard's chart.
const DefaultRecentCandles = 1440

// Candles keeps the most recent candles of each pair, oldest first, for
// readers that want the recent past without the store (the dashboard). A
// candle with the start of one held replaces it (a corrected candle). The
// zero value keeps DefaultRecentCandles per pair; it is safe for
// concurrent use.
type Candles struct {
	// Keep is the number of candles kept per pair (0: DefaultRecentCandles).
	Keep int

	mu    sync.RWMutex
	pairs map[string][]market.Candle
}

// Put adds c, or replaces the held candle with the same start.
func (cs *Candles) Put(c market.Candle) {
	c.Pair = canonical(c.Pair)
	keep := cs.Keep
	if keep <= 0 {
		keep = DefaultRecentCandles
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.pairs == nil {
		cs.pairs = make(map[string][]market.Candle)
	}
	held := cs.pairs[c.Pair]
	// Corrections are recent: search from the newest end.
	for i := len(held) - 1; i >= 0; i-- {
		switch {
		case held[i].Start.Equal(c.Start):
			held[i] = c
			return
		case held[i].Start.Before(c.Start):
			held = insertAt(held, i+1, c)
			cs.pairs[c.Pair] = trim(held, keep)
			return
		}
	}
	cs.pairs[c.Pair] = trim(insertAt(held, 0, c), keep)
}

// Recent returns up to limit of the newest candles of pair (any spelling),
// oldest first; limit ≤ 0 returns all held.
func (cs *Candles) Recent(pair string, limit int) []market.Candle {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	held := cs.pairs[canonical(pair)]
	if limit > 0 && len(held) > limit {
		held = held[len(held)-limit:]
	}
	return append([]market.Candle(nil), held...)
}

func insertAt(s []market.Candle, i int, c market.Candle) []market.Candle {
	s = append(s, market.Candle{})
	copy(s[i+1:], s[i:])
	s[i] = c
	return s
}

// trim drops the oldest candles beyond keep, reusing the array only when
// it has grown to twice keep so that Put stays amortised O(1).
func trim(s []market.Candle, keep int) []market.Candle {
	if len(s) <= keep {
		return s
	}
	if cap(s) >= 2*keep {
		return append(make([]market.Candle, 0, keep+keep/2), s[len(s)-keep:]...)
	}
	return s[len(s)-keep:]
}
