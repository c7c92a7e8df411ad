package kraken

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
)

// tradesBody is hand-written (not data), in the shape kraken-api.md
// documents: the row of its example plus two more; Kraken pads prices.
const tradesBody = `{"error":[],"result":{"XXBTZUSD":[` +
	`["30243.40000","0.34507674",1688669597.8277369,"b","m","",61044952],` +
	`["30243.50000","0.00000001",1688669597.8277369,"s","l","",61044953],` +
	`["30244.1","1.5",1688669598,"b","x","",61044954]` +
	`],"last":"1688669598000000000"}}`

func TestParseRESTTrades(t *testing.T) {
	res, err := decodeEnvelope([]byte(tradesBody))
	if err != nil {
		t.Fatal(err)
	}
	page, err := parseRESTTrades(res, "BTC/USD")
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2023, 7, 6, 18, 53, 17, 827737000, time.UTC) // .8277369 rounds to .827737
	want := []market.Trade{
		{Pair: "BTC/USD", TradeID: 61044952, Price: 30243.4, Qty: 0.34507674, Side: market.SideBuy, OrdType: market.OrdMarket, TS: ts, Source: market.SourceKrakenREST},
		{Pair: "BTC/USD", TradeID: 61044953, Price: 30243.5, Qty: 0.00000001, Side: market.SideSell, OrdType: market.OrdLimit, TS: ts, Source: market.SourceKrakenREST},
		{Pair: "BTC/USD", TradeID: 61044954, Price: 30244.1, Qty: 1.5, Side: market.SideBuy, TS: ts.Truncate(time.Second).Add(time.Second), Source: market.SourceKrakenREST},
	}
	if page.Pair != "BTC/USD" || page.Last != 1688669598000000000 || fmt.Sprint(page.Trades) != fmt.Sprint(want) {
		t.Fatalf("page %+v\nwant trades %+v", page, want)
	}
}

// Results that must fail the page.
func TestParseRESTTradesRejects(t *testing.T) {
	cases := map[string]string{
		"two pairs":      `{"XXBTZUSD":[],"XETHZUSD":[],"last":"1"}`,
		"no last":        `{"XXBTZUSD":[]}`,
		"last not int":   `{"XXBTZUSD":[],"last":"x"}`,
		"rows not array": `{"XXBTZUSD":{},"last":"1"}`,
	}
	for name, res := range cases {
		if _, err := parseRESTTrades([]byte(res), "BTC/USD"); !errors.Is(err, ErrMalformed) && !errors.Is(err, market.ErrInvalid) {
			t.Errorf("%s: err %v, want malformed or invalid", name, err)
		}
	}
}

// A row that is not a valid trade does not fail the page (its good rows
// would be lost with it) and is not dropped silently either: it is in
// Rejected, as sent, with its error and its trade id when readable.
func TestParseRESTTradesRejectsRows(t *testing.T) {
	good := `["1.0","1.0",1688669597.1,"b","m","",2]`
	cases := map[string]struct {
		row string
		id  int64
	}{
		"no trade_id":     {`["1.0","1.0",1688669597.1,"b","m",""]`, 0},
		"price number":    {`[1.0,"1.0",1688669597.1,"b","m","",1]`, 1},
		"price hex":       {`["0x1p3","1.0",1688669597.1,"b","m","",1]`, 1},
		"price NaN":       {`["NaN","1.0",1688669597.1,"b","m","",1]`, 1},
		"price zero":      {`["0.000","1.0",1688669597.1,"b","m","",1]`, 1},
		"price negative":  {`["-1.0","1.0",1688669597.1,"b","m","",1]`, 1},
		"volume negative": {`["1.0","-1.0",1688669597.1,"b","m","",1]`, 1},
		"side":            {`["1.0","1.0",1688669597.1,"x","m","",1]`, 1},
		"time negative":   {`["1.0","1.0",-1688669597.1,"b","m","",1]`, 1},
		"time string":     {`["1.0","1.0","soon","b","m","",1]`, 1},
		"trade_id float":  {`["1.0","1.0",1688669597.1,"b","m","",1.5]`, 0},
	}
	for name, tc := range cases {
		page, err := parseRESTTrades([]byte(`{"XXBTZUSD":[`+tc.row+`,`+good+`],"last":"1"}`), "BTC/USD")
		if err != nil {
			t.Errorf("%s: %v, want the page", name, err)
			continue
		}
		if len(page.Trades) != 1 || page.Trades[0].TradeID != 2 || len(page.Rejected) != 1 {
			t.Errorf("%s: trades %+v, rejected %+v; want trade 2 and the bad row", name, page.Trades, page.Rejected)
			continue
		}
		r := page.Rejected[0]
		if r.TradeID != tc.id || string(r.Raw) != tc.row || (!errors.Is(r.Err, ErrMalformed) && !errors.Is(r.Err, market.ErrInvalid)) {
			t.Errorf("%s: rejected id %d raw %s err %v; want id %d, the row, malformed or invalid", name, r.TradeID, r.Raw, r.Err, tc.id)
		}
	}
}

