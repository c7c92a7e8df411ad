package market

import "time"

// FeatureSchemaVersion changes whenever a feature's name, order or definition
// changes; models record it and refuse rows of another version.
const FeatureSchemaVersion = 1

// Feature indexes into FeatureRow.Values.
const (
	FRet1       = iota // ln(close / close 1 candle earlier)
	FRet5              // ln(close / close 5 candles earlier)
	FRet15             // ln(close / close 15 candles earlier)
	FRet60             // ln(close / close 60 candles earlier)
	FEMA12Dev          // close / EMA(12) − 1; EMAs start from the SMA of the window's oldest p closes
	FEMA26Dev          // close / EMA(26) − 1
	FSMA20Dev          // close / SMA(20) − 1
	FRSI14             // RSI(14), Cutler: 100·G/(G+L), sums of gains and losses of the last 14 changes; 50 when flat
	FMACD              // (EMA12 − EMA26) / close
	FMACDSignal        // EMA(9) of the MACD line (EMA12 − EMA26 at each candle of the window) / close
	FMACDHist          // FMACD − FMACDSignal
	FBBPctB20          // Bollinger %B: (close − lower) / (upper − lower), SMA(20) ± 2σ (population σ); 0.5 when σ = 0
	FATR14             // ATR(14) / close, simple average of the last 14 true ranges
	FRVol30            // realized volatility: sqrt(Σ r²) of the last 30 one-candle log returns
	FVolumeZ20         // (volume − mean) / σ of the last 20 volumes (population σ); 0 when σ = 0
	FVWAPDev20         // close / VWAP of the last 20 candles − 1; 0 when they have no volume
	FImbalance         // (buy − sell) / (buy + sell) volume of the candle, 0 when empty
	FImbalance5        // the same over the summed volumes of the last 5 candles
	FTradeCount        // log(1 + trades in the candle)
	FTODSin            // time of day of the candle end, sin(2π·s/86400), s = seconds since UTC midnight
	FTODCos            // time of day of the candle end, cos(2π·s/86400)
	NumFeatures
)

// FeatureNames are the column names of the features, in Values order.
var FeatureNames = [NumFeatures]string{
	"ret_1", "ret_5", "ret_15", "ret_60",
	"ema_12_dev", "ema_26_dev", "sma_20_dev",
	"rsi_14", "macd", "macd_signal", "macd_hist",
	"bb_pctb_20", "atr_14", "rvol_30", "volume_z_20", "vwap_dev_20",
	"imbalance", "imbalance_5", "trade_count", "tod_sin", "tod_cos",
}

// FeatureRow is the feature vector of one pair at TS (= the end of the
// candle it describes). It uses only candles ending at or before TS.
type FeatureRow struct {
	Pair          string
	TS            time.Time
	SchemaVersion int
	// Warm is true once the window holds FeatureWindow candles: every value
	// is set and no longer depends on where the stream started.
	Warm bool
	// Close is the close of the candle at TS: the price a predicted return
	// applies to. It is a reference value, not a model input.
	Close float64
	// Complete is true when every candle the row was computed from is
	// complete: no trade of its inputs is known to be missing.
	Complete bool
	// Revision is the sum of the revisions of the candles the row was
	// computed from: it grows with every correction of one of its inputs,
	// so consumers keyed by (pair, ts) keep the highest.
	Revision int
	Values   [NumFeatures]float64
}
