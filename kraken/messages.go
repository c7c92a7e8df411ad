// Package kraken is tickcast's adapter for Kraken's WebSocket API v2: frame
// parsing, request building and a reconnecting trade client that
// deduplicates replayed trades and reports trade_id gaps.
package kraken

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tickcast/tickcast/market"
)

// ErrMalformed marks a frame (or one trade in it) that does not have the
// shape Kraken's v2 protocol promises.
var ErrMalformed = errors.New("kraken: malformed message")

// MessageKind classifies a frame received from Kraken.
type MessageKind uint8

const (
	// KindUnknown is a well-formed frame of a channel or method this package
	// does not handle (Kraken adds channels; they must not count as errors).
	KindUnknown MessageKind = iota
	KindStatus
	KindSubscribed
	KindUnsubscribed
	KindError
	KindTrades
	KindHeartbeat
	KindPong
)

var kindNames = [...]string{"unknown", "status", "subscribed", "unsubscribed", "error", "trades", "heartbeat", "pong"}

func (k MessageKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Status is the engine status Kraken sends on connect and on every change.
type Status struct {
	System       string // online | cancel_only | maintenance | post_only
	APIVersion   string
	Version      string
	ConnectionID uint64 // exceeds 2^63 in practice
}

// Message is one parsed frame. Which fields are set depends on Kind.
type Message struct {
	Kind    MessageKind
	Channel string // channel frames; for acks, result.channel
	Method  string // method replies: subscribe, unsubscribe, pong, ...
	ReqID   int64  // echoed req_id, 0 when absent

	Symbol   string   // acks and error replies: the symbol concerned, as sent
	Error    string   // KindError: Kraken's message
	Warnings []string // acks: result.warnings

	// Snapshot is true for a trade snapshot, and for an ack of a
	// subscription with snapshot.
	Snapshot bool
	Status   Status // KindStatus

	// Trades holds the valid trades of a trade frame; Rejected explains each
	// trade of the same frame that was dropped, RejectedRaw holds it as sent.
	Trades      []market.Trade
	Rejected    []error
	RejectedRaw [][]byte

	TimeIn, TimeOut time.Time // method replies
}

// envelope has the union of top-level fields of every v2 frame.
type envelope struct {
	Channel string          `json:"channel"`
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data"`
	Method  string          `json:"method"`
	Success *bool           `json:"success"`
	Error   string          `json:"error"`
	Symbol  string          `json:"symbol"`
	ReqID   *int64          `json:"req_id"`
	Result  json.RawMessage `json:"result"`
	TimeIn  string          `json:"time_in"`
	TimeOut string          `json:"time_out"`
}

type wireStatus struct {
	APIVersion   string `json:"api_version"`
	ConnectionID uint64 `json:"connection_id"`
	System       string `json:"system"`
	Version      string `json:"version"`
}

type wireResult struct {
	Channel  string   `json:"channel"`
	Symbol   string   `json:"symbol"`
	Snapshot bool     `json:"snapshot"`
	Warnings []string `json:"warnings"`
}

// wireTrade keeps price and qty as raw JSON so that their digits reach
// strconv.ParseFloat untouched.
type wireTrade struct {
	Symbol    string          `json:"symbol"`
	Side      string          `json:"side"`
	Price     json.RawMessage `json:"price"`
	Qty       json.RawMessage `json:"qty"`
	OrdType   string          `json:"ord_type"`
	TradeID   *int64          `json:"trade_id"`
	Timestamp string          `json:"timestamp"`
}

// ParseMessage classifies and decodes one frame. Errors wrap ErrMalformed.
// Invalid trades do not fail the frame: they are listed in Rejected.
func ParseMessage(b []byte) (Message, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return Message{}, malformed(b, err)
	}
	msg := Message{Channel: env.Channel, Method: env.Method}
	if env.ReqID != nil {
		msg.ReqID = *env.ReqID
	}
	var err error
	switch {
	case env.Method != "": // error replies may also carry a channel
		err = parseReply(&env, &msg)
	case env.Channel != "":
		err = parseChannel(&env, &msg)
	case env.Success != nil && !*env.Success: // refusal of a request too broken to name its method
		err = parseReply(&env, &msg)
	default:
		err = errors.New("neither channel nor method")
	}
	if err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return msg, nil
}

func malformed(b []byte, err error) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		return fmt.Errorf("%w: a JSON array (a WebSocket v1 frame?), v2 frames are objects", ErrMalformed)
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

func parseChannel(env *envelope, msg *Message) error {
	switch env.Channel {
	case "heartbeat":
		msg.Kind = KindHeartbeat
		return nil
	case "status":
		msg.Kind = KindStatus
		return parseStatus(env.Data, msg)
	case "trade":
		msg.Kind = KindTrades
		return parseTrades(env, msg)
	}
	msg.Kind = KindUnknown
	return nil
}

func parseStatus(data json.RawMessage, msg *Message) error {
	var ss []wireStatus
	if err := json.Unmarshal(data, &ss); err != nil {
		return fmt.Errorf("status data: %w", err)
	}
	if len(ss) == 0 || ss[0].System == "" {
		return errors.New("status without system")
	}
	s := ss[0]
	msg.Status = Status{System: s.System, APIVersion: s.APIVersion, Version: s.Version, ConnectionID: s.ConnectionID}
	return nil
}

