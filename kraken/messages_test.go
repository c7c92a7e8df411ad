package kraken

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Frames in the shapes of kraken-api.md (and Kraken's live answers).
const (
	frameStatus       = `{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":16763580994566763544,"system":"online","version":"2.0.10","upcoming_maintenance":[],"emergency":[]}]}`
	frameMaintenance  = `{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":1,"system":"maintenance","version":"2.0.10"}]}`
	frameAck          = `{"method":"subscribe","req_id":1,"result":{"channel":"trade","snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":"2026-09-26T18:09:13.157776Z","time_out":"2026-09-26T18:09:13.157801Z"}`
	frameAckWarn      = `{"method":"subscribe","result":{"channel":"trade","snapshot":false,"symbol":"ETH/USD","warnings":["snapshot is deprecated"]},"success":true,"time_in":"2026-09-25T17:48:24.745996Z","time_out":"2026-09-25T17:48:24.746032Z"}`
	frameUnsubAck     = `{"method":"unsubscribe","req_id":3,"result":{"channel":"trade","symbol":"BTC/USD"},"success":true,"time_in":"2026-09-26T18:09:13.157776Z","time_out":"2026-09-26T18:09:13.157801Z"}`
	frameRefused      = `{"error":"Currency pair not supported XBT/USD","method":"subscribe","success":false,"symbol":"XBT/USD","time_in":"2026-09-25T17:48:54.701041Z","time_out":"2026-09-25T17:48:54.701062Z"}`
	frameRefusedChan  = `{"channel":"executions","error":"ESession:Invalid session","method":"subscribe","status":"error","success":false,"time_in":"2026-09-25T17:58:09.493462Z","time_out":"2026-09-25T17:58:09.493897Z"}`
	frameTradeUpdate  = `{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":84095.7,"qty":0.00275723,"ord_type":"limit","trade_id":109183886,"timestamp":"2026-09-26T18:09:13.157776Z"}]}`
	frameTradeSnap    = `{"channel":"trade","type":"snapshot","data":[{"symbol":"BTC/USD","side":"buy","price":83744.3,"qty":0.00044780,"ord_type":"market","trade_id":109116693,"timestamp":"2026-09-25T17:48:26.844359Z"},{"symbol":"BTC/USD","side":"sell","price":83744.2,"qty":1.5,"ord_type":"limit","trade_id":109116694,"timestamp":"2026-09-25T17:48:26.900000Z"}]}`
	frameTradeEmpty   = `{"channel":"trade","type":"snapshot","data":[]}`
	frameHeartbeat    = `{"channel":"heartbeat"}`
	framePong         = `{"method":"pong","req_id":101,"time_in":"2026-09-26T18:09:13.157776Z","time_out":"2026-09-26T18:09:13.157801Z"}`
	frameTicker       = `{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":83744.2,"last":83744.3}]}`
	frameV1           = `[1665,[["5541.20000","0.15850568","1534614057.321597","s","l",""]],"trade","XBT/USD"]`
	frameMixedQuality = `{"channel":"trade","type":"update","data":[` +
		`{"symbol":"BTC/USD","side":"buy","price":1.5,"qty":2,"ord_type":"limit","trade_id":10,"timestamp":"2026-09-26T18:09:13.000001Z"},` +
		`{"symbol":"BTC/USD","side":"hold","price":1.5,"qty":2,"ord_type":"limit","trade_id":11,"timestamp":"2026-09-26T18:09:13.000002Z"},` +
		`{"symbol":"BTC/USD","side":"buy","price":-1.5,"qty":2,"ord_type":"limit","trade_id":12,"timestamp":"2026-09-26T18:09:13.000003Z"},` +
		`{"symbol":"BTC/USD","side":"buy","price":"1.5","qty":2,"ord_type":"limit","trade_id":13,"timestamp":"2026-09-26T18:09:13.000004Z"},` +
		`{"symbol":"BTC/USD","side":"buy","price":1e400,"qty":2,"ord_type":"limit","trade_id":14,"timestamp":"2026-09-26T18:09:13.000005Z"},` +
		`{"symbol":"BTC/USD","side":"buy","price":1.5,"qty":-2,"ord_type":"limit","trade_id":15,"timestamp":"2026-09-26T18:09:13.000006Z"},` +
		`{"symbol":"BTC/USD","side":"buy","price":1.5,"qty":2,"ord_type":"limit","timestamp":"2026-09-26T18:09:13.000007Z"},` +
		`{"symbol":"BTC/USD","side":"buy","price":1.5,"qty":2,"ord_type":"limit","trade_id":17,"timestamp":"yesterday"},` +
		`{"symbol":"BTC/USD","side":"buy","price":1.5,"qty":null,"ord_type":"limit","trade_id":18,"timestamp":"2026-09-26T18:09:13.000009Z"},` +
		`"junk",` +
		`{"symbol":"XBT/USD","side":"s","price":2.5,"qty":0,"ord_type":"iceberg","trade_id":20,"timestamp":"2026-09-26T20:09:13.000010+02:00"}]}`
)

func TestParseMessageKinds(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		check func(t *testing.T, m Message)
	}{
		{"status", frameStatus, func(t *testing.T, m Message) {
			want := Status{System: "online", APIVersion: "v2", Version: "2.0.10", ConnectionID: 16763580994566763544}
			expect(t, m.Kind == KindStatus && m.Status == want, "status %+v", m)
		}},
		{"maintenance", frameMaintenance, func(t *testing.T, m Message) {
			expect(t, m.Kind == KindStatus && m.Status.System == "maintenance", "got %+v", m)
		}},
		{"ack", frameAck, func(t *testing.T, m Message) {
			expect(t, m.Kind == KindSubscribed && m.Symbol == "BTC/USD" && m.ReqID == 1 && m.Snapshot && m.Channel == "trade", "ack %+v", m)
			expect(t, m.TimeIn.Equal(time.Date(2026, 9, 26, 18, 9, 13, 157776000, time.UTC)), "time_in %v", m.TimeIn)
		}},
		{"ack with warnings", frameAckWarn, func(t *testing.T, m Message) {
			expect(t, m.Kind == KindSubscribed && m.Symbol == "ETH/USD" && len(m.Warnings) == 1 && !m.Snapshot, "ack %+v", m)
		}},
		{"unsubscribe ack", frameUnsubAck, func(t *testing.T, m Message) {
			expect(t, m.Kind == KindUnsubscribed && m.Symbol == "BTC/USD" && m.ReqID == 3, "ack %+v", m)
		}},
		{"refused", frameRefused, func(t *testing.T, m Message) {
			expect(t, m.Kind == KindError && m.Symbol == "XBT/USD" && m.Method == "subscribe" &&
				m.Error == "Currency pair not supported XBT/USD", "error %+v", m)
		}},
		{"refused with channel", frameRefusedChan, func(t *testing.T, m Message) {
			expect(t, m.Kind == KindError && m.Error == "ESession:Invalid session", "error %+v", m)
		}},
		{"trade update", frameTradeUpdate, func(t *testing.T, m Message) {
			want := market.Trade{Pair: "BTC/USD", TradeID: 109183886, Price: 84095.7, Qty: 0.00275723, Side: market.SideSell,
				OrdType: market.OrdLimit, TS: time.Date(2026, 9, 26, 18, 9, 13, 157776000, time.UTC), Source: market.SourceKrakenWS}
			expect(t, m.Kind == KindTrades && !m.Snapshot && len(m.Trades) == 1 && m.Trades[0] == want, "trades %+v", m.Trades)
		}},
		{"trade snapshot", frameTradeSnap, func(t *testing.T, m Message) {
			expect(t, m.Kind == KindTrades && m.Snapshot && len(m.Trades) == 2 && len(m.Rejected) == 0, "got %+v", m)
			expect(t, m.Trades[0].Qty == 0.0004478 && m.Trades[0].OrdType == market.OrdMarket, "trade %+v", m.Trades[0])
		}},
		{"empty snapshot", frameTradeEmpty, func(t *testing.T, m Message) {
			expect(t, m.Kind == KindTrades && len(m.Trades) == 0, "got %+v", m)
		}},
		{"heartbeat", frameHeartbeat, func(t *testing.T, m Message) { expect(t, m.Kind == KindHeartbeat, "got %v", m.Kind) }},
		{"pong", framePong, func(t *testing.T, m Message) { expect(t, m.Kind == KindPong && m.ReqID == 101, "got %+v", m) }},
		{"refusal without method", `{"error":"Malformed request","success":false,"time_in":"2026-09-25T17:48:54.701041Z","time_out":"2026-09-25T17:48:54.701062Z"}`, func(t *testing.T, m Message) {
			expect(t, m.Kind == KindError && m.Error == "Malformed request" && m.Method == "", "error %+v", m)
		}},
		{"other channel", frameTicker, func(t *testing.T, m Message) { expect(t, m.Kind == KindUnknown, "got %v", m.Kind) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tt.frame))
			if err != nil {
				t.Fatalf("ParseMessage: %v", err)
			}
			tt.check(t, m)
		})
	}
}

