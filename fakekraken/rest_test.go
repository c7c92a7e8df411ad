package fakekraken_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// realTrades loads the real Kraken trade file (2,672 BTC/USD trades), ids 1...
func realTrades(t *testing.T) []market.Trade {
	t.Helper()
	f, err := os.Open(realdata.Path(t, realdata.KrakenTrades1h))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	trades, err := fakekraken.LoadTradesCSV(f, "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	return trades
}

// startREST serves cfg and returns the server and its REST base URL.
func startREST(t *testing.T, cfg fakekraken.Config) (*fakekraken.Server, string) {
	t.Helper()
	srv, wsURL := startServer(t, cfg)
	return srv, fakekraken.RESTURL(wsURL)
}

// get returns the status and body of GET base+path.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// reply is a decoded envelope; Result stays raw.
type reply struct {
	Error  []string                   `json:"error"`
	Result map[string]json.RawMessage `json:"result"`
}

func getReply(t *testing.T, url string) reply {
	t.Helper()
	status, b := get(t, url)
	var r reply
	if err := json.Unmarshal(b, &r); status != http.StatusOK || err != nil {
		t.Fatalf("GET %s: %d %s (%v)", url, status, b, err)
	}
	return r
}

// tradeRows decodes the rows of a Trades result under key.
func tradeRows(t *testing.T, r reply, key string) ([][]any, string) {
	t.Helper()
	if len(r.Error) != 0 || len(r.Result) != 2 {
		t.Fatalf("reply %+v: want no error and keys %s, last", r, key)
	}
	var rows [][]any
	if err := json.Unmarshal(r.Result[key], &rows); err != nil {
		t.Fatalf("rows under %s: %v (%s)", key, err, r.Result[key])
	}
	var last string
	if err := json.Unmarshal(r.Result["last"], &last); err != nil {
		t.Fatalf("last %s: %v", r.Result["last"], err)
	}
	return rows, last
}

var (
	priceRe  = regexp.MustCompile(`^\d+\.\d{5,}$`)
	volumeRe = regexp.MustCompile(`^\d+\.\d{8,}$`)
)

// Trades rows are [price_string, volume_string, time_float, "b"|"s",
// "m"|"l", misc, trade_id] under the canonical key, "last" the newest row's
// time in ns as a string; since in ns or seconds; pages overlap at since.
func TestRESTTradesWire(t *testing.T) {
	trades := realTrades(t)
	_, base := startREST(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}})
	r := getReply(t, base+"/0/public/Trades?pair=XBTUSD&since=0")
	rows, last := tradeRows(t, r, "XXBTZUSD")
	if len(rows) != 1000 || last != strconv.FormatInt(trades[999].TS.UnixNano(), 10) {
		t.Fatalf("%d rows, last %s; want 1000, %d", len(rows), last, trades[999].TS.UnixNano())
	}
	for i, row := range rows {
		checkTradeRow(t, row, trades[i])
	}
	// The same page from a cursor in seconds, in fractional seconds and in ns.
	first := trades[0].TS
	for _, since := range []string{strconv.FormatInt(first.Unix(), 10), fmt.Sprintf("%d.%06d", first.Unix(), first.Nanosecond()/1000), strconv.FormatInt(first.UnixNano(), 10)} {
		rows, _ := tradeRows(t, getReply(t, base+"/0/public/Trades?pair=XBTUSD&count=3&since="+since), "XXBTZUSD")
		if len(rows) != 3 || rows[0][6].(float64) != 1 {
			t.Errorf("since=%s: %v", since, rows)
		}
	}
}

func checkTradeRow(t *testing.T, row []any, want market.Trade) {
	t.Helper()
	if len(row) != 7 {
		t.Fatalf("row %v: %d fields", row, len(row))
	}
	price, _ := row[0].(string)
	vol, _ := row[1].(string)
	p, _ := strconv.ParseFloat(price, 64)
	q, _ := strconv.ParseFloat(vol, 64)
	side := map[market.Side]string{market.SideBuy: "b", market.SideSell: "s"}[want.Side]
	if !priceRe.MatchString(price) || !volumeRe.MatchString(vol) || p != want.Price || q != want.Qty ||
		row[3] != side || row[4] != "m" || row[5] != "" || row[6].(float64) != float64(want.TradeID) {
		t.Fatalf("row %v, want %+v", row, want)
	}
	if sec := row[2].(float64); time.UnixMicro(int64(sec*1e6+0.5)).UTC() != want.TS {
		t.Fatalf("row time %v, want %s", sec, want.TS)
	}
}