func TestJSONSeconds(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1688669597.8277369", time.Date(2023, 7, 6, 18, 53, 17, 827737000, time.UTC), true},
		{"1688669597.8277364", time.Date(2023, 7, 6, 18, 53, 17, 827736000, time.UTC), true},
		{"1688669597.9999996", time.Date(2023, 7, 6, 18, 53, 18, 0, time.UTC), true}, // carries into the second
		{"1688669597", time.Date(2023, 7, 6, 18, 53, 17, 0, time.UTC), true},
		{"1.6886695978277369e9", time.Date(2023, 7, 6, 18, 53, 17, 827737000, time.UTC), true},
		{"0", time.Time{}, false}, {"-1.5", time.Time{}, false}, {"1e30", time.Time{}, false},
		{"9999999999999", time.Time{}, false}, {`"1"`, time.Time{}, false}, {"", time.Time{}, false},
	}
	for _, tc := range cases {
		got, err := jsonSeconds("time", []byte(tc.in))
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("jsonSeconds(%s) = %s, %v; want %s, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	cases := map[string]error{
		"EGeneral:Too many requests": ErrRateLimited, "EAPI:Rate limit exceeded": ErrRateLimited,
		"EGeneral:Temporary lockout": ErrRateLimited, "EService:Unavailable": ErrUnavailable,
		"EService:Busy": ErrUnavailable, "EService:Deadline elapsed": ErrUnavailable,
		"EGeneral:Internal error": ErrUnavailable, "EQuery:Unknown asset pair": ErrUnknownPair,
		"EGeneral:Invalid arguments": ErrInvalidArguments, "EGeneral:Invalid arguments:since": ErrInvalidArguments,
		"EGeneral:Permission denied": nil,
	}
	kinds := []error{ErrRateLimited, ErrUnavailable, ErrUnknownPair, ErrInvalidArguments}
	for s, want := range cases {
		err := error(&APIError{Errors: []string{s}})
		for _, k := range kinds {
			same := errors.Is(k, want) && want != nil // sentinel identity, not a wrapped match
			if errors.Is(err, k) != same {
				t.Errorf("%s: errors.Is(%v) = %v", s, k, !same)
			}
		}
		wantRetry := want != nil && (errors.Is(want, ErrRateLimited) || errors.Is(want, ErrUnavailable))
		if retryable(err) != wantRetry {
			t.Errorf("%s: retryable %v", s, retryable(err))
		}
	}
	if !errors.Is(&HTTPError{Status: 502}, ErrUnavailable) || !errors.Is(&HTTPError{Status: 429}, ErrRateLimited) || retryable(&HTTPError{Status: 404}) {
		t.Error("HTTPError kinds")
	}
}

func TestDecodeEnvelope(t *testing.T) {
	cases := []struct {
		body string
		want error // nil: ok
	}{
		{`{"error":[],"result":{"status":"online"}}`, nil},
		{`{"error":["WGeneral:Deprecated"],"result":{"status":"online"}}`, nil}, // a warning only
		{`{"error":["EQuery:Unknown asset pair"]}`, ErrUnknownPair},
		{`{"error":[]}`, ErrMalformed},
		{`{"error":[],"result":null}`, ErrMalformed},
		{`<html>502</html>`, ErrMalformed},
	}
	for _, tc := range cases {
		_, err := decodeEnvelope([]byte(tc.body))
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.body, err, tc.want)
		}
	}
	var apiErr *APIError
	if _, err := decodeEnvelope([]byte(`{"error":["EService:Busy","EGeneral:Too many requests"]}`)); !errors.As(err, &apiErr) || len(apiErr.Errors) != 2 {
		t.Errorf("APIError %v", err)
	}
}

