package market

import "time"

// Candle is one event-time window [Start, End) of a pair's trades. A window
// without trades is still emitted (Trades=0, OHLC = previous close, volumes 0)
// so that indicators see a regular time grid.
type Candle struct {
	Pair         string
	Start        time.Time
	End          time.Time
	Open         float64
	High         float64
	Low          float64
	Close        float64
	Volume       float64
	VWAP         float64
	Trades       int64
	BuyVolume    float64
	SellVolume   float64
	FirstTradeID int64
	LastTradeID  int64
	// Complete is false while trades of the window may be missing: a trade_id
	// gap or an outage of the input overlaps it, or it is the first window of
	// a stream not repaired back to its start.
	Complete bool
	// Repaired is true when a gap in the window was filled from REST.
	Repaired bool
	// Revision counts the corrections of the window: 0 when first emitted,
	// one more each time it is emitted again. Consumers keyed by (pair,
	// start) keep the highest.
	Revision int
}
