package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
)

func TestPredictionCached(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	var first, second, fresh predict.Prediction
	f.get("/v1/predictions/ETH-USDT?horizon=1", http.StatusOK, &first)
	f.get("/v1/predictions/ethusdt", http.StatusOK, &second)
	f.get("/v1/predictions/ETH-USDT", http.StatusOK, &fresh, "Cache-Control", "max-age=0, No-Cache")
	if first.Cached || !second.Cached || fresh.Cached {
		t.Fatalf("cached = %v, %v, %v; want false, true, false", first.Cached, second.Cached, fresh.Cached)
	}
	if first.Pair != ethSlug || first.Model.Name != registry.BaselineName || first.PredictedReturn != 0 || first.LastPrice <= 0 {
		t.Fatalf("first = %+v", first)
	}
	if !second.AsOf.Equal(first.AsOf) || second.Model != first.Model {
		t.Fatalf("cached answer %+v differs from %+v", second, first)
	}
	// Every serve was recorded for scoring (deduplicated).
	hist := struct{ History []struct{ Served int } }{}
	f.get("/v1/predictions/ETH-USDT/history", http.StatusOK, &hist)
	if len(hist.History) != 1 || hist.History[0].Served != 3 {
		t.Fatalf("history = %+v, want one prediction served 3 times", hist)
	}
}

func TestPredictionErrors(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	tests := []struct {
		target string
		status int
		code   string
	}{
		{"/v1/predictions/not_a-pair!", http.StatusBadRequest, "bad_request"},
		{"/v1/predictions/ETH-USDT?horizon=0", http.StatusBadRequest, "bad_request"},
		{"/v1/predictions/ETH-USDT?horizon=x", http.StatusBadRequest, "bad_request"},
		{"/v1/predictions/ETH-USDT?allow_stale=maybe", http.StatusBadRequest, "bad_request"},
		{"/v1/predictions/ETH-USDT?horizon=5", http.StatusNotFound, "no_model"},
		{"/v1/predictions/DOGE-EUR", http.StatusNotFound, "unknown_pair"},
		{"/v1/nope", http.StatusNotFound, "not_found"},
		{"/v1/candles/BAD!", http.StatusBadRequest, "bad_request"},
		{"/v1/candles/ETH-USDT?limit=100000", http.StatusBadRequest, "bad_request"},
		{"/v1/models/3", http.StatusBadRequest, "bad_request"},
		{"/v1/models/v77?pair=ETH-USDT", http.StatusNotFound, "not_found"},
		{"/v1/models/vx?pair=ETH-USDT", http.StatusBadRequest, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			var e errorBody
			f.get(tt.target, tt.status, &e)
			if e.Error != tt.code || e.Message == "" {
				t.Fatalf("error %+v, want code %s and a message", e, tt.code)
			}
		})
	}
	rec := f.do(http.MethodDelete, "/v1/scores")
	var e errorBody
	decode(t, rec.Result(), http.StatusMethodNotAllowed, &e)
	if e.Error != "method_not_allowed" || rec.Header().Get("Allow") == "" {
		t.Fatalf("405: %+v, Allow %q", e, rec.Header().Get("Allow"))
	}
}

func TestPredictionsAll(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	if _, err := f.reg.EnsureBaseline(ctx, "BTC/USDT", 1); err != nil { // a champion without features
		t.Fatal(err)
	}
	if err := f.pred.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var out predictionsResponse
	f.get("/v1/predictions", http.StatusOK, &out)
	if len(out.Predictions) != 1 || out.Predictions[0].Pair != ethSlug {
		t.Fatalf("predictions = %+v", out.Predictions)
	}
	if len(out.Errors) != 1 || out.Errors[0].Pair != "BTC-USDT" || out.Errors[0].Horizon != 1 || out.Errors[0].Error != predict.CodeNoFeatures {
		t.Fatalf("errors = %+v", out.Errors)
	}
}

func TestStaleAndWarmingUp(t *testing.T) {
	f := newFixture(t, fixtureOpts{noRows: true, speed: 3600})
	f.latest.Put(f.data.rows[10]) // a cold row: fewer than FeatureWindow candles behind it
	f.clock.Observe(f.data.rows[10].TS)
	var e errorBody
	f.get("/v1/predictions/ETH-USDT", http.StatusServiceUnavailable, &e)
	if e.Error != predict.CodeWarmingUp {
		t.Fatalf("cold row: %+v", e)
	}
	f.feed(1)
	time.Sleep(150 * time.Millisecond) // 150ms at 3600× is 9 market minutes: over the 2-minute budget
	f.get("/v1/predictions/ETH-USDT", http.StatusServiceUnavailable, &e)
	if e.Error != predict.CodeStale {
		t.Fatalf("old row: %+v", e)
	}
	var p predict.Prediction
	f.get("/v1/predictions/ETH-USDT?allow_stale=true", http.StatusOK, &p)
	if !p.Stale || p.FeatureAgeMS < 2*60*1000 {
		t.Fatalf("allow_stale: %+v", p)
	}
}

