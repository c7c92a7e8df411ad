package stream

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
)

// Frame types the server sends.
const (
	TypePrediction = "prediction"
	TypeSubscribed = "subscribed"
	TypeError      = "error"
)

// Actions a client sends.
const (
	ActionSubscribe   = "subscribe"
	ActionUnsubscribe = "unsubscribe"
)

// maxPairs bounds one connection's subscription set: pairs are cheap to
// spell, so a client could otherwise grow the hub's index without limit.
const maxPairs = 256

// Frame is any server → client message, for clients decoding the stream
// (tests, loadgen, the dashboard's shape). Fields absent from a type are zero.
type Frame struct {
	Type        string              `json:"type"`
	PublishedAt time.Time           `json:"published_at,omitzero"` // prediction: hub wall clock at Publish
	Prediction  *predict.Prediction `json:"prediction,omitempty"`
	Pairs       []string            `json:"pairs,omitempty"` // subscribed: slugs; empty and All: every pair
	All         bool                `json:"all,omitempty"`   // subscribed: to every pair (pairs is [])
	Error       string              `json:"error,omitempty"` // error: a predict-style code, e.g. bad_request
	Message     string              `json:"message,omitempty"`
}

// Request is a client → server message.
type Request struct {
	Action string   `json:"action"`
	Pairs  []string `json:"pairs"`
}

// The encoders below use their own structs: the wire contract wants
// "pairs": [] present on subscribed frames, which omitempty would drop.

type predictionFrame struct {
	Type        string             `json:"type"`
	PublishedAt time.Time          `json:"published_at"`
	Prediction  predict.Prediction `json:"prediction"`
}

type subscribedFrame struct {
	Type  string   `json:"type"`
	Pairs []string `json:"pairs"`
	All   bool     `json:"all"`
}

type errorFrame struct {
	Type    string `json:"type"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

func encodePrediction(p predict.Prediction, at time.Time) ([]byte, error) {
	b, err := json.Marshal(predictionFrame{Type: TypePrediction, PublishedAt: at, Prediction: p})
	if err != nil {
		return nil, fmt.Errorf("encode prediction %s h%d: %w", p.Pair, p.Horizon, err)
	}
	return b, nil
}

func encodeSubscribed(all bool, pairs []string) []byte {
	if pairs == nil {
		pairs = []string{}
	}
	b, _ := json.Marshal(subscribedFrame{Type: TypeSubscribed, Pairs: pairs, All: all}) // strings only: cannot fail
	return b
}

func encodeError(code, msg string) []byte {
	b, _ := json.Marshal(errorFrame{Type: TypeError, Error: code, Message: msg}) // strings only: cannot fail
	return b
}

// slugs normalises pair spellings to sorted, unique slugs (ETH-USDT).
func slugs(pairs []string) ([]string, error) {
	if len(pairs) > maxPairs {
		return nil, fmt.Errorf("at most %d pairs per request, got %d", maxPairs, len(pairs))
	}
	out := make([]string, 0, len(pairs))
	for _, p := range pairs {
		n, err := market.NormalizePair(p)
		if err != nil {
			return nil, err
		}
		out = append(out, market.PairSlug(n))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// slugOf indexes a published prediction; an unparseable pair keeps its
// spelling (no subscriber can have asked for it, only all-pair ones get it).
func slugOf(pair string) string {
	n, err := market.NormalizePair(pair)
	if err != nil {
		return pair
	}
	return market.PairSlug(n)
}
