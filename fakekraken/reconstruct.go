package fakekraken

import (
	"github.com/tickcast/tickcast/archive"
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
//
// The rule is implemented once, candle by candle, by
// archive.ReconstructedTrades; NewReconstructSource streams the same
// trades.
func ReconstructTrades(candles []market.Candle, firstID int64) []market.Trade {
	var out []market.Trade
	src := NewReconstructSource(candles, firstID)
	for {
		t, err := src.Next()
		if err != nil { // io.EOF: the only error over a slice
			return out
		}
		out = append(out, t)
	}
}

// NewReconstructSource yields the trades of ReconstructTrades one at a
// time: it holds the candles (one per minute, some 40 times fewer than the
// trades they make) and one candle's trades, never the whole stream. For
// candles from a file, archive.OpenTrades holds one row instead.
func NewReconstructSource(candles []market.Candle, firstID int64) TradeSource {
	return archive.NewReconstructedTrades(&archive.CandleSlice{Candles: candles}, firstID)
}
