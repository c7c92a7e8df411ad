package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/tickcast/tickcast/registry"
)

func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// testDashboard stands in for package dashboard (a hand-written page).
var testDashboard = http.FileServerFS(fstest.MapFS{
	"index.html":    {Data: []byte("<!doctype html><title>tickcast</title>")},
	"assets/app.js": {Data: []byte("console.log('tickcast')")},
	"runs":          {Data: []byte("<!doctype html><title>tickcast · training runs</title>")},
})

var echoParam = regexp.MustCompile(`:(\w+)`)

// TestOpenAPIRoutes checks that the routes and the documented operations
// are the same set.
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := loadSpec(t)
	f := newFixture(t, fixtureOpts{dashboard: testDashboard})
	var routes, documented []string
	for _, r := range f.srv.echo.Routes() {
		p := strings.ReplaceAll(echoParam.ReplaceAllString(r.Path, "{$1}"), "*", "{path}")
		routes = append(routes, r.Method+" "+p)
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	if !slices.Equal(routes, documented) {
		t.Fatalf("routes and openapi.json differ:\nroutes:     %q\ndocumented: %q", routes, documented)
	}
}

// TestOpenAPIResponses sends real requests to every route, successes and
// errors, and validates each response against openapi.json.
func TestOpenAPIResponses(t *testing.T) {
	doc, router := loadSpec(t)
	ctx := context.Background()
	f := newFixture(t, fixtureOpts{dashboard: testDashboard})
	// A second zero-return version (real registry entry, no artifact) to
	// promote and roll back, and a champion pair without features (503).
	if _, err := f.reg.Register(ctx, registry.Meta{Pair: ethPair, Horizon: 1, Name: registry.BaselineName}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.EnsureBaseline(ctx, "BTC-USDT", 1); err != nil {
		t.Fatal(err)
	}
	if err := f.pred.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + adminKey
	run := "/v1/runs/" + realRuns(t, f.dir)[0]
	tests := []struct {
		method, target string
		status         int
		hdr            []string
	}{
		{"GET", "/v1/predictions", 200, nil},
		{"GET", "/v1/predictions?horizon=1&allow_stale=true", 200, []string{"Cache-Control", "no-cache"}},
		{"GET", "/v1/predictions?horizon=-1", 400, nil},
		{"GET", "/v1/predictions/ETH-USDT", 200, nil},
		{"GET", "/v1/predictions/ETH-USDT?horizon=1", 200, nil}, // cached
		{"GET", "/v1/predictions/ETH-USDT?horizon=9", 404, nil},
		{"GET", "/v1/predictions/XRP-EUR", 404, nil},
		{"GET", "/v1/predictions/BTC-USDT", 503, nil},
		{"GET", "/v1/predictions/B!", 400, nil},
		{"POST", "/v1/predictions/ETH-USDT", 405, nil},
		{"GET", "/v1/predictions/ETH-USDT/history?limit=5", 200, nil},
		{"GET", "/v1/predictions/ETH-USDT/history?limit=0", 400, nil},
		{"GET", "/v1/candles/ETH-USDT", 200, nil},
		{"GET", "/v1/candles/XRP-EUR", 200, nil},
		{"GET", "/v1/candles/ETH-USDT?limit=-3", 400, nil},
		{"GET", "/v1/scores", 200, nil},
		{"GET", "/v1/models", 200, nil},
		{"GET", "/v1/models?pair=ETH-USDT&horizon=1", 200, nil},
		{"GET", "/v1/models?pair=%21", 400, nil},
		{"GET", "/v1/models/champion?pair=ETH-USDT", 200, nil},
		{"GET", "/v1/models/v0?pair=ETH-USDT&horizon=1", 200, nil},
		{"GET", "/v1/models/v0", 400, nil},
		{"GET", "/v1/models/v42?pair=ETH-USDT", 404, nil},
		{"POST", "/v1/models/v1/promote?pair=ETH-USDT", 401, nil},
		{"POST", "/v1/models/v42/promote?pair=ETH-USDT", 404, []string{"Authorization", auth}},
		{"POST", "/v1/models/v1/promote?pair=ETH-USDT&horizon=x", 400, []string{"Authorization", auth}},
		{"POST", "/v1/models/v1/promote?pair=ETH-USDT", 200, []string{"Authorization", auth}},
		{"GET", "/v1/predictions/ETH-USDT", 200, nil}, // served by v1
		{"POST", "/v1/models/v0/rollback?pair=ETH-USDT", 409, []string{"Authorization", auth}},
		{"POST", "/v1/models/champion/rollback?pair=ETH-USDT", 200, []string{"Authorization", auth}},
		{"POST", "/v1/models/v0/rollback?pair=ETH-USDT", 404, []string{"Authorization", auth}}, // no earlier champion
		{"POST", "/v1/models/v0/rollback?pair=ETH-USDT", 401, []string{"Authorization", "Bearer nope"}},
		{"GET", "/v1/models/v1/promote", 405, nil},
		{"GET", "/v1/runs", 200, nil},
		{"GET", "/v1/runs?pair=ETH-USDT&horizon=1", 200, nil},
		{"GET", "/v1/runs?horizon=0", 400, nil},
		{"GET", run, 200, nil},
		{"GET", "/v1/runs/nope", 400, nil},
		{"GET", "/v1/runs/ETH-USDT.h1.nope", 404, nil},
		{"GET", run + "/compare/" + strings.TrimPrefix(run, "/v1/runs/"), 200, nil},
		{"GET", run + "/compare/ETH-USDT.h1.nope", 404, nil},
		{"GET", run + "/files/residuals.svg", 200, nil},
		{"GET", run + "/files/metrics.json", 200, nil},
		{"GET", run + "/files/..%2Fsecret.json", 400, nil},
		{"GET", run + "/files/model.ubj", 404, nil},
		{"GET", "/v1/info", 200, nil},
		{"GET", "/v1/stream", 400, nil}, // not an upgrade; the upgrade itself is TestFollowPublishes
		{"GET", "/healthz", 200, nil},
		{"GET", "/readyz", 200, nil},
		{"PUT", "/readyz", 405, nil},
		{"GET", "/metrics", 200, nil},
		{"GET", "/openapi.json", 200, nil},
		{"GET", "/", 200, nil},
		{"GET", "/runs", 200, nil},
		{"GET", "/assets/app.js", 200, nil},
		{"GET", "/assets/nope.js", 404, nil},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.target, nil)
		for i := 0; i+1 < len(tt.hdr); i += 2 {
			req.Header.Set(tt.hdr[i], tt.hdr[i+1])
		}
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d; body %s", tt.method, tt.target, rec.Code, tt.status, rec.Body)
			continue
		}
		if op := validateAgainstSpec(t, router, req, rec); op != "" {
			covered[op] = true
		}
	}
	// The timeout answer and readyz's 503, from servers in those states.
	slow := newFixture(t, fixtureOpts{timeout: 1})
	cold := newFixture(t, fixtureOpts{noRows: true})
	for _, c := range []struct {
		f      *fixture
		target string
	}{{slow, "/v1/models"}, {cold, "/readyz"}} {
		req := httptest.NewRequest("GET", c.target, nil)
		rec := httptest.NewRecorder()
		c.f.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503", c.target, rec.Code)
		}
		validateAgainstSpec(t, router, req, rec)
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !covered[method+" "+path] {
				t.Errorf("no request exercised %s %s", method, path)
			}
		}
	}
}

