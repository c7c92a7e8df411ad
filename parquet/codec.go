package parquet

import (
	"cmp"
	"fmt"
	"math"
	"time"

	"github.com/tickcast/tickcast/market"
)

// codec describes one dataset: its file format (columns), the key that
// decides which row replaces which, the time that picks its day partition
// and orders it.
type codec[T any, K comparable] struct {
	dataset Dataset
	Format[T]
	pair func(*T) *string
	time func(*T) *time.Time
	key  func(*T) K
	// compare orders rows of one pair totally: by time, then the rest of the key.
	compare func(a, b T) int
	// follows reports that b comes after a in order and in key, so that a
	// run of rows each following the last has distinct keys and is sorted
	// (merge's fast path). Default: b's time after a's.
	follows func(a, b *T) bool
	// extraTimes are further timestamps that normalize truncates to µs.
	extraTimes func(*T) []*time.Time
}

func newCodec[T any, K comparable](c codec[T, K]) *codec[T, K] {
	if c.follows == nil {
		time := c.time
		c.follows = func(a, b *T) bool { return time(b).After(*time(a)) }
	}
	return &c
}

// normalize gives a row the canonical pair name and UTC microsecond times
// that the store writes, so that keys compare equal before and after a
// round trip through a file. pairs caches the last spelling normalized
// (rows of a batch mostly share their pair).
func (c *codec[T, K]) normalize(row *T, pairs *pairCache) error {
	p := c.pair(row)
	pair, err := pairs.normalize(*p)
	if err != nil {
		return fmt.Errorf("%s row: %w", c.dataset, err)
	}
	*p = pair
	t := c.time(row)
	if t.IsZero() {
		return fmt.Errorf("%s row %s: zero time: %w", c.dataset, pair, market.ErrInvalid)
	}
	*t = toMicros(*t)
	if c.extraTimes != nil {
		for _, e := range c.extraTimes(row) {
			*e = toMicros(*e)
		}
	}
	return nil
}

// pairCache remembers the last pair spelling and its normal form.
type pairCache struct{ in, out string }

func (pc *pairCache) normalize(s string) (string, error) {
	if s == pc.in && s != "" {
		return pc.out, nil
	}
	out, err := market.NormalizePair(s)
	if err == nil {
		pc.in, pc.out = s, out
	}
	return out, err
}

func toMicros(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}

// tradeKey is (pair, trade_id), or (pair, ts, price, qty, side) for trades
// without an id; floats are compared by bits so that the key is comparable.
type tradeKey struct {
	pair       string
	id         int64
	us         int64
	price, qty uint64
	side       market.Side
}

// timeKey is (pair, time) for candles (start) and feature rows (ts).
type timeKey struct {
	pair string
	us   int64
}

func tradeCodec() *codec[market.Trade, tradeKey] {
	return newCodec(codec[market.Trade, tradeKey]{
		dataset: DatasetTrades,
		Format:  NewFormat(string(DatasetTrades), tradeColumns()...),
		pair:    func(t *market.Trade) *string { return &t.Pair },
		time:    func(t *market.Trade) *time.Time { return &t.TS },
		key: func(t *market.Trade) tradeKey {
			if t.TradeID != 0 {
				return tradeKey{pair: t.Pair, id: t.TradeID}
			}
			return tradeKey{pair: t.Pair, us: t.TS.UnixMicro(),
				price: math.Float64bits(t.Price), qty: math.Float64bits(t.Qty), side: t.Side}
		},
		compare: func(a, b market.Trade) int {
			return cmp.Or(a.TS.Compare(b.TS), cmp.Compare(a.TradeID, b.TradeID),
				cmp.Compare(a.Price, b.Price), cmp.Compare(a.Qty, b.Qty), cmp.Compare(a.Side, b.Side))
		},
		follows: func(a, b *market.Trade) bool {
			return a.TradeID != 0 && b.TradeID > a.TradeID && !b.TS.Before(a.TS)
		},
	})
}

func tradeColumns() []Column[market.Trade] {
	type T = market.Trade
	return []Column[T]{
		StringColumn("pair", func(t *T) string { return t.Pair }, func(t *T, v string) { t.Pair = v }),
		Int64Column("trade_id", func(t *T) int64 { return t.TradeID }, func(t *T, v int64) { t.TradeID = v }),
		Float64Column("price", func(t *T) float64 { return t.Price }, func(t *T, v float64) { t.Price = v }),
		Float64Column("qty", func(t *T) float64 { return t.Qty }, func(t *T, v float64) { t.Qty = v }),
		StringColumn("side", func(t *T) string { return t.Side.String() }, func(t *T, v string) { t.Side = parseSide(v) }),
		StringColumn("ord_type", func(t *T) string { return t.OrdType.String() }, func(t *T, v string) { t.OrdType = parseOrdType(v) }),
		TimestampColumn("ts", func(t *T) time.Time { return t.TS }, func(t *T, v time.Time) { t.TS = v }),
		StringColumn("source", func(t *T) string { return t.Source }, func(t *T, v string) { t.Source = v }),
	}
}

// parseSide maps the "" written for an unknown side back to SideUnknown.
func parseSide(s string) market.Side {
	side, _ := market.ParseSide(s)
	return side
}