// assetPairsResult is hand-written in the shape of Kraken's AssetPairs
// (real keys, altnames and v1 wsnames; other fields trimmed).
const assetPairsResult = `{
 "XXBTZUSD":{"altname":"XBTUSD","wsname":"XBT/USD","base":"XXBT","quote":"ZUSD","pair_decimals":1,"lot_decimals":8,"ordermin":"0.0001","status":"online"},
 "XETHZUSD":{"altname":"ETHUSD","wsname":"ETH/USD","base":"XETH","quote":"ZUSD","pair_decimals":2,"lot_decimals":8,"ordermin":"0.002","status":"online"},
 "XDGUSD":{"altname":"XDGUSD","wsname":"XDG/USD","base":"XXDG","quote":"ZUSD","pair_decimals":7,"lot_decimals":8,"ordermin":"40","status":"online"},
 "ETHUSDT":{"altname":"ETHUSDT","wsname":"ETH/USDT","base":"XETH","quote":"USDT","pair_decimals":2,"lot_decimals":8,"ordermin":"0.002","status":"cancel_only"},
 "XBTUSD.d":{"altname":"XBTUSD.d","base":"XXBT","quote":"ZUSD","pair_decimals":1,"lot_decimals":8,"status":"online"}
}`

func TestParseAssetPairs(t *testing.T) {
	pairs, err := parseAssetPairs([]byte(assetPairsResult))
	if err != nil {
		t.Fatal(err)
	}
	want := []AssetPair{
		{Key: "ETHUSDT", Altname: "ETHUSDT", WSName: "ETH/USDT", PairDecimals: 2, LotDecimals: 8, Status: "cancel_only"},
		{Key: "XBTUSD.d", Altname: "XBTUSD.d", PairDecimals: 1, LotDecimals: 8, Status: "online"},
		{Key: "XDGUSD", Altname: "XDGUSD", WSName: "DOGE/USD", PairDecimals: 7, LotDecimals: 8, Status: "online"},
		{Key: "XETHZUSD", Altname: "ETHUSD", WSName: "ETH/USD", PairDecimals: 2, LotDecimals: 8, Status: "online"},
		{Key: "XXBTZUSD", Altname: "XBTUSD", WSName: "BTC/USD", PairDecimals: 1, LotDecimals: 8, Status: "online"},
	}
	if fmt.Sprint(pairs) != fmt.Sprint(want) {
		t.Fatalf("got  %+v\nwant %+v", pairs, want)
	}
}