func TestReadyz(t *testing.T) {
	f := newFixture(t, fixtureOpts{noBaseline: true, noRows: true, speed: 3600})
	var st statusJSON
	f.get("/readyz", http.StatusServiceUnavailable, &st)
	if st.Status != "not_ready" || !strings.Contains(st.Reason, "champion") {
		t.Fatalf("empty registry: %+v", st)
	}
	if _, err := f.reg.EnsureBaseline(context.Background(), ethPair, 1); err != nil {
		t.Fatal(err)
	}
	if err := f.pred.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.get("/readyz", http.StatusServiceUnavailable, &st)
	if st.Status != "not_ready" || !strings.Contains(st.Reason, "feature") {
		t.Fatalf("no rows: %+v", st)
	}
	f.feed(1)
	f.get("/readyz", http.StatusOK, &st)
	if st.Status != "ready" {
		t.Fatalf("fresh row: %+v", st)
	}
	time.Sleep(150 * time.Millisecond) // 9 market minutes at 3600×
	f.get("/readyz", http.StatusServiceUnavailable, &st)
	if !strings.Contains(st.Reason, "budget") {
		t.Fatalf("old row: %+v", st)
	}
	f.get("/healthz", http.StatusOK, &st)
	if st.Status != "ok" {
		t.Fatalf("healthz: %+v", st)
	}
}

func TestPromoteRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a real XGBoost model")
	}
	f := newFixture(t, fixtureOpts{})
	v1 := f.register()
	served := func() predict.ModelRef {
		var p predict.Prediction
		f.get("/v1/predictions/ETH-USDT", http.StatusOK, &p)
		return p.Model
	}
	if m := served(); m.Version != 0 {
		t.Fatalf("before promotion: served %+v", m)
	}
	auth := "Bearer " + adminKey

	var ch modelChange
	decode(t, f.do(http.MethodPost, "/v1/models/v1/promote?pair=ETH-USDT&horizon=1", "Authorization", auth).Result(), http.StatusOK, &ch)
	if ch.Champion.Version != v1.Version || ch.Previous != 0 || ch.Champion.Status != registry.Champion || ch.Champion.Reason != promoteReason {
		t.Fatalf("promote: %+v", ch)
	}
	if m := served(); m.Version != v1.Version || m.Name != "xgboost" {
		t.Fatalf("after promotion: served %+v", m)
	}

	var e errorBody
	decode(t, f.do(http.MethodPost, "/v1/models/v0/rollback?pair=ETH-USDT", "Authorization", auth).Result(), http.StatusConflict, &e)
	decode(t, f.do(http.MethodPost, "/v1/models/1/rollback?pair=ETH-USDT", "Authorization", auth).Result(), http.StatusOK, &ch)
	if ch.Champion.Version != 0 || ch.Previous != v1.Version || ch.Action != "rollback" {
		t.Fatalf("rollback: %+v", ch)
	}
	if m := served(); m.Version != 0 {
		t.Fatalf("after rollback: served %+v", m)
	}

	var models struct{ Models []seriesJSON }
	f.get("/v1/models?pair=eth/usdt", http.StatusOK, &models)
	if len(models.Models) != 1 || *models.Models[0].Champion != 0 || len(models.Models[0].Versions) != 2 {
		t.Fatalf("models: %+v", models)
	}
	var meta registry.Meta
	f.get("/v1/models/latest?pair=ETH-USDT", http.StatusOK, &meta)
	if meta.Version != v1.Version || meta.Pair != ethSlug {
		t.Fatalf("latest: %+v", meta)
	}
}

func TestAdminAuth(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for _, hdr := range []string{"", "Bearer", "Bearer wrong", "Basic " + adminKey, "Bearer " + adminKey + "x"} {
		rec := f.do(http.MethodPost, "/v1/models/0/promote?pair=ETH-USDT", "Authorization", hdr)
		var e errorBody
		decode(t, rec.Result(), http.StatusUnauthorized, &e)
		if e.Error != "unauthorized" || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("%q: %+v %v", hdr, e, rec.Header())
		}
	}
	// The right key, in any scheme case, passes.
	decode(t, f.do(http.MethodPost, "/v1/models/0/promote?pair=ETH-USDT", "Authorization", "bearer "+adminKey).Result(), http.StatusOK, nil)

	none := ""
	g := newFixture(t, fixtureOpts{adminKey: &none})
	var e errorBody
	decode(t, g.do(http.MethodPost, "/v1/models/0/rollback?pair=ETH-USDT", "Authorization", "Bearer ").Result(), http.StatusForbidden, &e)
	if !strings.Contains(e.Message, "admin API disabled") {
		t.Fatalf("disabled: %+v", e)
	}
}

