package wire

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// Hand-written fixtures: one record of each kind and its exact encodings.

func fixtureTrade() market.Trade {
	return market.Trade{
		Pair: "BTC/USD", TradeID: 42, Price: 10749.4, Qty: 0.004, Side: market.SideSell, OrdType: market.OrdLimit,
		TS: time.Date(2019, 7, 1, 0, 0, 3, 172e6, time.UTC), Source: market.SourceKrakenWS,
	}
}

const fixtureTradeJSON = `{"pair":"BTC/USD","trade_id":42,"price":10749.4,"qty":0.004,"side":"sell",` +
	`"ord_type":"limit","ts":"2019-07-01T00:00:03.172000Z","source":"kraken-ws"}`

func fixtureCandle() market.Candle {
	return market.Candle{
		Pair: "ETH/USD", Start: time.Date(2019, 7, 1, 0, 1, 0, 0, time.UTC), End: time.Date(2019, 7, 1, 0, 2, 0, 0, time.UTC),
		Open: 290.5, High: 291, Low: 290.25, Close: 290.75, Volume: 12.5, VWAP: 290.6, Trades: 7,
		BuyVolume: 10, SellVolume: 2.5, FirstTradeID: 100, LastTradeID: 107, Complete: true,
	}
}

const fixtureCandleJSON = `{"pair":"ETH/USD","start":"2019-07-01T00:01:00Z","end":"2019-07-01T00:02:00Z",` +
	`"open":290.5,"high":291,"low":290.25,"close":290.75,"volume":12.5,"vwap":290.6,"trades":7,` +
	`"buy_volume":10,"sell_volume":2.5,"first_trade_id":100,"last_trade_id":107,"complete":true,"repaired":false,"revision":0}`

func fixtureFeatureRow() market.FeatureRow {
	r := market.FeatureRow{Pair: "BTC/USD", TS: time.Date(2019, 7, 1, 0, 2, 0, 0, time.UTC), SchemaVersion: market.FeatureSchemaVersion, Close: 10800.5}
	for i := range r.Values {
		r.Values[i] = float64(i) / 4
	}
	r.Values[market.FRet60] = math.NaN() // not warm yet
	r.Values[market.FRSI14] = 1e-7
	return r
}

const fixtureFeatureRowJSON = `{"pair":"BTC/USD","ts":"2019-07-01T00:02:00Z","schema_version":3,"warm":false,"close":10800.5,"complete":false,"revision":0,` +
	`"ret_1":0,"ret_5":0.25,"ret_15":0.5,"ret_60":null,"ema_12_dev":1,"ema_26_dev":1.25,"sma_20_dev":1.5,` +
	`"rsi_14":1e-7,"macd":2,"macd_signal":2.25,"macd_hist":2.5,"bb_pctb_20":2.75,"atr_14":3,"rvol_30":3.25,` +
	`"volume_z_20":3.5,"vwap_dev_20":3.75,"imbalance":4,"imbalance_5":4.25,"trade_count":4.5,"tod_sin":4.75,"tod_cos":5,` +
	`"rvol_5":5.25,"rvol_15":5.5,"rvol_60":5.75,"rvol_120":6,"parkinson_30":6.25,"parkinson_120":6.5,"garman_klass_30":6.75,` +
	`"rvol_240":7,"rvol_1440":7.25,"dow_sin":7.5,"dow_cos":7.75,` +
	`"xp_ret_1":8,"xp_ret_5":8.25,"xp_ret_15":8.5,"xp_rvol_5":8.75,"xp_rvol_30":9,"xp_rvol_60":9.25}`

func ftoa(v float64) string { return string(appendNumber(nil, v)) }

func TestTradeJSON(t *testing.T) {
	got := string(AppendJSON(nil, fixtureTrade()))
	if got != fixtureTradeJSON {
		t.Fatalf("AppendJSON\n got %s\nwant %s", got, fixtureTradeJSON)
	}
	back, err := DecodeTrade([]byte(got))
	if err != nil || !sameTrade(back, fixtureTrade()) {
		t.Fatalf("DecodeTrade = %+v, %v", back, err)
	}
}

