package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
)

// FuzzHandlers sends arbitrary requests to a real Server over loopback
// (real predictions, registry, scorer and hub) and checks that client
// input never causes a 500 and that every error is JSON {"error": code}.
func FuzzHandlers(f *testing.F) {
	fx := newFixture(f, fixtureOpts{dashboard: testDashboard})
	if _, err := fx.reg.EnsureBaseline(context.Background(), "BTC-USDT", 5); err != nil {
		f.Fatal(err)
	}
	if err := fx.pred.Refresh(context.Background()); err != nil {
		f.Fatal(err)
	}
	hs := httptest.NewServer(fx.srv.Handler())
	f.Cleanup(hs.Close)
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	seeds := []struct{ method, path, query, key, value, body string }{
		{"GET", "v1/predictions/ETH-USDT", "horizon=1", "Cache-Control", "no-cache", ""},
		{"GET", "v1/predictions/ETH-USDT", "horizon=99999999999999999999", "", "", ""},
		{"GET", "v1/predictions", "horizon=1&allow_stale=1", "", "", ""},
		{"GET", "v1/predictions/%E0%A4%A/history", "limit=-1", "", "", ""},
		{"GET", "v1/candles/btc_usdt", "limit=1440", "", "", ""},
		{"GET", "v1/models", "pair=ETH%2FUSDT&horizon=1", "", "", ""},
		{"GET", "v1/models/latest", "pair=ETH-USDT", "", "", ""},
		{"POST", "v1/models/v0/promote", "pair=ETH-USDT", "Authorization", "Bearer " + adminKey, "{}"},
		{"POST", "v1/models/champion/rollback", "pair=ETH-USDT&horizon=1", "Authorization", "Bearer " + adminKey, ""},
		{"POST", "v1/models/v0/rollback", "pair=BTC-USDT&horizon=5", "Authorization", "Bearer x", ""},
		{"DELETE", "v1/scores", "", "Content-Type", "application/json", `{"a":1}`},
		{"GET", "v1/stream", "pairs=ETH-USDT,,", "Upgrade", "websocket", ""},
		{"PATCH", "readyz", "", "", "", "x"},
		{"OPTIONS", "v1/info", "", "Origin", "http://x", ""},
		{"GET", "assets/../../etc/passwd", "", "", "", ""},
		{"GET", "metrics", "", "Accept", "application/openmetrics-text", ""},
		{"HEAD", "openapi.json", "", "", "", ""},
		{"BREW", "//v1//predictions/", "%zz", "X-\x00", "\xff", "\x00"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.key, s.value, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path, query, key, value string, body []byte) {
		if !httpguts.ValidHeaderFieldName(method) || len(path)+len(query) > 4000 || len(key)+len(value) > 4000 {
			return // not a request a client can send
		}
		if method == http.MethodConnect {
			return // a proxy request: not ours to route
		}
		if strings.ContainsFunc(path+query, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return // net/http refuses such a request line before any handler runs
		}
		req, err := http.NewRequest(method, hs.URL+"/"+path+"?"+query, strings.NewReader(string(body)))
		if err != nil {
			return
		}
		if httpguts.ValidHeaderFieldName(key) && httpguts.ValidHeaderFieldValue(value) && !hopHeader(key) {
			req.Header.Set(key, value)
		}
		res, err := client.Do(req)
		if err != nil {
			if strings.Contains(err.Error(), "Client.Timeout") {
				t.Fatalf("%s %q: no answer: %v", method, req.URL, err)
			}
			return // refused by the client library
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s %q %s=%q: status %d: %s", method, req.URL, key, value, res.StatusCode, b)
		}
		if res.StatusCode < 400 || method == http.MethodHead {
			return
		}
		var e errorBody
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || json.Unmarshal(b, &e) != nil || e.Error == "" {
			t.Fatalf("%s %q: status %d with a non-JSON error (%s): %s", method, req.URL, res.StatusCode, ct, b)
		}
	})
}

// hopHeader reports headers the client library owns.
func hopHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Te", "Trailer", "Expect":
		return true
	}
	return false
}
