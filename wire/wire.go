// Package wire holds the wire encodings of the domain's records (trades,
// candles and feature rows): JSON objects between pipeline stages and in the
// API, and CSV records in exports. Keys and columns are the names of
// architecture.md "Records", in the same order.
//
// Numbers are formatted once for both encodings, as encoding/json and
// JavaScript do: the shortest decimal that parses back to the same float64,
// in plain notation ("10749.4", "0.004") unless |v| < 1e-6 or >= 1e21, which
// use an exponent ("1e-7"). NaN (and ±Inf, which no valid record holds) is
// null in JSON and an empty field in CSV; only feature values may be NaN.
//
// Trade timestamps have exactly 6 fractional digits (µs, the trade
// precision): "2019-07-01T00:00:03.172000Z". Candle and feature times are
// RFC 3339 in UTC with only the fractional digits needed: "2019-07-01T00:01:00Z".
//
// Decoders accept any RFC 3339 offset (converted to UTC), keys in any order,
// and ignore unknown keys whose values are scalars; they reject duplicate
// keys, wrong types and records that break the domain's rules, with errors
// wrapping market.ErrInvalid. Trade ts is truncated to the microsecond; side
// "" is SideUnknown as ord_type "" is OrdUnknown. Candles and feature rows
// need every key but revision (0; and a row's complete, false), which records
// written before revisions existed lack; trades may omit trade_id (0),
// ord_type ("") and source ("").
package wire

import (
	"slices"
	"time"

	"github.com/tickcast/tickcast/market"
)

const (
	tradeTimeLayout  = "2006-01-02T15:04:05.000000Z07:00"
	recordTimeLayout = time.RFC3339Nano
)

// Trade keys, in wire order.
const (
	tkPair = iota
	tkTradeID
	tkPrice
	tkQty
	tkSide
	tkOrdType
	tkTS
	tkSource
	numTradeKeys
)

// tradeKeys are the trade keys in wire order.
var tradeKeys = [numTradeKeys]string{"pair", "trade_id", "price", "qty", "side", "ord_type", "ts", "source"}

// TradeCSVHeader is the header of trade CSV files: the JSON keys in order.
var TradeCSVHeader = slices.Clone(tradeKeys[:])

// Candle keys, in wire order.
const (
	ckPair = iota
	ckStart
	ckEnd
	ckOpen
	ckHigh
	ckLow
	ckClose
	ckVolume
	ckVWAP
	ckTrades
	ckBuyVolume
	ckSellVolume
	ckFirstTradeID
	ckLastTradeID
	ckComplete
	ckRepaired
	ckRevision
	numCandleKeys
)

// candleKeys are the candle keys in wire order.
var candleKeys = [numCandleKeys]string{
	"pair", "start", "end", "open", "high", "low", "close", "volume", "vwap", "trades",
	"buy_volume", "sell_volume", "first_trade_id", "last_trade_id", "complete", "repaired", "revision",
}

// CandleCSVHeader is the header of candle CSV files: the JSON keys in order.
var CandleCSVHeader = slices.Clone(candleKeys[:])

// Feature row keys before the features, in wire order.
const (
	fkPair = iota
	fkTS
	fkSchemaVersion
	fkWarm
	fkClose
	fkComplete
	fkRevision
	numFeatureHeadKeys
	numFeatureKeys = numFeatureHeadKeys + market.NumFeatures
)

// featureHeadKeys are the feature row keys before one key per FeatureNames entry.
var featureHeadKeys = [numFeatureHeadKeys]string{"pair", "ts", "schema_version", "warm", "close", "complete", "revision"}

// featureKeys are the feature row keys in wire order: the head keys, then
// one per FeatureNames entry.
var featureKeys = func() (keys [numFeatureKeys]string) {
	copy(keys[:], featureHeadKeys[:])
	copy(keys[numFeatureHeadKeys:], market.FeatureNames[:])
	return keys
}()

// FeatureCSVHeader returns the header of feature CSV files: the JSON keys in order.
func FeatureCSVHeader() []string { return slices.Clone(featureKeys[:]) }

// Required keys: trades may omit trade_id, ord_type and source; candles and
// rows written before revisions existed omit revision (and rows complete).
const (
	tradeRequired   = 1<<tkPair | 1<<tkPrice | 1<<tkQty | 1<<tkSide | 1<<tkTS
	candleRequired  = (1<<numCandleKeys - 1) &^ (1 << ckRevision)
	featureRequired = (1<<numFeatureKeys - 1) &^ (1<<fkComplete | 1<<fkRevision)
)

// Record is a record the wire carries.
type Record interface {
	market.Trade | market.Candle | market.FeatureRow
}

// AppendJSON appends r as a JSON object (NaN features as null).
func AppendJSON[R Record](dst []byte, r R) []byte {
	switch r := any(r).(type) {
	case market.Trade:
		return appendTradeJSON(dst, r)
	case market.Candle:
		return appendCandleJSON(dst, r)
	case market.FeatureRow:
		return appendFeatureRowJSON(dst, r)
	}
	panic("wire: unknown record type")
}

// AppendCSV appends r's CSV fields in its header's order (NaN features as
// empty fields).
func AppendCSV[R Record](rec []string, r R) []string {
	switch r := any(r).(type) {
	case market.Trade:
		return appendTradeCSV(rec, r)
	case market.Candle:
		return appendCandleCSV(rec, r)
	case market.FeatureRow:
		return appendFeatureRowCSV(rec, r)
	}
	panic("wire: unknown record type")
}
