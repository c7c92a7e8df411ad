package duckdb

import (
	"context"
	"database/sql"
	"math"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// Trades returns the trades of q ordered by ts (then pair, trade_id).
func (db *DB) Trades(ctx context.Context, q Query) ([]market.Trade, error) {
	return collect(ctx, db, tradeTable(), q)
}

// EachTrade streams the trades of q to fn, for ranges too large to hold.
func (db *DB) EachTrade(ctx context.Context, q Query, fn func(market.Trade) error) error {
	return each(ctx, db, tradeTable(), q, fn)
}

// Candles returns the candles of q, by start, ordered by start then pair.
func (db *DB) Candles(ctx context.Context, q Query) ([]market.Candle, error) {
	return collect(ctx, db, candleTable(), q)
}

// EachCandle streams the candles of q to fn.
func (db *DB) EachCandle(ctx context.Context, q Query, fn func(market.Candle) error) error {
	return each(ctx, db, candleTable(), q, fn)
}

// Features returns the feature rows of q, by ts, ordered by ts then pair.
// A value a file lacks (older schema) reads as NaN.
func (db *DB) Features(ctx context.Context, q Query) ([]market.FeatureRow, error) {
	return collect(ctx, db, featureTable(), q)
}

// EachFeature streams the feature rows of q to fn.
func (db *DB) EachFeature(ctx context.Context, q Query, fn func(market.FeatureRow) error) error {
	return each(ctx, db, featureTable(), q, fn)
}

func tradeTable() table[market.Trade] {
	return table[market.Trade]{
		dataset: parquet.DatasetTrades,
		columns: []string{"pair", "trade_id", "price", "qty", "side", "ord_type", "ts", "source"},
		timeCol: "ts",
		orderBy: []string{"ts", "pair", "trade_id", "price", "qty", "side"},
		scan: func(r *sql.Rows) (market.Trade, error) {
			var t market.Trade
			var side, ord string
			err := r.Scan(&t.Pair, &t.TradeID, &t.Price, &t.Qty, &side, &ord, &t.TS, &t.Source)
			t.Side, _ = market.ParseSide(side) // "" is SideUnknown
			t.OrdType, _ = market.ParseOrdType(ord)
			t.TS = t.TS.UTC()
			return t, err
		},
	}
}

func candleTable() table[market.Candle] {
	return table[market.Candle]{
		dataset: parquet.DatasetCandles,
		columns: []string{"pair", "start", "end", "open", "high", "low", "close", "volume", "vwap",
			"trades", "buy_volume", "sell_volume", "first_trade_id", "last_trade_id", "complete", "repaired", "revision"},
		optional: []col{{"revision", tBigint}},
		timeCol:  "start",
		orderBy:  []string{"start", "pair"},
		scan: func(r *sql.Rows) (market.Candle, error) {
			var c market.Candle
			var rev sql.NullInt64 // 0 in files before revisions
			err := r.Scan(&c.Pair, &c.Start, &c.End, &c.Open, &c.High, &c.Low, &c.Close, &c.Volume, &c.VWAP,
				&c.Trades, &c.BuyVolume, &c.SellVolume, &c.FirstTradeID, &c.LastTradeID, &c.Complete, &c.Repaired, &rev)
			c.Start, c.End, c.Revision = c.Start.UTC(), c.End.UTC(), int(rev.Int64)
			return c, err
		},
	}
}

func featureTable() table[market.FeatureRow] {
	return table[market.FeatureRow]{
		dataset:  parquet.DatasetFeatures,
		columns:  append([]string{"pair", "ts", "schema_version", "warm", "close", "complete", "revision"}, market.FeatureNames[:]...),
		optional: featureOptional(),
		timeCol:  "ts",
		orderBy:  []string{"ts", "pair"},
		scan:     scanFeatureRow,
	}
}

// featureOptional are the feature columns older files may lack: complete,
// revision and each feature value.
func featureOptional() []col {
	cols := []col{{"complete", tBool}, {"revision", tBigint}}
	for _, name := range market.FeatureNames {
		cols = append(cols, col{name, tDouble})
	}
	return cols
}

// scanFeatureRow reads NULL values (columns missing under union_by_name)
// as NaN, the store's "unknown" for a feature, and as false and 0 for
// complete and revision, as package parquet does.
func scanFeatureRow(r *sql.Rows) (market.FeatureRow, error) {
	var f market.FeatureRow
	var vals [market.NumFeatures]sql.NullFloat64
	var complete sql.NullBool
	var rev sql.NullInt64
	dest := []any{&f.Pair, &f.TS, &f.SchemaVersion, &f.Warm, &f.Close, &complete, &rev}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	if err := r.Scan(dest...); err != nil {
		return f, err
	}
	f.TS, f.Complete, f.Revision = f.TS.UTC(), complete.Bool, int(rev.Int64)
	for i, v := range vals {
		f.Values[i] = math.NaN()
		if v.Valid {
			f.Values[i] = v.Float64
		}
	}
	return f, nil
}