func TestParseMessageRejectsTradesOneByOne(t *testing.T) {
	m, err := ParseMessage([]byte(frameMixedQuality))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Trades) != 2 || m.Trades[0].TradeID != 10 || m.Trades[1].TradeID != 20 {
		t.Fatalf("kept %+v, want trades 10 and 20", m.Trades)
	}
	if got := m.Trades[1]; got.Pair != "BTC/USD" || got.Side != market.SideSell || got.OrdType != market.OrdUnknown ||
		!got.TS.Equal(time.Date(2026, 9, 26, 18, 9, 13, 10000, time.UTC)) || got.TS.Location() != time.UTC {
		t.Errorf("normalisation: %+v", got)
	}
	if len(m.Rejected) != 9 {
		t.Fatalf("rejected %d, want 9: %v", len(m.Rejected), m.Rejected)
	}
	for _, e := range m.Rejected {
		if !errors.Is(e, market.ErrInvalid) && !errors.Is(e, ErrMalformed) {
			t.Errorf("rejection %v wraps neither ErrInvalid nor ErrMalformed", e)
		}
	}
}

func TestParseMessageMalformed(t *testing.T) {
	tests := []struct{ name, frame, want string }{
		{"not json", `hello`, "invalid character"},
		{"v1 array", frameV1, "v1"},
		{"empty object", `{}`, "neither channel nor method"},
		{"null", `null`, "neither channel nor method"},
		{"string", `"x"`, "cannot unmarshal"},
		{"status without data", `{"channel":"status","type":"update"}`, "status"},
		{"status empty data", `{"channel":"status","type":"update","data":[]}`, "status without system"},
		{"connection_id beyond uint64", `{"channel":"status","data":[{"system":"online","connection_id":18446744073709551616}]}`, "status data"},
		{"trade without type", `{"channel":"trade","data":[]}`, "type"},
		{"trade data object", `{"channel":"trade","type":"update","data":{}}`, "trade data"},
		{"trade without data", `{"channel":"trade","type":"update"}`, "trade"},
		{"ack without success", `{"method":"subscribe","result":{"symbol":"BTC/USD"}}`, "without success"},
		{"ack without result", `{"method":"subscribe","success":true}`, "ack result"},
		{"ack without symbol", `{"method":"subscribe","success":true,"result":{"channel":"trade"}}`, "result.symbol"},
		{"ack symbol list", `{"method":"subscribe","success":true,"result":{"symbol":["BTC/USD"]}}`, "ack result"},
		{"bad time_in", `{"method":"pong","time_in":"noon"}`, "time_in"},
		{"req_id float", `{"method":"pong","req_id":1.5}`, "req_id"},
		{"truncated", frameTradeUpdate[:40], "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMessage([]byte(tt.frame))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrMalformed mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"subscribe", Subscribe([]string{"BTC/USD", "ETH/USD"}, true, 1),
			`{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"],"snapshot":true},"req_id":1}`},
		{"subscribe without snapshot", Subscribe([]string{"BTC/USD"}, false, 2),
			`{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":false},"req_id":2}`},
		{"unsubscribe", Unsubscribe([]string{"BTC/USD"}, false, 3),
			`{"method":"unsubscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":false},"req_id":3}`},
		{"ping", Ping(101), `{"method":"ping","req_id":101}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.req)
		if err != nil || string(b) != tt.want {
			t.Errorf("%s: %s, %v; want %s", tt.name, b, err, tt.want)
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		frameStatus, frameMaintenance, frameAck, frameAckWarn, frameUnsubAck, frameRefused, frameRefusedChan,
		frameTradeUpdate, frameTradeSnap, frameTradeEmpty, frameHeartbeat, framePong, frameTicker, frameV1,
		frameMixedQuality, ``, `{}`, `null`, `[]`, `{"channel":"trade","type":"update","data":[{"price":NaN}]}`,
		`{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1e-400,"qty":1,"trade_id":1,"timestamp":"2026-01-01T00:00:00Z"}]}`,
		`{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":5,"qty":1,"trade_id":-1,"timestamp":"0001-01-01T00:00:00Z"}]}`,
		`{"method":"subscribe","success":false}`, `{"CHANNEL":"heartbeat"}`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if m.Kind != KindTrades && (len(m.Trades) > 0 || len(m.Rejected) > 0) {
			t.Fatalf("kind %v with trades", m.Kind)
		}
		for _, tr := range m.Trades {
			if err := tr.Validate(); err != nil || tr.Side == market.SideUnknown || tr.Source != market.SourceKrakenWS ||
				math.IsInf(tr.Price, 0) || tr.TS.Location() != time.UTC {
				t.Fatalf("bad trade passed: %+v (%v)", tr, err)
			}
		}
	})
}

func expect(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}