func TestTimeout(t *testing.T) {
	f := newFixture(t, fixtureOpts{timeout: time.Nanosecond})
	var e errorBody
	rec := f.do(http.MethodGet, "/v1/models")
	decode(t, rec.Result(), http.StatusServiceUnavailable, &e)
	if e.Error != "timeout" {
		t.Fatalf("timeout: %+v", e)
	}
}

func TestPanicIs500(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.srv.echo.GET("/panic", func(echo.Context) error { panic("boom") })
	var e errorBody
	decode(t, f.do(http.MethodGet, "/panic").Result(), http.StatusInternalServerError, &e)
	if e.Error != "internal" || strings.Contains(e.Message, "boom") {
		t.Fatalf("panic: %+v", e)
	}
	f.get("/healthz", http.StatusOK, nil) // still serving
}

func TestCandlesScoresInfoMetrics(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.feed(2)
	var cs struct {
		Pair    string
		Candles []struct {
			Pair  string
			Close float64
			Start time.Time
		}
	}
	f.get("/v1/candles/ETHUSDT?limit=2", http.StatusOK, &cs)
	if cs.Pair != ethSlug || len(cs.Candles) != 2 || cs.Candles[1].Close != f.data.candles[f.next-1].Close {
		t.Fatalf("candles: %+v", cs)
	}
	var info infoResponse
	f.get("/v1/info", http.StatusOK, &info)
	if len(info.Pairs) != 1 || info.Pairs[0] != ethSlug || info.Links.TemporalUI == "" || !info.Admin || len(info.Champions) != 1 {
		t.Fatalf("info: %+v", info)
	}
	// A served prediction, realized by the next row, is scored.
	f.get("/v1/predictions/ETH-USDT", http.StatusOK, nil)
	rows := make(chan market.FeatureRow, 1)
	rows <- f.feed(1)
	close(rows)
	f.pred.Follow(context.Background(), rows, predict.Pushes{Scores: f.scorer, Hub: f.hub, Clock: f.clock})
	var sc struct{ Scores []scoreJSON }
	f.get("/v1/scores", http.StatusOK, &sc)
	if len(sc.Scores) != 1 || sc.Scores[0].N != 1 {
		t.Fatalf("scores: %+v", sc)
	}
	if w := sc.Scores[0].Windows; w["1h"].Candles != 60 || w["1h"].Return.N != 1 || w["1d"].Candles != 1440 || w["1d"].Return.N != 1 {
		t.Errorf("windows: %+v", w)
	}
	f.get("/v1/nothing-here", http.StatusNotFound, nil)
	rec := f.do(http.MethodGet, "/metrics")
	body := rec.Body.String()
	for _, want := range []string{
		`tickcast_http_request_duration_seconds_count{code="200",method="GET",route="/v1/candles/:pair"} 1`,
		`tickcast_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`tickcast_prediction_cache_total{result="miss"}`,
		`tickcast_model_version{horizon="1",name="zero-return",pair="ETH-USDT"} 0`,
		`tickcast_feature_age_seconds{pair="ETH-USDT"}`,
		`tickcast_prediction_mae{horizon="1",model="zero_return",pair="ETH-USDT"}`,
		`tickcast_prediction_skill{horizon="1",pair="ETH-USDT"}`,
		`tickcast_predictions_scored{horizon="1",pair="ETH-USDT"} 1`,
		`tickcast_prequential_n{horizon="1",pair="ETH-USDT",product="return",window="1h"} 1`,
		`tickcast_prequential_n{horizon="1",pair="ETH-USDT",product="vol",window="1d"} 0`,
		`tickcast_prequential_skill{horizon="1",pair="ETH-USDT",product="return",window="1d"}`,
		`tickcast_prequential_loss{horizon="1",model="baseline",pair="ETH-USDT",product="return",window="1h"}`,
		`tickcast_stream_clients 0`, `tickcast_stream_dropped_total 0`, `tickcast_prediction_cache_errors_total 0`,
		`go_goroutines`, `process_`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func TestServeShutsDown(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	waitHealthy(t, base)

	ws, res, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/v1/stream", nil)
	if res != nil {
		res.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	// The stream client was told the server is going away.
	if err := ws.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Fatalf("stream ended with %v, want 1001 going away", err)
			}
			break
		}
	}
	if res, err := http.Get(base + "/healthz"); err == nil {
		res.Body.Close()
		t.Fatal("still serving after shutdown")
	}
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy: %v", errors.Join(err))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
