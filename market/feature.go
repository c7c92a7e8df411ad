package market

import "time"

// FeatureSchemaVersion changes whenever a feature's name, order or definition
// changes; models record it and refuse rows of another version.
// Version 2 appended rvol_5 … garman_klass_30, rvol_240, rvol_1440 and
// dow_sin/cos, and made order flow and trade counts missing (NaN) where the
// source lacks them; version 3 appended the cross-pair features xp_*. The
// columns of every older version keep their order: FeatureSchemaColumns.
const FeatureSchemaVersion = 3

// FeatureSchemaColumns is how many leading columns of Values each schema
// version has: every version appended to the one before.
var FeatureSchemaColumns = map[int]int{1: 21, 2: 32, 3: NumFeatures}

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
	FImbalance         // (buy − sell) / (buy + sell) volume of the candle, 0 when empty; missing without a taker side
	FImbalance5        // the same over the summed volumes of the last 5 candles; missing if one lacks a taker side
	FTradeCount        // log(1 + trades in the candle); missing when the source has no trade count
	FTODSin            // time of day of the candle end, sin(2π·s/86400), s = seconds since UTC midnight
	FTODCos            // time of day of the candle end, cos(2π·s/86400)
	// Schema 2.
	FRVol5         // realized volatility: sqrt(Σ r²) of the last 5 one-candle log returns
	FRVol15        // the same over 15 returns
	FRVol60        // the same over 60 returns
	FRVol120       // the same over 120 returns (121 candles: one more than the window, so long history)
	FParkinson30   // Parkinson range volatility: sqrt(Σ ln(H/L)² / (4 ln 2)) over the last 30 candles (a sum, like rvol)
	FParkinson120  // the same over the last 120 candles
	FGarmanKlass30 // Garman–Klass: sqrt(Σ [0.5 ln(H/L)² − (2 ln 2 − 1) ln(C/O)²]) over 30 candles, a negative sum taken as 0
	FRVol240       // long memory (HAR): sqrt(Σ r²) of the last 240 one-candle returns (4 h of 1-minute candles)
	FRVol1440      // long memory (HAR): the same over LongWindow = 1440 returns (1 day of 1-minute candles)
	FDOWSin        // time of week of the candle end, sin(2π·s/604800), s = seconds since Monday 00:00 UTC
	FDOWCos        // time of week of the candle end, cos(2π·s/604800)
	// Schema 3: cross-pair features, the mean over the other pairs that have
	// a row at the same TS (see CrossFill); missing when none has.
	FXRet1   // the other pairs' ret_1
	FXRet5   // the other pairs' ret_5
	FXRet15  // the other pairs' ret_15
	FXRVol5  // the other pairs' rvol_5
	FXRVol30 // the other pairs' rvol_30
	FXRVol60 // the other pairs' rvol_60
	NumFeatures
)

// FeatureNames are the column names of the features, in Values order.
var FeatureNames = [NumFeatures]string{
	"ret_1", "ret_5", "ret_15", "ret_60",
	"ema_12_dev", "ema_26_dev", "sma_20_dev",
	"rsi_14", "macd", "macd_signal", "macd_hist",
	"bb_pctb_20", "atr_14", "rvol_30", "volume_z_20", "vwap_dev_20",
	"imbalance", "imbalance_5", "trade_count", "tod_sin", "tod_cos",
	"rvol_5", "rvol_15", "rvol_60", "rvol_120", "parkinson_30", "parkinson_120", "garman_klass_30",
	"rvol_240", "rvol_1440", "dow_sin", "dow_cos",
	"xp_ret_1", "xp_ret_5", "xp_ret_15", "xp_rvol_5", "xp_rvol_30", "xp_rvol_60",
}

// Missing values: NaN in FeatureRow.Values means "not known", by design, and
// XGBoost takes NaN as missing natively. Only the features marked in
// FeatureMayBeMissing may be NaN in a warm row; NaN in any other feature of a
// warm row, and ±Inf anywhere, is an error (never the case for rows of
// Features). A feature is missing when:
//   - its window needs more candles than the stream has given: rvol_120 (121
//     candles), rvol_240 and rvol_1440 (up to LongWindow+1 candles) are NaN
//     until their window is full, never computed over a shorter one, so every
//     value that is set depends only on the candles ending at or before ts
//     and never on where the stream started;
//   - the source lacks the field: a candle with volume but no taker side
//     (BuyVolume + SellVolume = 0 while Volume > 0: Binance klines without
//     the taker column, Kraken OHLCVT) makes imbalance, and every imbalance_5
//     that covers it, missing; a candle with volume but no trade count
//     (Trades = 0 while Volume > 0: 6-column Binance klines) makes its
//     trade_count missing. A zero a model could learn from is never made up.
//     An empty candle (Volume 0) is known to be empty: imbalance 0, trade_count 0;
//   - no other pair has a row at TS (one pair configured, the others not
//     started, late beyond their grace or with a hole there): every xp_*
//     feature is missing (see Cross).
var FeatureMayBeMissing = [NumFeatures]bool{
	FImbalance: true, FImbalance5: true, FTradeCount: true,
	FRVol120: true, FRVol240: true, FRVol1440: true,
	FXRet1: true, FXRet5: true, FXRet15: true, FXRVol5: true, FXRVol30: true, FXRVol60: true,
}

// FeatureRow is the feature vector of one pair at TS (= the end of the
// candle it describes). It uses only candles ending at or before TS.
type FeatureRow struct {
	Pair          string
	TS            time.Time
	SchemaVersion int
	// Warm is true once the window holds FeatureWindow candles: every value
	// not marked in FeatureMayBeMissing is set, and no value depends on where
	// the stream started (the long ones are NaN until their window is full).
	Warm bool
	// Close is the close of the candle at TS: the price a predicted return
	// applies to. It is a reference value, not a model input.
	Close float64
	// Complete is true when every candle of the row's window (its last
	// FeatureWindow candles, the correction horizon) is complete: no trade
	// of those inputs is known to be missing. The long features' older
	// candles are past the horizon: they can no longer change and do not count.
	Complete bool
	// Revision is the sum of the revisions of the candles of the row's
	// window, plus, for each other pair whose row at TS the cross-pair
	// features used, one plus that row's own: it grows with every correction
	// of one of its inputs (a correction is always within the window) and
	// when a late pair's row joins, so consumers keyed by (pair, ts) keep the
	// highest.
	Revision int
	Values   [NumFeatures]float64
}