func TestCandleJSON(t *testing.T) {
	got := string(AppendJSON(nil, fixtureCandle()))
	if got != fixtureCandleJSON {
		t.Fatalf("AppendJSON\n got %s\nwant %s", got, fixtureCandleJSON)
	}
	back, err := DecodeCandle([]byte(got))
	if err != nil || !sameCandle(back, fixtureCandle()) {
		t.Fatalf("DecodeCandle = %+v, %v", back, err)
	}
}

func TestFeatureRowJSON(t *testing.T) {
	got, want := string(AppendJSON(nil, fixtureFeatureRow())), fixtureFeatureRowJSON
	if got != want {
		t.Fatalf("AppendJSON\n got %s\nwant %s", got, want)
	}
	back, err := DecodeFeatureRow([]byte(got))
	if err != nil || !sameFeatureRow(back, fixtureFeatureRow()) {
		t.Fatalf("DecodeFeatureRow = %+v, %v", back, err)
	}
}

// TestJSONKeysMatchHeaders checks with encoding/json that the output is
// valid JSON whose keys, in order, are the CSV headers.
func TestJSONKeysMatchHeaders(t *testing.T) {
	tests := []struct {
		json   []byte
		header []string
	}{
		{AppendJSON(nil, fixtureTrade()), TradeCSVHeader},
		{AppendJSON(nil, fixtureCandle()), CandleCSVHeader},
		{AppendJSON(nil, fixtureFeatureRow()), FeatureCSVHeader()},
	}
	for _, tt := range tests {
		if got := jsonKeys(t, tt.json); !slices.Equal(got, tt.header) {
			t.Errorf("keys %v\nwant %v", got, tt.header)
		}
	}
}

func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	for depth, isKey := 0, false; ; {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		switch tok := tok.(type) {
		case json.Delim:
			if depth += map[json.Delim]int{'{': 1, '}': -1}[tok]; depth == 0 {
				return keys
			}
			isKey = true
			continue
		case string:
			if isKey {
				keys = append(keys, tok)
			}
		}
		isKey = !isKey
	}
}

func TestAppendNumber(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1, "1"},
		{-2.5, "-2.5"},
		{10749.4, "10749.4"},
		{0.004, "0.004"},
		{1.0 / 3, "0.3333333333333333"},
		{1e6, "1000000"},
		{0.000001, "0.000001"},
		{1e-7, "1e-7"},
		{-1.5e-10, "-1.5e-10"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{5e-324, "5e-324"},
	}
	for _, tt := range tests {
		got := ftoa(tt.v)
		var back float64
		if err := json.Unmarshal([]byte(got), &back); err != nil || got != tt.want || math.Float64bits(back) != math.Float64bits(tt.v) {
			t.Errorf("appendNumber(%v) = %s (back %v, %v), want %s", tt.v, got, back, err, tt.want)
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := string(appendJSONNumber(nil, v)); got != "null" {
			t.Errorf("appendJSONNumber(%v) = %s, want null", v, got)
		}
	}
}

