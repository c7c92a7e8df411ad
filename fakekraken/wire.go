package fakekraken

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Frames are structs whose field order is the order Kraken writes them in
// (kraken-api.md), so that the fake's output matches byte for byte in shape.

const apiVersion, engineVersion = "v2", "2.0.10"

// Error messages. "Currency pair not supported" and the ping one are
// Kraken's verbatim; the others are modelled on them.
const (
	errMalformed      = "Malformed request"
	errPairFmt        = "Currency pair not supported %s"
	errPingParams     = "Unsupported field: 'params' for the given msg type: ping"
	errMethodFmt      = "Unsupported method: %s"
	errChannelFmt     = "Channel not supported: %s"
	errSymbolMissing  = "Missing field: 'symbol'"
	errAlreadySub     = "Already subscribed"
	errSubNotFound    = "Subscription Not Found"
	errParamsRequired = "Missing field: 'params'"
)

type statusFrame struct {
	Channel string       `json:"channel"`
	Type    string       `json:"type"`
	Data    []statusData `json:"data"`
}

type statusData struct {
	APIVersion          string            `json:"api_version"`
	ConnectionID        uint64            `json:"connection_id"`
	System              string            `json:"system"`
	Version             string            `json:"version"`
	UpcomingMaintenance []json.RawMessage `json:"upcoming_maintenance"`
	Emergency           []json.RawMessage `json:"emergency"`
}

type ackFrame struct {
	Method  string    `json:"method"`
	ReqID   *int64    `json:"req_id,omitempty"`
	Result  ackResult `json:"result"`
	Success bool      `json:"success"`
	TimeIn  string    `json:"time_in"`
	TimeOut string    `json:"time_out"`
}

type ackResult struct {
	Channel  string `json:"channel"`
	Snapshot *bool  `json:"snapshot,omitempty"`
	Symbol   string `json:"symbol"`
}

type errorFrame struct {
	Error   string `json:"error"`
	Method  string `json:"method,omitempty"`
	ReqID   *int64 `json:"req_id,omitempty"`
	Success bool   `json:"success"`
	Symbol  string `json:"symbol,omitempty"`
	TimeIn  string `json:"time_in"`
	TimeOut string `json:"time_out"`
}

type pongFrame struct {
	Method  string `json:"method"`
	ReqID   *int64 `json:"req_id,omitempty"`
	TimeIn  string `json:"time_in"`
	TimeOut string `json:"time_out"`
}

type tradeFrame struct {
	Channel string      `json:"channel"`
	Type    string      `json:"type"`
	Data    []wireTrade `json:"data"`
}

// wireTrade carries price and qty as JSON numbers in their shortest
// decimal form (json.Number is written as is).
type wireTrade struct {
	Symbol    string      `json:"symbol"`
	Side      string      `json:"side"`
	Price     json.Number `json:"price"`
	Qty       json.Number `json:"qty"`
	OrdType   string      `json:"ord_type"`
	TradeID   int64       `json:"trade_id"`
	Timestamp string      `json:"timestamp"`
}

var heartbeatFrame = []byte(`{"channel":"heartbeat"}`)

// stamp formats times as Kraken does: RFC3339, six fractional digits, Z.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func encodeStatus(system string, connID uint64) []byte {
	return mustJSON(statusFrame{Channel: "status", Type: "update", Data: []statusData{{
		APIVersion: apiVersion, ConnectionID: connID, System: system, Version: engineVersion,
		UpcomingMaintenance: []json.RawMessage{}, Emergency: []json.RawMessage{},
	}}})
}

// Method replies carry time_in (when the request came) and time_out (now),
// both on the exchange clock (Server.Now).

func encodeAck(method, symbol string, snapshot *bool, reqID *int64, timeIn, timeOut time.Time) []byte {
	return mustJSON(ackFrame{Method: method, ReqID: reqID, Result: ackResult{Channel: "trade", Snapshot: snapshot, Symbol: symbol},
		Success: true, TimeIn: stamp(timeIn), TimeOut: stamp(timeOut)})
}

func encodeError(method, symbol, msg string, reqID *int64, timeIn, timeOut time.Time) []byte {
	return mustJSON(errorFrame{Error: msg, Method: method, ReqID: reqID, Symbol: symbol,
		TimeIn: stamp(timeIn), TimeOut: stamp(timeOut)})
}

func encodePong(reqID *int64, timeIn, timeOut time.Time) []byte {
	return mustJSON(pongFrame{Method: "pong", ReqID: reqID, TimeIn: stamp(timeIn), TimeOut: stamp(timeOut)})
}

func encodeTrades(typ string, trades []market.Trade) []byte {
	data := make([]wireTrade, len(trades))
	for i, t := range trades {
		data[i] = wireTrade{Symbol: t.Pair, Side: t.Side.String(), Price: decimal64(t.Price), Qty: decimal64(t.Qty),
			OrdType: wireOrdType(t.OrdType), TradeID: t.TradeID, Timestamp: stamp(t.TS)}
	}
	return mustJSON(tradeFrame{Channel: "trade", Type: typ, Data: data})
}

// wireOrdType: the source files have no ord_type, so "market" is sent as a
// placeholder, not data.
func wireOrdType(o market.OrdType) string {
	if o == market.OrdUnknown {
		return market.OrdMarket.String()
	}
	return o.String()
}

// decimal64 is the shortest decimal that reads back as f, never in exponent
// form (Kraken writes 0.00000001, not 1e-08).
func decimal64(f float64) json.Number { return json.Number(strconv.FormatFloat(f, 'f', -1, 64)) }

// mustJSON marshals frames built from strings, numbers validated at load
// and fixed structs: failure is a programming error.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakekraken: encode %T: %v", v, err))
	}
	return b
}

// request is a parsed client request; err set means answer with that error.
type request struct {
	method   string
	reqID    *int64
	channel  string
	symbols  []string
	snapshot bool
	err      string
	timeIn   time.Time
}

type wireRequest struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	ReqID  *int64          `json:"req_id"`
}

type wireParams struct {
	Channel  string    `json:"channel"`
	Symbol   *[]string `json:"symbol"`
	Snapshot *bool     `json:"snapshot"`
}

func parseRequest(b []byte, timeIn time.Time) request {
	req := request{timeIn: timeIn}
	var w wireRequest
	if err := json.Unmarshal(b, &w); err != nil || w.Method == "" {
		req.err = errMalformed
		return req
	}
	req.method, req.reqID = w.Method, w.ReqID
	switch w.Method {
	case "ping":
		if len(w.Params) > 0 {
			req.err = errPingParams
		}
	case "subscribe", "unsubscribe":
		req.err = req.parseParams(w.Params)
	default:
		req.err = fmt.Sprintf(errMethodFmt, w.Method)
	}
	return req
}

func (req *request) parseParams(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return errParamsRequired
	}
	var p wireParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return errMalformed
	}
	if p.Channel != "trade" {
		return fmt.Sprintf(errChannelFmt, p.Channel)
	}
	if p.Symbol == nil || len(*p.Symbol) == 0 {
		return errSymbolMissing
	}
	req.channel, req.symbols = p.Channel, slices.Clone(*p.Symbol)
	req.snapshot = p.Snapshot == nil || *p.Snapshot // Kraken's documented default
	return ""
}
