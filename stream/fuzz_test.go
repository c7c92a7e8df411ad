package stream

import (
	"encoding/json"
	"testing"
)

// FuzzClientMessage feeds arbitrary client frames to the message parser
// and the subscription logic: every input gets a well-formed subscribed or
// error frame, and a subscription never exceeds maxPairs.
func FuzzClientMessage(f *testing.F) {
	// Hand-written seeds (protocol messages, not market data).
	for _, s := range []string{
		`{"action":"subscribe","pairs":["ETH-USDT","xbt/usd"]}`,
		`{"action":"unsubscribe","pairs":["ETH-USDT"]}`,
		`{"action":"subscribe"}`,
		`{"action":"unsubscribe","pairs":[]}`,
		`{"action":"dance"}`,
		`{"action":"subscribe","pairs":"ETH-USDT"}`,
		`{"action":"subscribe","pairs":[1,2]}`,
		`not json`,
		``,
	} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		h := NewHub(Config{})
		defer h.Close()
		c := &client{h: h}
		for _, msg := range []string{first, second} {
			var req Request
			var out []byte
			if r, err := decodeRequest([]byte(msg)); err != nil {
				out = encodeError("bad_request", err.Error())
			} else {
				req = r
				out = h.apply(c, req)
			}
			var frame struct {
				Type    string   `json:"type"`
				Pairs   []string `json:"pairs"`
				Error   string   `json:"error"`
				Message string   `json:"message"`
			}
			if err := json.Unmarshal(out, &frame); err != nil {
				t.Fatalf("frame %q for %q does not decode: %v", out, msg, err)
			}
			switch frame.Type {
			case TypeSubscribed:
				if len(frame.Pairs) > maxPairs {
					t.Fatalf("subscribed to %d pairs, more than %d", len(frame.Pairs), maxPairs)
				}
			case TypeError:
				if frame.Error == "" || frame.Message == "" {
					t.Fatalf("error frame without code or message: %s", out)
				}
			default:
				t.Fatalf("frame type %q for %q", frame.Type, msg)
			}
		}
	})
}
