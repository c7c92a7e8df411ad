package dashboard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path string
		status       int
		ctype        string
		contains     string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `<script src="/assets/app.js">`},
		{"GET", "/index.html", 200, "text/html; charset=utf-8", "<title>tickcast</title>"},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/assets/app.js", 200, "text/javascript; charset=utf-8", "/v1/stream"},
		{"GET", "/assets/style.css", 200, "text/css; charset=utf-8", "--bg"},
		{"GET", "/assets/vendor/lightweight-charts.standalone.production.js", 200, "text/javascript; charset=utf-8", "Lightweight Charts"},
		{"GET", "/assets/vendor/LICENSE", 200, "text/plain; charset=utf-8", "Apache License"},
		{"GET", "/assets/vendor/NOTICE", 200, "text/plain; charset=utf-8", "TradingView, Inc."},
		{"GET", "/assets/../dashboard.go", 404, "application/json", `"not_found"`},
		{"GET", "/assets/index.html", 404, "application/json", `"not_found"`},
		{"GET", "/runs", 200, "text/html; charset=utf-8", `<script src="/assets/runs.js">`},
		{"GET", "/assets/runs.js", 200, "text/javascript; charset=utf-8", "/v1/runs"},
		{"GET", "/assets/runs.html", 404, "application/json", `"not_found"`},
		{"GET", "/runs/../assets/runs.html", 404, "application/json", `"not_found"`},
		{"GET", "/assets", 404, "application/json", `"not_found"`},
		{"GET", "/assetsapp.js", 404, "application/json", `"not_found"`},
		{"GET", "/app.js", 404, "application/json", `"not_found"`},
		{"GET", "/assets/nope.js", 404, "application/json", `"not_found"`},
		{"POST", "/", 405, "application/json", `"method_not_allowed"`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			if tt.status >= 400 {
				var e struct{ Error, Message string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Message == "" {
					t.Errorf("error body %q is not {error, message} JSON: %v", rec.Body, err)
				}
			}
		})
	}
}

func TestHandlerRevalidates(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/assets/app.js", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q: want an ETag and no-cache", etag, rec.Header().Get("Cache-Control"))
	}
	req := httptest.NewRequest("GET", "/assets/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("revalidation: status %d with %d bytes, want 304 and none", rec.Code, rec.Body.Len())
	}
}

func TestPageHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	} {
		if got := rec.Header().Get(k); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", k, got, want)
		}
	}
}

// TestNoRemoteResources keeps the page self-contained: every script and
// stylesheet comes from this origin (the only absolute URLs are the
// attribution links the library's licence asks for).
func TestNoRemoteResources(t *testing.T) {
	for _, name := range []string{"assets/index.html", "assets/app.js", "assets/style.css", "assets/runs.html", "assets/runs.js"} {
		b, err := assets.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, bad := range []string{`src="http`, `src="//`, `href="//`, "@import", "cdn"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
		if name == "assets/index.html" && !strings.Contains(s, `href="https://www.tradingview.com/"`) {
			t.Errorf("%s lacks the TradingView attribution link", name)
		}
	}
}
