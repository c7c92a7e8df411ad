package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
)

// Every error leaves through classify: codes to statuses in one table,
// bodies as the API documents them (docs/api.md, Errors).
func TestClassify(t *testing.T) {
	s := &Server{cfg: Config{RequestTimeout: 5 * time.Second}}
	reg, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, regErr := reg.Get(context.Background(), "ETH/USDT", 1, "9") // the registry's not found: a market not_found error
	e := echo.New()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/v1/x", nil), httptest.NewRecorder())
	for _, tc := range []struct {
		name     string
		err      error
		status   int
		body     errorBody
		internal bool
	}{
		{"invalid", market.Errorf(market.CodeInvalid, "horizon=0: want 1…1440"), 400, errorBody{"bad_request", "horizon=0: want 1…1440"}, false},
		{"the sentinel", fmt.Errorf("pair %q: %w", "X", market.ErrInvalid), 400, errorBody{"bad_request", `pair "X": invalid`}, false},
		{"not found", fmt.Errorf("get: %w", market.Errorf(market.CodeNotFound, "no v9")), 404, errorBody{"not_found", "no v9"}, false},
		{"registry's not found", fmt.Errorf("get: %w", regErr), 404, errorBody{"not_found", "no models registered for ETH/USDT h1: not found"}, false},
		{"conflict", market.Errorf(market.CodeConflict, "v2 is not the champion"), 409, errorBody{"conflict", "v2 is not the champion"}, false},
		{"unauthorized", market.Errorf(market.CodeUnauthorized, "wrong admin key"), 401, errorBody{"unauthorized", "wrong admin key"}, false},
		{"forbidden", market.Errorf(market.CodeForbidden, "admin API disabled"), 403, errorBody{"forbidden", "admin API disabled"}, false},
		{"unavailable", market.Errorf(market.CodeUnavailable, "store busy"), 503, errorBody{"service_unavailable", "store busy"}, false},
		{"a reason", withReason(reasonReloadFailed, market.Errorf(market.CodeUnavailable, "not loaded")), 503, errorBody{"reload_failed", "not loaded"}, false},
		{"predict", &predict.Error{Code: predict.CodeStale, Message: "old"}, 503, errorBody{"stale_features", "old"}, false},
		{"predict's unknown pair", &predict.Error{Code: predict.CodeUnknownPair, Message: "XRP"}, 404, errorBody{"unknown_pair", "XRP"}, false},
		{"timeout", context.DeadlineExceeded, 503, errorBody{"timeout", "request took longer than 5s"}, false},
		{"canceled", context.Canceled, 503, errorBody{"canceled", "request canceled"}, false},
		{"echo's own", echo.NewHTTPError(http.StatusRequestEntityTooLarge), 413, errorBody{"request_entity_too_large", "Request Entity Too Large"}, false},
		{"echo's, our message", echo.NewHTTPError(http.StatusNotFound, "GET /a.js: Not Found"), 404, errorBody{"not_found", "GET /a.js: Not Found"}, false},
		{"internal", market.Errorf(market.CodeInternal, "secret path"), 500, errorBody{"internal", "internal error"}, true},
		{"plain", io.ErrUnexpectedEOF, 500, errorBody{"internal", "internal error"}, true},
		{"unknown code", &market.Error{Code: "weird", Message: "x"}, 500, errorBody{"internal", "internal error"}, true},
	} {
		status, body, internal := s.classify(tc.err, c)
		if status != tc.status || body != tc.body || internal != tc.internal {
			t.Errorf("%s: %d %+v internal=%v, want %d %+v internal=%v", tc.name, status, body, internal, tc.status, tc.body, tc.internal)
		}
	}
}

// Every code has its status, and only the internal one is a 500.
func TestEveryCodeHasAStatus(t *testing.T) {
	for _, code := range []string{market.CodeInvalid, market.CodeNotFound, market.CodeConflict, market.CodeUnavailable,
		market.CodeUnauthorized, market.CodeForbidden, market.CodeInternal} {
		st, ok := httpStatus[code]
		if !ok || (st == http.StatusInternalServerError) != (code == market.CodeInternal) {
			t.Errorf("code %s: status %d", code, st)
		}
	}
	for reason, code := range predictCodes {
		if _, ok := httpStatus[code]; !ok {
			t.Errorf("predict's %s: code %q has no status", reason, code)
		}
	}
}
