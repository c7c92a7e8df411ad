package fakekraken

import (
	"io"
	"time"

	"github.com/tickcast/tickcast/market"
)

// ReconstructTrades makes deterministic trades from real candles (1-minute
// candles from Kraken's OHLCVT archive or Binance klines) where no real
// trades exist, such that market.Aggregator at the candles' interval gives
// each candle back: same open, high, low, close, volume (bit for bit) and
// trade count. They are labelled Source=market.SourceReconstructed and
// are placeholders for the unknown trades, not data. For each candle with
// Volume > 0 (empty candles and absent bars produce no trades):
//
//   - the price path is open → low → high → close when close >= open,
//     open → high → low → close otherwise, repeated prices merged, so it
//     has m = 1..4 points;
//   - n = candle.Trades when > 0, else m (4: open, high, low, close, fewer
//     when prices coincide); n is raised to m when a count is too small to
//     touch every price (never the case in consistent data: one trade is
//     O=H=L=C, two are {O, C} ⊇ {H, L});
//   - trade i has price path[i·(m−1)/(n−1)] (a staircase through the
//     path: the first trade at the open, the last at the close);
//   - quantities: volume/n each, the last one volume − (sum of the others)
//     as float64 adds them in order. That sum is at least volume/2 for n ≥ 2,
//     so the subtraction is exact (Sterbenz) and the aggregator's running
//     sum ends at exactly the candle's volume;
//   - times: Start + (i+1)·interval/(n+1), in whole microseconds, strictly
//     inside the candle and increasing (interval = End − Start, 1 minute
//     when End is unset);
//   - side by the tick rule across all trades (uptick buy, downtick sell,
//     unchanged the previous side, first buy); ord_type unknown;
//   - trade ids consecutive from firstID, in time order.
func ReconstructTrades(candles []market.Candle, firstID int64) []market.Trade {
	var out []market.Trade
	src := NewReconstructSource(candles, firstID)
	for {
		t, err := src.Next()
		if err != nil { // io.EOF: the only error it returns
			return out
		}
		out = append(out, t)
	}
}

// ReconstructSource yields the trades of ReconstructTrades one at a time:
// it holds the candles (one per minute, some 40 times fewer than the
// trades they make) and one candle's trades, never the whole stream.
type ReconstructSource struct {
	candles []market.Candle
	next    int // candle index
	id      int64
	buf     []market.Trade // the current candle's trades
	pos     int
	prev    market.Trade
	started bool
}

// NewReconstructSource returns the trades rebuilt from candles (in time
// order), ids from firstID; candles is not copied.
func NewReconstructSource(candles []market.Candle, firstID int64) *ReconstructSource {
	return &ReconstructSource{candles: candles, id: firstID}
}

// Next implements TradeSource; io.EOF after the last candle.
func (r *ReconstructSource) Next() (market.Trade, error) {
	for r.pos >= len(r.buf) {
		if r.next >= len(r.candles) {
			return market.Trade{}, io.EOF
		}
		c := r.candles[r.next]
		r.next++
		if c.Volume > 0 {
			r.buf, r.pos = appendCandleTrades(r.buf[:0], c, r.id), 0
			r.id += int64(len(r.buf))
		}
	}
	t := r.buf[r.pos]
	r.pos++
	t.Side = nextSide(r.prev, r.started, t.Price)
	r.prev, r.started = t, true
	return t, nil
}

// appendCandleTrades appends the trades of one candle, ids from id.
func appendCandleTrades(out []market.Trade, c market.Candle, id int64) []market.Trade {
	path := pricePath(c)
	n := int(c.Trades)
	if n <= 0 {
		n = len(path)
	}
	n = max(n, len(path))
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
			qty = c.Volume - sum
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