// Paging with since=last over the real file: 3 pages (1000, 1000, 674
// rows; each page repeats the trade at its cursor), 2,672 distinct trades.
func TestRESTTradesPagination(t *testing.T) {
	trades := realTrades(t)
	_, base := startREST(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}})
	ids := map[int64]bool{}
	var sizes []int
	for since := "0"; ; {
		rows, last := tradeRows(t, getReply(t, base+"/0/public/Trades?pair=XXBTZUSD&count=1000&since="+since), "XXBTZUSD")
		sizes = append(sizes, len(rows))
		for _, row := range rows {
			ids[int64(row[6].(float64))] = true
		}
		if len(rows) < 1000 {
			break
		}
		since = last
	}
	if fmt.Sprint(sizes) != "[1000 1000 674]" || len(ids) != len(trades) {
		t.Fatalf("pages %v, %d distinct trades; want [1000 1000 674], %d", sizes, len(ids), len(trades))
	}
}

// Without since, Kraken returns the most recent trades; count is capped at
// 1000; any spelling of the pair finds it.
func TestRESTTradesParams(t *testing.T) {
	trades := realTrades(t)
	_, base := startREST(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}})
	rows, _ := tradeRows(t, getReply(t, base+"/0/public/Trades?pair=XBTUSD&count=2"), "XXBTZUSD")
	if len(rows) != 2 || rows[1][6].(float64) != float64(len(trades)) {
		t.Errorf("no since: %v, want the last 2 trades", rows)
	}
	rows, _ = tradeRows(t, getReply(t, base+"/0/public/Trades?pair=XBTUSD&since=0&count=5000"), "XXBTZUSD")
	if len(rows) != 1000 {
		t.Errorf("count=5000: %d rows, want 1000", len(rows))
	}
	for _, alias := range []string{"XXBTZUSD", "XBTUSD", "BTC/USD", "XBT/USD", "btcusd"} {
		tradeRows(t, getReply(t, base+"/0/public/Trades?since=0&count=1&pair="+alias), "XXBTZUSD")
	}
	after := trades[len(trades)-1].TS.UnixNano() + 1
	rows, last := tradeRows(t, getReply(t, base+"/0/public/Trades?pair=XBTUSD&since="+strconv.FormatInt(after, 10)), "XXBTZUSD")
	if len(rows) != 0 || last != strconv.FormatInt(after, 10) {
		t.Errorf("since after the end: %d rows, last %s", len(rows), last)
	}
}