// TestAppendTime checks the fast formatter against AppendFormat.
func TestAppendTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	times := []time.Time{
		time.Date(2019, 7, 1, 0, 0, 3, 172e6, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(2019, 7, 1, 2, 0, 0, 1000, time.FixedZone("", 7200)),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 10, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for range 1000 {
		times = append(times, time.Unix(rng.Int64N(1<<35), rng.Int64N(1e9)).Round(time.Duration(rng.Int64N(4))*time.Millisecond))
	}
	for _, tm := range times {
		for micro, layout := range map[bool]string{true: tradeTimeLayout, false: time.RFC3339Nano} {
			if got, want := string(appendTime(nil, tm, micro)), tm.UTC().Format(layout); got != want {
				t.Fatalf("appendTime(%v, %v) = %s, want %s", tm, micro, got, want)
			}
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"BTC/USD", `"BTC/USD"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"tab\tnl\ncr\r", `"tab\tnl\ncr\r"`},
		{"\x00\x1f\x7f", `"\u0000\u001f` + "\x7f" + `"`},
		{"é€😀", `"é€😀"`},
		{"bad\xffutf8\xc3", `"bad\ufffdutf8\ufffd"`},
		{"\u2028", "\"\u2028\""},
	}
	for _, tt := range tests {
		got := string(appendJSONString(nil, tt.in))
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil || got != tt.want {
			t.Errorf("appendJSONString(%q) = %s (%v), want %s", tt.in, got, err, tt.want)
		}
		if utf8.ValidString(tt.in) && back != tt.in {
			t.Errorf("%q decodes back to %q", tt.in, back)
		}
	}
}

func TestDecodeTradeAccepts(t *testing.T) {
	want := fixtureTrade()
	tests := []struct {
		name, in string
		edit     func(*market.Trade)
	}{
		{"canonical", fixtureTradeJSON, nil},
		{"spaces, other key order, unknown scalar keys", ` { "ts" : "2019-07-01T00:00:03.172Z" , "source":"kraken-ws",
			"side":"sell","qty":4e-3,"price":10749.40,"ord_type":"limit","trade_id":42,"pair":"BTC/USD","extra":null } `, nil},
		{"unknown keys are skipped", `{"pair":"BTC/USD","trade_id":42,"price":10749.4,"qty":0.004,"side":"sell","ord_type":"limit",` +
			`"ts":"2019-07-01T00:00:03.172Z","source":"kraken-ws","note":"x","n":1.5,"ok":true,"nil":null}`, nil},
		{"pair spellings and Kraken side/type letters", `{"pair":"XBTUSD","trade_id":42,"price":10749.4,"qty":0.004,"side":"s",` +
			`"ord_type":"l","ts":"2019-07-01T00:00:03.172Z","source":"kraken-ws"}`, nil},
		{"offset converted to UTC, ns truncated to µs", `{"pair":"BTC/USD","trade_id":42,"price":10749.4,"qty":0.004,"side":"sell",` +
			`"ord_type":"limit","ts":"2019-07-01T02:00:03.172000999+02:00","source":"kraken-ws"}`, nil},
		{"escapes in strings", `{"pair":"BTC\/USD","trade_id":42,"price":10749.4,"qty":0.004,"side":"s\u0065ll",` +
			`"ord_type":"limit","ts":"2019-07-01T00:00:03.172Z","source":"kraken-ws \ud83d\ude00\n"}`,
			func(t *market.Trade) { t.Source = "kraken-ws 😀\n" }},
		{"an escaped backslash before u", `{"pair":"BTC/USD","trade_id":42,"price":10749.4,"qty":0.004,"side":"sell",` +
			`"ord_type":"limit","ts":"2019-07-01T00:00:03.172Z","source":"\\ud83d"}`,
			func(t *market.Trade) { t.Source = `\ud83d` }},
		{"unknown side and ord_type", `{"pair":"BTC/USD","trade_id":42,"price":10749.4,"qty":0.004,"side":"",` +
			`"ord_type":"","ts":"2019-07-01T00:00:03.172Z","source":"kraken-ws"}`,
			func(t *market.Trade) { t.Side, t.OrdType = market.SideUnknown, market.OrdUnknown }},
		{"optional keys omitted", `{"pair":"BTC/USD","price":10749.4,"qty":0.004,"side":"sell","ts":"2019-07-01T00:00:03.172Z"}`,
			func(t *market.Trade) { t.TradeID, t.OrdType, t.Source = 0, market.OrdUnknown, "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := want
			if tt.edit != nil {
				tt.edit(&w)
			}
			got, err := DecodeTrade([]byte(tt.in))
			if err != nil || !sameTrade(got, w) {
				t.Fatalf("DecodeTrade = %+v, %v\nwant %+v", got, err, w)
			}
		})
	}
}

func TestDecodeTradeRejects(t *testing.T) {
	const ok = `"pair":"BTC/USD","trade_id":42,"price":10749.4,"qty":0.004,"side":"sell","ts":"2019-07-01T00:00:03.172Z"`
	tests := []struct{ name, in string }{
		{"empty", ``},
		{"not an object", `[1]`},
		{"truncated", `{` + ok},
		{"trailing data", `{` + ok + `}x`},
		{"trailing comma", `{` + ok + `,}`},
		{"two objects", `{` + ok + `}{}`},
		{"nested object", `{` + ok + `,"x":{"a":1}}`},
		{"duplicate key", `{` + ok + `,"price":1}`},
		{"missing pair", `{"price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"missing ts", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy"}`},
		{"price as string", `{"pair":"BTC/USD","price":"1","qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"price null", `{"pair":"BTC/USD","price":null,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"price NaN", `{"pair":"BTC/USD","price":NaN,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"price overflows", `{"pair":"BTC/USD","price":1e400,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"price negative", `{"pair":"BTC/USD","price":-1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"price hex", `{"pair":"BTC/USD","price":0x10,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"leading zero", `{"pair":"BTC/USD","price":01,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"bare dot", `{"pair":"BTC/USD","price":1.,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"trade_id fraction", `{"pair":"BTC/USD","trade_id":1.5,"price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"trade_id exponent", `{"pair":"BTC/USD","trade_id":1e3,"price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"trade_id negative", `{"pair":"BTC/USD","trade_id":-1,"price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"trade_id overflows", `{"pair":"BTC/USD","trade_id":9223372036854775808,"price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"bad side", `{"pair":"BTC/USD","price":1,"qty":1,"side":"up","ts":"2019-07-01T00:00:03Z"}`},
		{"bad ord_type", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy","ord_type":"stop","ts":"2019-07-01T00:00:03Z"}`},
		{"bad pair", `{"pair":"B/USD","price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z"}`},
		{"bad ts", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy","ts":"2019-07-01 00:00:03"}`},
		{"zero ts", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy","ts":"0001-01-01T00:00:00Z"}`},
		{"ts before year 1 in UTC", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy","ts":"0001-01-01T00:00:00+01:00"}`},
		{"ts as number", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy","ts":1561939203172}`},
		{"bool as string", `{"pair":"BTC/USD","price":1,"qty":1,"side":true,"ts":"2019-07-01T00:00:03Z"}`},
		{"control char in string", "{\"pair\":\"BTC/USD\",\"price\":1,\"qty\":1,\"side\":\"buy\",\"ts\":\"2019-07-01T00:00:03Z\",\"source\":\"a\nb\"}"},
		{"invalid UTF-8", "{\"pair\":\"BTC/USD\",\"price\":1,\"qty\":1,\"side\":\"buy\",\"ts\":\"2019-07-01T00:00:03Z\",\"source\":\"\xff\"}"},
		{"lone surrogate", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z","source":"\ud83d"}`},
		{"lone low surrogate", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z","source":"\ude00"}`},
		{"high surrogate before a letter", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z","source":"\ud83d\u0041"}`},
		{"bad escape", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z","source":"\x"}`},
		{"unquoted key", `{pair:"BTC/USD"}`},
		{"misspelt literal", `{"pair":"BTC/USD","price":1,"qty":1,"side":"buy","ts":"2019-07-01T00:00:03Z","x":nul}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := DecodeTrade([]byte(tt.in)); !errors.Is(err, market.ErrInvalid) {
				t.Fatalf("DecodeTrade(%s) = %+v, %v; want ErrInvalid", tt.in, got, err)
			}
		})
	}
}

func TestDecodeCandleRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*market.Candle)
		json func(string) string
	}{
		{name: "missing repaired", json: func(s string) string { return strings.Replace(s, `,"repaired":false`, "", 1) }},
		{name: "complete as number", json: func(s string) string { return strings.Replace(s, `"complete":true`, `"complete":1`, 1) }},
		{name: "null close", json: func(s string) string { return strings.Replace(s, `"close":290.75`, `"close":null`, 1) }},
		{name: "end before start", edit: func(c *market.Candle) { c.End = c.Start.Add(-time.Minute) }},
		{name: "empty window", edit: func(c *market.Candle) { c.End = c.Start }},
		{name: "zero price", edit: func(c *market.Candle) { c.Low = 0 }},
		{name: "high below close", edit: func(c *market.Candle) { c.High = 290.7 }},
		{name: "low above open", edit: func(c *market.Candle) { c.Low = 290.6 }},
		{name: "negative volume", edit: func(c *market.Candle) { c.BuyVolume = -1 }},
		{name: "negative trades", edit: func(c *market.Candle) { c.Trades = -1 }},
		{name: "ids reversed", edit: func(c *market.Candle) { c.FirstTradeID = 108 }},
		{name: "bad pair", edit: func(c *market.Candle) { c.Pair = "E" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fixtureCandle()
			if tt.edit != nil {
				tt.edit(&c)
			}
			in := string(AppendJSON(nil, c))
			if tt.json != nil {
				in = tt.json(in)
			}
			if got, err := DecodeCandle([]byte(in)); !errors.Is(err, market.ErrInvalid) {
				t.Fatalf("DecodeCandle(%s) = %+v, %v; want ErrInvalid", in, got, err)
			}
		})
	}
}

func TestDecodeFeatureRowRejects(t *testing.T) {
	good := fixtureFeatureRowJSON
	tests := []struct{ name, in string }{
		{"other schema version", strings.Replace(good, `"schema_version":3`, `"schema_version":2`, 1)},
		{"missing feature", strings.Replace(good, `,"tod_cos":`, `,"tod_cosine":`, 1)},
		{"feature as string", strings.Replace(good, `"ret_1":0`, `"ret_1":"0"`, 1)},
		{"null close", strings.Replace(good, `"close":10800.5`, `"close":null`, 1)},
		{"warm as string", strings.Replace(good, `"warm":false`, `"warm":"false"`, 1)},
		{"zero ts", strings.Replace(good, `2019-07-01T00:02:00Z`, `0001-01-01T00:00:00Z`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in == good {
				t.Fatal("the edit did not apply")
			}
			if got, err := DecodeFeatureRow([]byte(tt.in)); !errors.Is(err, market.ErrInvalid) {
				t.Fatalf("DecodeFeatureRow = %+v, %v; want ErrInvalid", got, err)
			}
		})
	}
}

func TestCSV(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		rec    []string
		want   string
		decode func([]string) (string, error)
	}{
		{
			"trade", TradeCSVHeader, AppendCSV(nil, fixtureTrade()),
			"BTC/USD,42,10749.4,0.004,sell,limit,2019-07-01T00:00:03.172000Z,kraken-ws",
			func(r []string) (string, error) { v, err := DecodeTradeCSV(r); return string(AppendJSON(nil, v)), err },
		},
		{
			"candle", CandleCSVHeader, AppendCSV(nil, fixtureCandle()),
			"ETH/USD,2019-07-01T00:01:00Z,2019-07-01T00:02:00Z,290.5,291,290.25,290.75,12.5,290.6,7,10,2.5,100,107,true,false,0",
			func(r []string) (string, error) { v, err := DecodeCandleCSV(r); return string(AppendJSON(nil, v)), err },
		},
		{
			"feature row", FeatureCSVHeader(), AppendCSV(nil, fixtureFeatureRow()),
			"BTC/USD,2019-07-01T00:02:00Z,3,false,10800.5,false,0,0,0.25,0.5,,1,1.25,1.5,1e-7,2,2.25,2.5,2.75,3,3.25,3.5,3.75,4,4.25,4.5,4.75,5," +
				"5.25,5.5,5.75,6,6.25,6.5,6.75,7,7.25,7.5,7.75,8,8.25,8.5,8.75,9,9.25",
			func(r []string) (string, error) {
				v, err := DecodeFeatureRowCSV(r)
				return string(AppendJSON(nil, v)), err
			},
		},
	}
	jsons := map[string]string{"trade": fixtureTradeJSON, "candle": fixtureCandleJSON, "feature row": fixtureFeatureRowJSON}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(tt.rec, ","); got != tt.want || len(tt.rec) != len(tt.header) {
				t.Fatalf("AppendCSV\n got %s (%d fields)\nwant %s (%d)", got, len(tt.rec), tt.want, len(tt.header))
			}
			back, err := tt.decode(tt.rec)
			if err != nil || back != jsons[tt.name] {
				t.Fatalf("decoded back to %s, %v", back, err)
			}
			if _, err := tt.decode(tt.rec[1:]); !errors.Is(err, market.ErrInvalid) {
				t.Errorf("short record: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestFeatureCSVHeaderIsACopy(t *testing.T) {
	h := FeatureCSVHeader()
	h[0] = "changed"
	if FeatureCSVHeader()[0] != "pair" || len(h) != 7+market.NumFeatures {
		t.Fatal("FeatureCSVHeader shares its backing array")
	}
}

// TestCodecRealData round-trips every real trade and the candles they make
// through JSON and CSV (written and read by encoding/csv).
func TestCodecRealData(t *testing.T) {
	trades := loadKrakenTrades(t)
	candles := aggregateAll(t, trades, market.AggregatorConfig{Interval: time.Minute})
	var buf []byte
	var rec []string
	for _, tr := range trades {
		buf, rec = AppendJSON(buf[:0], tr), AppendCSV(rec[:0], tr)
		fromJSON, err := DecodeTrade(buf)
		if err != nil || !sameTrade(fromJSON, tr) {
			t.Fatalf("JSON %s → %+v, %v", buf, fromJSON, err)
		}
		fromCSV, err := DecodeTradeCSV(csvRoundTrip(t, rec))
		if err != nil || !sameTrade(fromCSV, tr) {
			t.Fatalf("CSV %q → %+v, %v", rec, fromCSV, err)
		}
	}
	for _, c := range candles {
		buf, rec = AppendJSON(buf[:0], c), AppendCSV(rec[:0], c)
		fromJSON, err := DecodeCandle(buf)
		if err != nil || !sameCandle(fromJSON, c) {
			t.Fatalf("JSON %s → %+v, %v", buf, fromJSON, err)
		}
		fromCSV, err := DecodeCandleCSV(csvRoundTrip(t, rec))
		if err != nil || !sameCandle(fromCSV, c) {
			t.Fatalf("CSV %q → %+v, %v", rec, fromCSV, err)
		}
	}
}

// loadKrakenTrades reads the real Kraken BTC/USD trades of 2019-07-01
// 00:00–01:00 UTC (skipping tb when the file is absent).
func loadKrakenTrades(tb testing.TB) []market.Trade {
	tb.Helper()
	trades, err := archive.ReadTrades(realdata.Path(tb, realdata.KrakenTrades1h), archive.KrakenTrades, "", 1)
	if err != nil {
		tb.Fatal(err)
	}
	return trades
}

// aggregateAll returns every candle the aggregator emits for trades,
// corrections included.
func aggregateAll(t *testing.T, trades []market.Trade, cfg market.AggregatorConfig) []market.Candle {
	t.Helper()
	a, err := market.NewAggregator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []market.Candle
	for _, tr := range trades {
		if out, _, err = a.Add(tr, out); err != nil {
			t.Fatalf("trade %d: %v", tr.TradeID, err)
		}
	}
	return a.Flush(out)
}

func csvRoundTrip(t *testing.T, rec []string) []string {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	back, err := csv.NewReader(&b).Read()
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestAppendJSONDoesNotAllocate(t *testing.T) {
	tr, c, r := fixtureTrade(), fixtureCandle(), fixtureFeatureRow()
	buf := make([]byte, 0, 2048)
	for name, fn := range map[string]func(){
		"trade":       func() { buf = AppendJSON(buf[:0], tr) },
		"candle":      func() { buf = AppendJSON(buf[:0], c) },
		"feature row": func() { buf = AppendJSON(buf[:0], r) },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s AppendJSON: %v allocs, want 0", name, n)
		}
	}
}

func sameTrade(a, b market.Trade) bool {
	same := a.TS.Equal(b.TS)
	a.TS, b.TS = time.Time{}, time.Time{}
	return same && a == b
}

func sameCandle(a, b market.Candle) bool {
	same := a.Start.Equal(b.Start) && a.End.Equal(b.End)
	a.Start, a.End, b.Start, b.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return same && a == b
}

// sameFeatureRow compares floats bit for bit, so that NaN equals NaN.
func sameFeatureRow(a, b market.FeatureRow) bool {
	same := a.TS.Equal(b.TS) && math.Float64bits(a.Close) == math.Float64bits(b.Close)
	for i := range a.Values {
		same = same && math.Float64bits(a.Values[i]) == math.Float64bits(b.Values[i])
	}
	return same && a.Pair == b.Pair && a.SchemaVersion == b.SchemaVersion && a.Warm == b.Warm
}

// Fuzz tests: decoding arbitrary bytes never panics, and whatever decodes
// encodes to valid JSON (and CSV) that decodes to the same record.

func FuzzDecodeTrade(f *testing.F) {
	f.Add([]byte(fixtureTradeJSON))
	f.Add([]byte(`{"pair":"xbt-usd","price":1e-7,"qty":0,"side":"b","ts":"2019-07-01T02:00:03.1234567+02:00","source":"\u00e9\ud83d\ude00"}`))
	f.Add([]byte(`{"pair":"BTC/USD","price":-0,"qty":-0,"side":"buy","ts":"2019-07-01T00:00:03Z","x":[1]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeTrade(b)
		if err != nil {
			return
		}
		checkRoundTrip(t, v, AppendJSON(nil, v), AppendCSV(nil, v), DecodeTrade, DecodeTradeCSV, sameTrade)
	})
}

func FuzzDecodeCandle(f *testing.F) {
	f.Add([]byte(fixtureCandleJSON))
	f.Add([]byte(strings.Replace(fixtureCandleJSON, `"start":"2019-07-01T00:01:00Z"`, `"start":"2019-07-01T01:01:00.5+01:00"`, 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeCandle(b)
		if err != nil {
			return
		}
		checkRoundTrip(t, v, AppendJSON(nil, v), AppendCSV(nil, v), DecodeCandle, DecodeCandleCSV, sameCandle)
	})
}

func FuzzDecodeFeatureRow(f *testing.F) {
	f.Add([]byte(fixtureFeatureRowJSON))
	f.Add([]byte(strings.ReplaceAll(fixtureFeatureRowJSON, ":0.5", ":-1E+400")))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeFeatureRow(b)
		if err != nil {
			return
		}
		checkRoundTrip(t, v, AppendJSON(nil, v), AppendCSV(nil, v), DecodeFeatureRow, DecodeFeatureRowCSV, sameFeatureRow)
	})
}

// checkRoundTrip checks that v, encoded as js and rec, decodes back to v.
func checkRoundTrip[R any](t *testing.T, v R, js []byte, rec []string,
	fromJSON func([]byte) (R, error), fromCSV func([]string) (R, error), same func(a, b R) bool) {
	t.Helper()
	if !json.Valid(js) {
		t.Fatalf("invalid JSON: %s", js)
	}
	if back, err := fromJSON(js); err != nil || !same(v, back) {
		t.Fatalf("JSON round trip of %+v via %s: %+v, %v", v, js, back, err)
	}
	if back, err := fromCSV(rec); err != nil || !same(v, back) {
		t.Fatalf("CSV round trip of %+v via %q: %+v, %v", v, rec, back, err)
	}
}

func BenchmarkTradeAppendJSON(b *testing.B) {
	tr, buf := fixtureTrade(), make([]byte, 0, 256)
	b.ReportAllocs()
	for range b.N {
		buf = AppendJSON(buf[:0], tr)
	}
}

func BenchmarkDecodeTrade(b *testing.B) {
	in := []byte(fixtureTradeJSON)
	b.ReportAllocs()
	for range b.N {
		if _, err := DecodeTrade(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCandleAppendJSON(b *testing.B) {
	c, buf := fixtureCandle(), make([]byte, 0, 512)
	b.ReportAllocs()
	for range b.N {
		buf = AppendJSON(buf[:0], c)
	}
}

// Candles and rows written before revisions existed still decode: revision
// (and a row's complete) are optional keys.
func TestDecodeWithoutRevision(t *testing.T) {
	c := `{"pair":"ETH/USD","start":"2019-07-01T00:01:00Z","end":"2019-07-01T00:02:00Z","open":290.5,"high":291,"low":290.25,"close":290.75,` +
		`"volume":12.5,"vwap":290.6,"trades":7,"buy_volume":10,"sell_volume":2.5,"first_trade_id":100,"last_trade_id":107,"complete":true,"repaired":false}`
	if got, err := DecodeCandle([]byte(c)); err != nil || got.Revision != 0 {
		t.Fatalf("candle without revision: %+v, %v", got, err)
	}
	r := strings.Replace(fixtureFeatureRowJSON, `"complete":false,"revision":0,`, "", 1)
	if got, err := DecodeFeatureRow([]byte(r)); err != nil || got.Revision != 0 || got.Complete {
		t.Fatalf("row without complete and revision: %+v, %v", got, err)
	}
	if _, err := DecodeCandle([]byte(strings.Replace(c, `"close":290.75,`, "", 1))); err == nil {
		t.Fatal("a candle without close decoded")
	}
}