func parseOrdType(s string) market.OrdType {
	o, _ := market.ParseOrdType(s)
	return o
}

func candleCodec() *codec[market.Candle, timeKey] {
	return newCodec(codec[market.Candle, timeKey]{
		dataset:    DatasetCandles,
		Format:     NewFormat(string(DatasetCandles), candleColumns()...),
		pair:       func(c *market.Candle) *string { return &c.Pair },
		time:       func(c *market.Candle) *time.Time { return &c.Start },
		extraTimes: func(c *market.Candle) []*time.Time { return []*time.Time{&c.End} },
		key:        func(c *market.Candle) timeKey { return timeKey{c.Pair, c.Start.UnixMicro()} },
		compare:    func(a, b market.Candle) int { return a.Start.Compare(b.Start) },
	})
}

func candleColumns() []Column[market.Candle] {
	type C = market.Candle
	return []Column[C]{
		StringColumn("pair", func(c *C) string { return c.Pair }, func(c *C, v string) { c.Pair = v }),
		TimestampColumn("start", func(c *C) time.Time { return c.Start }, func(c *C, v time.Time) { c.Start = v }),
		TimestampColumn("end", func(c *C) time.Time { return c.End }, func(c *C, v time.Time) { c.End = v }),
		Float64Column("open", func(c *C) float64 { return c.Open }, func(c *C, v float64) { c.Open = v }),
		Float64Column("high", func(c *C) float64 { return c.High }, func(c *C, v float64) { c.High = v }),
		Float64Column("low", func(c *C) float64 { return c.Low }, func(c *C, v float64) { c.Low = v }),
		Float64Column("close", func(c *C) float64 { return c.Close }, func(c *C, v float64) { c.Close = v }),
		Float64Column("volume", func(c *C) float64 { return c.Volume }, func(c *C, v float64) { c.Volume = v }),
		Float64Column("vwap", func(c *C) float64 { return c.VWAP }, func(c *C, v float64) { c.VWAP = v }),
		Int64Column("trades", func(c *C) int64 { return c.Trades }, func(c *C, v int64) { c.Trades = v }),
		Float64Column("buy_volume", func(c *C) float64 { return c.BuyVolume }, func(c *C, v float64) { c.BuyVolume = v }),
		Float64Column("sell_volume", func(c *C) float64 { return c.SellVolume }, func(c *C, v float64) { c.SellVolume = v }),
		Int64Column("first_trade_id", func(c *C) int64 { return c.FirstTradeID }, func(c *C, v int64) { c.FirstTradeID = v }),
		Int64Column("last_trade_id", func(c *C) int64 { return c.LastTradeID }, func(c *C, v int64) { c.LastTradeID = v }),
		BoolColumn("complete", func(c *C) bool { return c.Complete }, func(c *C, v bool) { c.Complete = v }),
		BoolColumn("repaired", func(c *C) bool { return c.Repaired }, func(c *C, v bool) { c.Repaired = v }),
		Optional(Int64Column("revision", func(c *C) int64 { return int64(c.Revision) }, func(c *C, v int64) { c.Revision = int(v) })),
	}
}

func featureCodec() *codec[market.FeatureRow, timeKey] {
	return newCodec(codec[market.FeatureRow, timeKey]{
		dataset: DatasetFeatures,
		Format:  NewFormat(string(DatasetFeatures), featureColumns()...),
		pair:    func(r *market.FeatureRow) *string { return &r.Pair },
		time:    func(r *market.FeatureRow) *time.Time { return &r.TS },
		key:     func(r *market.FeatureRow) timeKey { return timeKey{r.Pair, r.TS.UnixMicro()} },
		compare: func(a, b market.FeatureRow) int { return a.TS.Compare(b.TS) },
	})
}

// featureColumns has one float64 column per market.FeatureNames entry. A
// file of an older schema may lack some: those values read as NaN.
func featureColumns() []Column[market.FeatureRow] {
	type R = market.FeatureRow
	cols := []Column[R]{
		StringColumn("pair", func(r *R) string { return r.Pair }, func(r *R, v string) { r.Pair = v }),
		TimestampColumn("ts", func(r *R) time.Time { return r.TS }, func(r *R, v time.Time) { r.TS = v }),
		Int64Column("schema_version", func(r *R) int64 { return int64(r.SchemaVersion) }, func(r *R, v int64) { r.SchemaVersion = int(v) }),
		BoolColumn("warm", func(r *R) bool { return r.Warm }, func(r *R, v bool) { r.Warm = v }),
		Float64Column("close", func(r *R) float64 { return r.Close }, func(r *R, v float64) { r.Close = v }),
		Optional(BoolColumn("complete", func(r *R) bool { return r.Complete }, func(r *R, v bool) { r.Complete = v })),
		Optional(Int64Column("revision", func(r *R) int64 { return int64(r.Revision) }, func(r *R, v int64) { r.Revision = int(v) })),
	}
	for i, name := range market.FeatureNames {
		c := Float64Column(name, func(r *R) float64 { return r.Values[i] }, func(r *R, v float64) { r.Values[i] = v })
		c.absent = func(r *R) { r.Values[i] = math.NaN() }
		cols = append(cols, c)
	}
	return cols
}