// Errors come with HTTP 200 and no result.
func TestRESTErrors(t *testing.T) {
	_, base := startREST(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": realTrades(t)}})
	cases := map[string]string{
		"/0/public/Trades?pair=ETHUSD":              `{"error":["EQuery:Unknown asset pair"]}`,
		"/0/public/Trades?pair=":                    `{"error":["EGeneral:Invalid arguments"]}`,
		"/0/public/Trades?pair=XBTUSD&since=x":      `{"error":["EGeneral:Invalid arguments"]}`,
		"/0/public/Trades?pair=XBTUSD&count=-1":     `{"error":["EGeneral:Invalid arguments"]}`,
		"/0/public/OHLC?pair=XBTUSD&interval=2":     `{"error":["EGeneral:Invalid arguments"]}`,
		"/0/public/OHLC?pair=XBTUSD&interval=10080": `{"error":["EGeneral:Invalid arguments"]}`,
		"/0/public/OHLC?pair=DOGEUSD":               `{"error":["EQuery:Unknown asset pair"]}`,
		"/0/public/AssetPairs?pair=XBTUSD,ETHUSD":   `{"error":["EQuery:Unknown asset pair"]}`,
	}
	for path, want := range cases {
		if status, b := get(t, base+path); status != http.StatusOK || string(b) != want {
			t.Errorf("%s: %d %s, want 200 %s", path, status, b, want)
		}
	}
}

// Injected faults: HTTP 502 every 2nd request, FailWith every 3rd, and a
// rate limit whose bucket holds one second (2 requests) of budget.
func TestRESTFaults(t *testing.T) {
	trades := realTrades(t)
	cases := []struct {
		name   string
		faults fakekraken.RESTFaults
		want   []string // per request: "ok", an error string, or "502"
	}{
		{"http 5xx", fakekraken.RESTFaults{HTTP5xxEvery: 2}, []string{"ok", "502", "ok", "502"}},
		{"fail every", fakekraken.RESTFaults{FailEvery: 3, FailWith: "EService:Busy"}, []string{"ok", "ok", "EService:Busy", "ok", "ok", "EService:Busy"}},
		{"fail default", fakekraken.RESTFaults{FailEvery: 1}, []string{"EService:Unavailable"}},
		{"rate limit", fakekraken.RESTFaults{RateLimitPerSecond: 2}, []string{"ok", "ok", "EGeneral:Too many requests", "EGeneral:Too many requests"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := startREST(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}, REST: tc.faults})
			for i, want := range tc.want {
				if got := restOutcome(t, base+"/0/public/SystemStatus"); got != want {
					t.Errorf("request %d: %s, want %s", i+1, got, want)
				}
			}
			if st := srv.RESTStats(); st.Requests != int64(len(tc.want)) || st.HTTP5xx+st.Failed+st.RateLimited == 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func restOutcome(t *testing.T, url string) string {
	status, b := get(t, url)
	if status != http.StatusOK {
		return strconv.Itoa(status)
	}
	var r reply
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(r.Error) > 0 {
		return strings.Join(r.Error, ",")
	}
	return "ok"
}

// While a WebSocket replay runs, REST serves only what was published.
func TestRESTTradesOnlyPublishedDuringReplay(t *testing.T) {
	trades := realTrades(t)
	srv, wsURL := startServer(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}, Speed: 1})
	base := fakekraken.RESTURL(wsURL)
	count := func() int {
		n := 0
		for since := "0"; ; {
			rows, last := tradeRows(t, getReply(t, base+"/0/public/Trades?pair=XBTUSD&since="+since), "XXBTZUSD")
			n += len(rows)
			if len(rows) < 1000 {
				return n
			}
			n--
			since = last
		}
	}
	if n := count(); n != len(trades) {
		t.Fatalf("before any subscription: %d trades, want all %d", n, len(trades))
	}
	c := dial(t, wsURL)
	if err := c.ws.WriteMessage(1, []byte(`{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"]}}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for srv.Stats().Published == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	before := srv.Stats().Published
	n := count()
	after := srv.Stats().Published
	if int64(n) < before || int64(n) > after || n >= len(trades) {
		t.Fatalf("during the replay: %d trades, published %d..%d of %d", n, before, after, len(trades))
	}
}

// OHLC from the real trades: one row per minute, the last one holding the
// newest trade; rows [time, o, h, l, c, vwap, volume, count]; the first
// minute checked against the trades themselves.
func TestRESTOHLC(t *testing.T) {
	trades := realTrades(t)
	_, base := startREST(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}})
	for _, tc := range []struct{ interval, rows int }{{1, 60}, {5, 12}, {60, 1}} {
		r := getReply(t, fmt.Sprintf("%s/0/public/OHLC?pair=XBTUSD&interval=%d", base, tc.interval))
		var rows [][]any
		if err := json.Unmarshal(r.Result["XXBTZUSD"], &rows); err != nil || len(rows) != tc.rows || len(rows[0]) != 8 {
			t.Fatalf("interval %d: %d rows (%v), want %d", tc.interval, len(rows), err, tc.rows)
		}
		wantLast := int64(rows[max(0, len(rows)-2)][0].(float64))
		if string(r.Result["last"]) != strconv.FormatInt(wantLast, 10) {
			t.Errorf("last %s, want %v", r.Result["last"], wantLast)
		}
	}
	r := getReply(t, base+"/0/public/OHLC?pair=XBTUSD")
	var rows [][]any
	if err := json.Unmarshal(r.Result["XXBTZUSD"], &rows); err != nil {
		t.Fatal(err)
	}
	checkFirstMinute(t, rows[0], trades)
}

func checkFirstMinute(t *testing.T, row []any, trades []market.Trade) {
	t.Helper()
	start := trades[0].TS.Truncate(time.Minute)
	var hi, lo, vol float64
	var n int
	var last market.Trade
	for _, tr := range trades {
		if tr.TS.Sub(start) >= time.Minute {
			break
		}
		if n == 0 || tr.Price > hi {
			hi = tr.Price
		}
		if n == 0 || tr.Price < lo {
			lo = tr.Price
		}
		vol += tr.Qty
		n, last = n+1, tr
	}
	want := []any{float64(start.Unix()), fmtF(trades[0].Price), fmtF(hi), fmtF(lo), fmtF(last.Price), nil, fmtF(vol), float64(n)}
	for i, w := range want {
		got := row[i]
		if s, ok := got.(string); ok && w != nil {
			f, _ := strconv.ParseFloat(s, 64)
			got = fmtF(f)
		}
		if w != nil && got != w {
			t.Errorf("field %d: %v, want %v (row %v)", i, row[i], w, row)
		}
	}
}

func fmtF(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// At most 720 rows, intervals without trades present with volume 0 and
// OHLC at the previous close: reconstructed trades of real candles from
// the first absent minute of the Kraken archive on.
func TestRESTOHLCEmptyIntervalsAnd720(t *testing.T) {
	src := readCandles(t, krakenOHLCVT1m, "BTC/USD", time.Time{}, time.Time{})
	gap := 720 // the first absent minute with 720 minutes of history before it
	for gap < len(src) && src[gap].Start.Sub(src[gap-1].Start) == time.Minute {
		gap++
	}
	if gap == len(src) {
		t.Fatal("no absent minute in the archive")
	}
	src = src[:gap+100] // the gap ends up inside the last 720 minutes
	_, base := startREST(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": fakekraken.ReconstructTrades(src, 1)}})
	r := getReply(t, base+"/0/public/OHLC?pair=XBTUSD&interval=1")
	var rows [][]any
	if err := json.Unmarshal(r.Result["XXBTZUSD"], &rows); err != nil {
		t.Fatal(err)
	}
	first, last := time.Unix(int64(rows[0][0].(float64)), 0), time.Unix(int64(rows[len(rows)-1][0].(float64)), 0)
	if len(rows) != 720 || !last.Equal(src[len(src)-1].Start) || last.Sub(first) != 719*time.Minute {
		t.Fatalf("%d rows %s..%s, want 720 ending at %s", len(rows), first, last, src[len(src)-1].Start)
	}
	empty := 0
	for i, row := range rows {
		if row[7].(float64) == 0 {
			empty++
			prevClose := rows[i-1][4]
			if row[6] != "0.00000000" || row[1] != prevClose || row[2] != prevClose || row[3] != prevClose || row[4] != prevClose {
				t.Errorf("empty row %v after close %v", row, prevClose)
			}
		}
	}
	if want := countAbsent(src, first); empty != want || empty == 0 {
		t.Errorf("%d empty rows, want %d", empty, want)
	}
}

// countAbsent counts the minutes from `from` to the last candle that have no candle.
func countAbsent(src []market.Candle, from time.Time) int {
	have := 0
	for _, c := range src {
		if !c.Start.Before(from) {
			have++
		}
	}
	return int(src[len(src)-1].Start.Sub(from)/time.Minute) + 1 - have
}

// AssetPairs: canonical keys, altname, v1 wsname, pair_decimals from the
// data; SystemStatus follows the engine status.
func TestRESTAssetPairsAndSystemStatus(t *testing.T) {
	trades := realTrades(t)
	_, base := startREST(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades, "DOGE/USD": asPair(trades, "DOGE/USD"), "ETH/USDT": asPair(trades, "ETH/USDT")}})
	r := getReply(t, base+"/0/public/AssetPairs")
	want := map[string][2]string{"XXBTZUSD": {"XBTUSD", "XBT/USD"}, "XDGUSD": {"XDGUSD", "XDG/USD"}, "ETHUSDT": {"ETHUSDT", "ETH/USDT"}}
	if len(r.Result) != len(want) {
		t.Fatalf("keys %v", r.Result)
	}
	for key, names := range want {
		var p struct {
			Altname, WSName, Status string
			PairDecimals            int `json:"pair_decimals"`
			LotDecimals             int `json:"lot_decimals"`
			Ordermin                string
		}
		if err := json.Unmarshal(r.Result[key], &p); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if p.Altname != names[0] || p.WSName != names[1] || p.Status != "online" || p.PairDecimals != 1 || p.LotDecimals != 8 || p.Ordermin == "" {
			t.Errorf("%s: %+v", key, p)
		}
	}
	r = getReply(t, base+"/0/public/SystemStatus")
	var st struct{ Status, Timestamp string }
	if err := json.Unmarshal(mustMarshal(t, r.Result), &st); err != nil || st.Status != "online" {
		t.Fatalf("system status %+v %v", st, err)
	}
	if _, err := time.Parse(time.RFC3339, st.Timestamp); err != nil {
		t.Errorf("timestamp: %v", err)
	}
}

// asPair relabels trades: the real BTC/USD file served under another
// name, for what only depends on names.
func asPair(trades []market.Trade, pair string) []market.Trade {
	out := slices.Clone(trades)
	for i := range out {
		out[i].Pair = pair
	}
	return out
}

func mustMarshal(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRESTFaultsValidated(t *testing.T) {
	for _, f := range []fakekraken.RESTFaults{{RateLimitPerSecond: -1}, {FailEvery: -1}, {HTTP5xxEvery: -2}} {
		if _, err := fakekraken.New(fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": synth("BTC/USD", 3, time.Second)}, REST: f}); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
}
