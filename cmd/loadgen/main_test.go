package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/stream"
)

func runJSON[T any](t *testing.T, args ...string) (T, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("run %v: %v\nstderr: %s", args, err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a JSON line and a human line, got %q", out.String())
	}
	var s T
	if err := json.Unmarshal([]byte(lines[0]), &s); err != nil {
		t.Fatalf("JSON line %q: %v", lines[0], err)
	}
	return s, lines[1]
}

func TestHTTPConstantRate(t *testing.T) {
	var n, withHeader atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") == "k1" {
			withHeader.Add(1)
		}
		if n.Add(1)%10 == 0 {
			http.Error(w, `{"error":"stale_features"}`, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"pair":"ETH-USDT"}`))
	}))
	var newConns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	s, human := runJSON[HTTPSummary](t, "http", "--url", srv.URL+"/v1/predictions/ETH-USDT",
		"--rate", "400", "--duration", "1s", "--conns", "4", "--header", "X-Api-Key: k1")
	t.Log(human)
	if s.Scheduled != 400 || s.Requests != 400 || s.Errors != 0 || s.Non2xx != 40 || s.Status["200"] != 360 || s.Status["503"] != 40 {
		t.Fatalf("summary %+v: want 400 requests, 40 of them 503", s)
	}
	if withHeader.Load() != 400 {
		t.Fatalf("%d requests carried the header, want 400", withHeader.Load())
	}
	if got := newConns.Load(); got > 4 {
		t.Fatalf("%d connections opened, want at most 4 kept alive", got)
	}
	if s.AchievedRPS < 300 || s.AchievedRPS > 440 || s.LatencyMS.P50 <= 0 || s.LatencyMS.Max < s.LatencyMS.P99 {
		t.Fatalf("summary %+v: implausible rate or latency", s)
	}
}

// TestHTTPNoCoordinatedOmission: one request stalls the only connection
// for 200ms; the requests scheduled meanwhile wait, and that wait counts,
// so p90 shows the stall (a closed-loop tool would report one slow request
// and a fast p90).
func TestHTTPNoCoordinatedOmission(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			time.Sleep(200 * time.Millisecond)
		}
	}))
	defer srv.Close()
	s, human := runJSON[HTTPSummary](t, "http", "--url", srv.URL, "--rate", "100", "--duration", "1s", "--conns", "1")
	t.Log(human)
	if s.Requests != 100 || s.LatencyMS.Max < 200 || s.LatencyMS.P90 < 50 || s.MaxLateMS < 150 {
		t.Fatalf("summary %+v: the stall's queueing is not in the latencies", s)
	}
}

func TestHTTPFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"tcp"},
		{"http"},
		{"http", "--url", "http://x", "--rate", "0"},
		{"http", "--url", "http://x", "--header", "novalue"},
		{"ws", "--url", "ws://x", "--clients", "-1"},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}

// TestWSFanout listens with 20 clients to a real hub publishing
// hand-written predictions every 10ms.
func TestWSFanout(t *testing.T) {
	hub := stream.NewHub(stream.Config{})
	srv := httptest.NewServer(hub)
	defer srv.Close()
	defer hub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		asOf := time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			hub.Publish(predict.Prediction{Pair: "ETH-USDT", Horizon: 1, AsOf: asOf.Add(time.Duration(i) * time.Minute),
				PredictedReturn: 0.0004, LastPrice: 2203.17, PredictedPrice: 2204.05})
		}
	}()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "?pairs=ETH-USDT"
	s, human := runJSON[WSSummary](t, "ws", "--url", url, "--clients", "20", "--duration", "1500ms")
	t.Log(human)
	if s.Connected != 20 || s.DialErrors != 0 || s.Disconnected != 0 || s.Lost != 0 || s.BadFrames != 0 {
		t.Fatalf("summary %+v: want 20 healthy clients, nothing lost", s)
	}
	if s.Published < 20 || s.Frames < int64(20*s.Published) || s.LatencyMS.Max <= 0 {
		t.Fatalf("summary %+v: too few frames", s)
	}
}
