package archive

import (
	"io"
	"time"

	"github.com/tickcast/tickcast/market"
)

// ReconstructedTrades rebuilds deterministic trades from real candles, one
// candle at a time, where no real trades exist: the aggregator at the
// candles' interval gives each candle back (open, high, low, close, volume
// bit for bit, and the trade count). The trades are those of
// fakekraken.ReconstructTrades, which documents the rule, labelled
// market.SourceReconstructed: placeholders for the unknown trades, not data.
// In short, per candle with Volume > 0: n = Trades (at least the price
// path's length) trades along open → low → high → close (open → high → low
// → close when it falls), equal quantities with the remainder last, evenly
// spaced inside the candle in whole microseconds, sides by the tick rule
// across candles, ids consecutive.
type ReconstructedTrades struct {
	candles interface{ Next() (market.Candle, error) }
	id      int64
	buf     []market.Trade // the current candle's trades
	pos     int
	prev    market.Trade
	started bool
}

// NewReconstructedTrades rebuilds the trades of the candles that candles
// yields (in time order), ids from firstID.
func NewReconstructedTrades(candles interface{ Next() (market.Candle, error) }, firstID int64) *ReconstructedTrades {
	return &ReconstructedTrades{candles: candles, id: firstID}
}

// Next returns the next trade; the candle source's io.EOF after the last.
func (r *ReconstructedTrades) Next() (market.Trade, error) {
	for r.pos >= len(r.buf) {
		c, err := r.candles.Next()
		if err != nil {
			return market.Trade{}, err
		}
		if c.Volume > 0 {
			r.buf, r.pos = appendCandleTrades(r.buf[:0], c, r.id), 0
			r.id += int64(len(r.buf))
		}
	}
	t := r.buf[r.pos]
	r.pos++
	t.Side = tickSide(r.prev, r.started, t.Price)
	r.prev, r.started = t, true
	return t, nil
}

// tickSide: uptick buy, downtick sell, unchanged the previous side, first buy.
func tickSide(prev market.Trade, hasPrev bool, price float64) market.Side {
	switch {
	case !hasPrev || price > prev.Price:
		return market.SideBuy
	case price < prev.Price:
		return market.SideSell
	}
	return prev.Side
}

// appendCandleTrades appends the trades of one candle, ids from id.
func appendCandleTrades(out []market.Trade, c market.Candle, id int64) []market.Trade {
	path := pricePath(c)
	n := max(int(c.Trades), len(path))
	span := c.End.Sub(c.Start)
	if span <= 0 {
		span = time.Minute
	}
	us := span.Microseconds()
	q := c.Volume / float64(n)
	sum := 0.0
	for i := range n {
		qty := q
		if i == n-1 {
			qty = c.Volume - sum // exact (Sterbenz): the aggregator's sum ends at Volume
		}
		sum += qty
		off := time.Duration((int64(i)+1)*us/int64(n+1)) * time.Microsecond
		out = append(out, market.Trade{Pair: c.Pair, TradeID: id + int64(i), Price: path[pathIndex(i, n, len(path))],
			Qty: qty, TS: c.Start.Add(off).UTC(), Source: market.SourceReconstructed})
	}
	return out
}

// pricePath is the candle's open, extremes and close in the order they
// are visited, consecutive repeats merged.
func pricePath(c market.Candle) []float64 {
	pts := [4]float64{c.Open, c.High, c.Low, c.Close}
	if c.Close >= c.Open {
		pts[1], pts[2] = c.Low, c.High
	}
	path := make([]float64, 0, 4)
	for _, p := range pts {
		if len(path) == 0 || path[len(path)-1] != p {
			path = append(path, p)
		}
	}
	return path
}

// pathIndex maps trade i of n onto the m path points: steps of at most one
// point (n >= m), from the first to the last, so every point is visited.
func pathIndex(i, n, m int) int {
	if n <= 1 {
		return 0
	}
	return i * (m - 1) / (n - 1)
}

// CandleSlice yields candles held in memory, for NewReconstructedTrades.
type CandleSlice struct {
	Candles []market.Candle
	i       int
}

// Next returns the next candle, io.EOF after the last.
func (c *CandleSlice) Next() (market.Candle, error) {
	if c.i >= len(c.Candles) {
		return market.Candle{}, io.EOF
	}
	c.i++
	return c.Candles[c.i-1], nil
}