func parseTrades(env *envelope, msg *Message) error {
	switch env.Type {
	case "snapshot":
		msg.Snapshot = true
	case "update":
	default:
		return fmt.Errorf("trade frame of type %q", env.Type)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(env.Data, &items); err != nil {
		return fmt.Errorf("trade data: %w", err)
	}
	if items == nil {
		return errors.New("trade frame without data")
	}
	for i, raw := range items {
		t, err := parseTrade(raw)
		if err != nil {
			msg.Rejected = append(msg.Rejected, fmt.Errorf("trade %d of %s: %w", i, env.Type, err))
			msg.RejectedRaw = append(msg.RejectedRaw, raw)
			continue
		}
		msg.Trades = append(msg.Trades, t)
	}
	return nil
}

func parseTrade(raw json.RawMessage) (market.Trade, error) {
	var w wireTrade
	if err := json.Unmarshal(raw, &w); err != nil {
		return market.Trade{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if w.TradeID == nil {
		return market.Trade{}, fmt.Errorf("no trade_id: %w", ErrMalformed)
	}
	t := market.Trade{TradeID: *w.TradeID, Source: market.SourceKrakenWS}
	if err := w.fill(&t); err != nil {
		return market.Trade{}, fmt.Errorf("trade_id %d: %w", t.TradeID, err)
	}
	if err := t.Validate(); err != nil {
		return market.Trade{}, err
	}
	return t, nil
}

// fill converts the fields other than trade_id.
func (w *wireTrade) fill(t *market.Trade) error {
	var err error
	if t.Pair, err = market.NormalizePair(w.Symbol); err != nil {
		return err
	}
	if t.Side, err = market.ParseSide(w.Side); err != nil {
		return err
	}
	if t.Price, err = number("price", w.Price); err != nil {
		return err
	}
	if t.Qty, err = number("qty", w.Qty); err != nil {
		return err
	}
	if t.TS, err = parseTime("timestamp", w.Timestamp); err != nil {
		return err
	}
	// ord_type only informs; dropping a real trade over a new value would
	// open a false gap, so an unknown one is kept as OrdUnknown.
	t.OrdType, _ = market.ParseOrdType(w.OrdType)
	return nil
}

// number parses a JSON number from its text. Quoted strings and null are
// refused: v2 sends numbers, and a string would mean the protocol changed.
func number(name string, raw json.RawMessage) (float64, error) {
	if len(raw) == 0 {
		return 0, fmt.Errorf("no %s: %w", name, ErrMalformed)
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return 0, fmt.Errorf("%s %.40s is not a JSON number: %w", name, raw, ErrMalformed)
	}
	f, err := json.Number(raw).Float64()
	if err != nil {
		return 0, fmt.Errorf("%s %.40s: %w: %w", name, raw, market.ErrInvalid, err)
	}
	return f, nil
}

func parseTime(name, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: %w", name, s, ErrMalformed)
	}
	return t.UTC(), nil
}

func parseReply(env *envelope, msg *Message) error {
	if err := parseReplyTimes(env, msg); err != nil {
		return err
	}
	switch {
	case env.Method == "pong":
		msg.Kind = KindPong
		return nil
	case env.Success == nil:
		return fmt.Errorf("%s reply without success", env.Method)
	case !*env.Success:
		msg.Kind, msg.Error, msg.Symbol = KindError, env.Error, env.Symbol
		return nil
	case env.Method == "subscribe":
		msg.Kind = KindSubscribed
		return parseAck(env.Result, msg)
	case env.Method == "unsubscribe":
		msg.Kind = KindUnsubscribed
		return parseAck(env.Result, msg)
	}
	msg.Kind = KindUnknown
	return nil
}

func parseReplyTimes(env *envelope, msg *Message) error {
	var err error
	if env.TimeIn != "" {
		if msg.TimeIn, err = parseTime("time_in", env.TimeIn); err != nil {
			return err
		}
	}
	if env.TimeOut != "" {
		if msg.TimeOut, err = parseTime("time_out", env.TimeOut); err != nil {
			return err
		}
	}
	return nil
}

func parseAck(raw json.RawMessage, msg *Message) error {
	var r wireResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("%s ack result: %w", msg.Method, err)
	}
	if r.Symbol == "" {
		return fmt.Errorf("%s ack without result.symbol", msg.Method)
	}
	msg.Channel, msg.Symbol, msg.Snapshot, msg.Warnings = r.Channel, r.Symbol, r.Snapshot, r.Warnings
	return nil
}

// Request is a v2 request frame. Build it with Subscribe, Unsubscribe or Ping
// and send it with json.Marshal (or websocket.Conn.WriteJSON).
type Request struct {
	Method string  `json:"method"`
	Params *Params `json:"params,omitempty"`
	ReqID  int32   `json:"req_id,omitempty"` // Kraken wants it in int32
}

// Params are the parameters of a trade channel (un)subscription.
type Params struct {
	Channel  string   `json:"channel"`
	Symbol   []string `json:"symbol"`
	Snapshot bool     `json:"snapshot"` // always sent: Kraken's docs disagree on its default
}

// Subscribe asks for the trade channel of symbols (v2 names).
func Subscribe(symbols []string, snapshot bool, reqID int32) Request {
	return Request{Method: "subscribe", Params: tradeParams(symbols, snapshot), ReqID: reqID}
}

// Unsubscribe ends trade subscriptions of symbols (v2 names).
func Unsubscribe(symbols []string, snapshot bool, reqID int32) Request {
	return Request{Method: "unsubscribe", Params: tradeParams(symbols, snapshot), ReqID: reqID}
}

// Ping is the application-level ping; Kraken answers with a pong.
func Ping(reqID int32) Request { return Request{Method: "ping", ReqID: reqID} }

func tradeParams(symbols []string, snapshot bool) *Params {
	return &Params{Channel: "trade", Symbol: append([]string{}, symbols...), Snapshot: snapshot}
}