func TestAltname(t *testing.T) {
	cases := map[string]string{"BTC/USD": "XBTUSD", "XBT/USD": "XBTUSD", "XXBTZUSD": "XBTUSD", "ETH/USD": "ETHUSD",
		"ETH/USDT": "ETHUSDT", "DOGE/USD": "XDGUSD", "btc-usdt": "XBTUSDT"}
	for in, want := range cases {
		if got, err := Altname(in); err != nil || got != want {
			t.Errorf("Altname(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := Altname("nope"); err == nil {
		t.Error("Altname(nope) succeeded")
	}
}

// scripted serves the i-th request with replies[i] (the last repeats):
// a Kraken body, "HTTP 5xx", "sleep" (longer than the client's timeout)
// or "ok" (a SystemStatus result).
type scripted struct {
	replies []string
	n       atomic.Int64
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := min(int(s.n.Add(1))-1, len(s.replies)-1)
	switch reply := s.replies[i]; {
	case reply == "ok":
		fmt.Fprint(w, `{"error":[],"result":{"status":"online","timestamp":"2026-01-02T03:04:05Z"}}`)
	case reply == "sleep":
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	case strings.HasPrefix(reply, "HTTP "):
		var code int
		if _, err := fmt.Sscanf(reply, "HTTP %d", &code); err != nil {
			code = http.StatusInternalServerError // a malformed script line still fails loudly
		}
		http.Error(w, "<html>bad gateway</html>", code)
	default:
		fmt.Fprintf(w, `{"error":[%q]}`, reply)
	}
}

func testREST(t *testing.T, base string, cfg RESTConfig) *REST {
	t.Helper()
	cfg.BaseURL = base
	cfg.RatePerSecond = -1
	cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 4*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	c, err := NewREST(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Retries on rate limits, EService, 5xx and timeouts; none on errors that
// a retry cannot fix.
func TestRESTRetries(t *testing.T) {
	cases := []struct {
		name     string
		replies  []string
		requests int64
		want     error // nil: success
	}{
		{"too many requests", []string{"EGeneral:Too many requests", "EGeneral:Too many requests", "ok"}, 3, nil},
		{"rate limit exceeded", []string{"EAPI:Rate limit exceeded", "ok"}, 2, nil},
		{"service unavailable", []string{"EService:Unavailable", "EService:Busy", "ok"}, 3, nil},
		{"http 502 and 503", []string{"HTTP 502", "HTTP 503", "ok"}, 3, nil},
		{"timeout", []string{"sleep", "ok"}, 2, nil},
		{"unknown pair", []string{"EQuery:Unknown asset pair", "ok"}, 1, ErrUnknownPair},
		{"invalid arguments", []string{"EGeneral:Invalid arguments", "ok"}, 1, ErrInvalidArguments},
		{"http 404", []string{"HTTP 404", "ok"}, 1, nil},
		{"gives up", []string{"EService:Unavailable"}, 3, ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{replies: tc.replies}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := testREST(t, srv.URL, RESTConfig{MaxRetries: 2, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
			status, err := c.SystemStatus(t.Context())
			switch {
			case tc.name == "http 404":
				var he *HTTPError
				if !errors.As(err, &he) || he.Status != 404 {
					t.Errorf("err %v, want HTTP 404", err)
				}
			case tc.want == nil && (err != nil || status != "online"):
				t.Errorf("SystemStatus = %q, %v", status, err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("err %v, want %v", err, tc.want)
			}
			if n := s.n.Load(); n != tc.requests || c.Stats().Requests != tc.requests {
				t.Errorf("%d requests (client counted %d), want %d", n, c.Stats().Requests, tc.requests)
			}
		})
	}
}

// Nothing listens: connection errors are ErrUnavailable, retried.
func TestRESTConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	c := testREST(t, base, RESTConfig{MaxRetries: 3})
	_, err := c.SystemStatus(t.Context())
	if !errors.Is(err, ErrUnavailable) || c.Stats().Requests != 4 || c.Stats().Retries != 3 {
		t.Fatalf("err %v, stats %+v; want unavailable after 4 attempts", err, c.Stats())
	}
}

// Cancelling stops a backoff at once and returns the context's error.
func TestRESTCancelDuringBackoff(t *testing.T) {
	srv := httptest.NewServer(&scripted{replies: []string{"EService:Unavailable"}})
	defer srv.Close()
	c, err := NewREST(RESTConfig{BaseURL: srv.URL, RatePerSecond: -1, BackoffMin: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.SystemStatus(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrUnavailable) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

func TestNewRESTValidates(t *testing.T) {
	for _, cfg := range []RESTConfig{{BaseURL: "ftp://x"}, {BaseURL: "api.kraken.com"}, {BackoffMin: -1}} {
		if _, err := NewREST(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	c, err := NewREST(RESTConfig{})
	if err != nil || c.base != DefaultRESTURL || c.maxRetries != DefaultMaxRetries || c.limiter.Rate() != DefaultRESTRate {
		t.Errorf("defaults: %+v %v", c, err)
	}
}

// FuzzParseTrades: any body either fails cleanly or yields valid,
// microsecond-precise trades of the pair.
func FuzzParseTrades(f *testing.F) {
	f.Add([]byte(tradesBody))
	f.Add([]byte(`{"error":[],"result":{"XETHZUSD":[["1850.12","0.5",1688669597.8277369,"s","l","reconstructed",7]],"last":"1688669597827736900"}}`))
	f.Add([]byte(`{"error":["EGeneral:Too many requests"]}`))
	f.Add([]byte(`{"error":[],"result":{"XXBTZUSD":[],"last":"0"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := decodeEnvelope(body)
		if err != nil {
			return
		}
		page, err := parseRESTTrades(res, "BTC/USD")
		if err != nil {
			return
		}
		for _, tr := range page.Trades {
			if err := tr.Validate(); err != nil || tr.Pair != "BTC/USD" || !tr.TS.Equal(tr.TS.Truncate(time.Microsecond)) ||
				(tr.Source != market.SourceKrakenREST && tr.Source != market.SourceReconstructed) {
				t.Fatalf("bad trade %+v from %s: %v", tr, body, err)
			}
		}
	})
}
