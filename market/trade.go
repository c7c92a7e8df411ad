package market

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Side is the taker side of a trade.
type Side uint8

const (
	SideUnknown Side = iota
	SideBuy
	SideSell
)

func (s Side) String() string {
	switch s {
	case SideBuy:
		return "buy"
	case SideSell:
		return "sell"
	}
	return ""
}

// ParseSide accepts "buy"/"sell" and Kraken's one-letter "b"/"s".
func ParseSide(s string) (Side, error) {
	switch s {
	case "buy", "b", "BUY", "Buy":
		return SideBuy, nil
	case "sell", "s", "SELL", "Sell":
		return SideSell, nil
	}
	return SideUnknown, fmt.Errorf("side %q: %w", s, ErrInvalid)
}

// OrdType is the order type of the taker.
type OrdType uint8

const (
	OrdUnknown OrdType = iota
	OrdMarket
	OrdLimit
)

func (o OrdType) String() string {
	switch o {
	case OrdMarket:
		return "market"
	case OrdLimit:
		return "limit"
	}
	return ""
}

// ParseOrdType accepts "market"/"limit", Kraken's "m"/"l" and "" (unknown).
func ParseOrdType(s string) (OrdType, error) {
	switch s {
	case "market", "m":
		return OrdMarket, nil
	case "limit", "l":
		return OrdLimit, nil
	case "":
		return OrdUnknown, nil
	}
	return OrdUnknown, fmt.Errorf("ord_type %q: %w", s, ErrInvalid)
}

// Sources of trades, recorded on every trade.
const (
	SourceKrakenWS   = "kraken-ws"
	SourceKrakenREST = "kraken-rest"
	SourceReplay     = "replay"
	// SourceReconstructed marks trades synthesised from real candles
	// (fakekraken.ReconstructTrades), never real executions.
	SourceReconstructed = "reconstructed"
)

// Trade is one executed trade. TradeID is the exchange's per-pair sequence
// number (0 when the source has none); TS is UTC with microsecond precision.
type Trade struct {
	Pair    string
	TradeID int64
	Price   float64
	Qty     float64
	Side    Side
	OrdType OrdType
	TS      time.Time
	Source  string
}

// ErrInvalid marks input that breaks the domain's rules.
var ErrInvalid = errors.New("invalid")

// Validate rejects trades that must never reach a candle.
func (t Trade) Validate() error {
	switch {
	case t.Pair == "":
		return fmt.Errorf("trade %d: empty pair: %w", t.TradeID, ErrInvalid)
	case math.IsNaN(t.Price) || math.IsInf(t.Price, 0) || t.Price <= 0:
		return fmt.Errorf("trade %s/%d: price %v: %w", t.Pair, t.TradeID, t.Price, ErrInvalid)
	case math.IsNaN(t.Qty) || math.IsInf(t.Qty, 0) || t.Qty < 0:
		return fmt.Errorf("trade %s/%d: qty %v: %w", t.Pair, t.TradeID, t.Qty, ErrInvalid)
	case t.TradeID < 0:
		return fmt.Errorf("trade %s/%d: negative trade_id: %w", t.Pair, t.TradeID, ErrInvalid)
	case t.TS.IsZero():
		return fmt.Errorf("trade %s/%d: zero timestamp: %w", t.Pair, t.TradeID, ErrInvalid)
	}
	return nil
}