// validateAgainstSpec validates a response (and, for a success, its
// request) against the spec; it returns the operation as "METHOD path".
func validateAgainstSpec(t *testing.T, router routers.Router, req *http.Request, rec *httptest.ResponseRecorder) string {
	t.Helper()
	req = req.Clone(context.Background())
	req.URL.Scheme, req.URL.Host = "", "" // match the spec's relative server
	route, params, err := router.FindRoute(req)
	if errors.Is(err, routers.ErrMethodNotAllowed) && rec.Code == http.StatusMethodNotAllowed {
		// A 405 is documented on the operations the path does have.
		for m := range strings.SplitSeq(rec.Header().Get("Allow"), ",") {
			other := req.Clone(context.Background())
			other.Method = strings.TrimSpace(m)
			if route, params, err = router.FindRoute(other); err == nil {
				break
			}
		}
	}
	if err != nil {
		t.Errorf("%s %s: not in openapi.json: %v", req.Method, req.URL, err)
		return ""
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if rec.Code < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s: request does not match openapi.json: %v", req.Method, req.URL, err)
		}
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: opts,
	})
	if err != nil {
		t.Errorf("%s %s → %d: response does not match openapi.json: %v\nbody: %.500s", req.Method, req.URL, rec.Code, err, rec.Body)
	}
	return req.Method + " " + route.Path
}
