package duckdb

import "github.com/tickcast/tickcast/market"

// The columns of the store's files as DuckDB reads them, for the empty
// view of a dataset the store lacks. A test checks them against real files.

const (
	tVarchar = "VARCHAR"
	tBigint  = "BIGINT"
	tDouble  = "DOUBLE"
	tBool    = "BOOLEAN"
	tTime    = "TIMESTAMP WITH TIME ZONE"
)

func tradeSchema() []col {
	return []col{{"pair", tVarchar}, {"trade_id", tBigint}, {"price", tDouble}, {"qty", tDouble},
		{"side", tVarchar}, {"ord_type", tVarchar}, {"ts", tTime}, {"source", tVarchar}}
}

func candleSchema() []col {
	return []col{{"pair", tVarchar}, {"start", tTime}, {"end", tTime}, {"open", tDouble}, {"high", tDouble},
		{"low", tDouble}, {"close", tDouble}, {"volume", tDouble}, {"vwap", tDouble}, {"trades", tBigint},
		{"buy_volume", tDouble}, {"sell_volume", tDouble}, {"first_trade_id", tBigint}, {"last_trade_id", tBigint},
		{"complete", tBool}, {"repaired", tBool}, {"revision", tBigint}}
}

func featureSchema() []col {
	cols := []col{{"pair", tVarchar}, {"ts", tTime}, {"schema_version", tBigint}, {"warm", tBool},
		{"close", tDouble}, {"complete", tBool}, {"revision", tBigint}}
	for _, name := range market.FeatureNames {
		cols = append(cols, col{name, tDouble})
	}
	return cols
}

func predictionSchema() []col {
	return []col{{"pair", tVarchar}, {"as_of", tTime}, {"horizon", tBigint}, {"target_time", tTime},
		{"predicted_return", tDouble}, {"predicted_price", tDouble}, {"last_price", tDouble},
		{"model_name", tVarchar}, {"model_version", tBigint}, {"feature_age_ms", tBigint},
		{"cached", tBool}, {"stale", tBool}, {"served", tBigint}, {"realized_price", tDouble},
		{"realized_return", tDouble}, {"abs_error", tDouble}, {"baseline_abs_error", tDouble}}
}
