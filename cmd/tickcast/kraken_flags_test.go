package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/kraken"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func testEnv(getenv func(string) string) env {
	return env{getenv: getenv, stdout: io.Discard, stderr: io.Discard, logger: newLogger(getenv, io.Discard)}
}

// A flag beats its environment variable, which beats the public Kraken; a
// WebSocket that is not Kraken's needs a REST base from a flag or the
// environment, never api.kraken.com by default.
func TestKrakenEndpointPrecedence(t *testing.T) {
	const (
		fakeWS   = "ws://127.0.0.1:9000/v2"
		fakeREST = "http://127.0.0.1:9000"
		otherWS  = "ws://10.0.0.1:7000/v2"
		otherRST = "http://10.0.0.1:7000"
	)
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		ws, rest string
		err      string
	}{
		{name: "defaults", ws: kraken.DefaultURL, rest: kraken.DefaultRESTURL},
		{name: "public WebSocket flag", args: []string{"--kraken-url", "wss://ws.kraken.com/v2"}, ws: "wss://ws.kraken.com/v2", rest: kraken.DefaultRESTURL},
		{name: "both flags", args: []string{"--kraken-url", fakeWS, "--kraken-rest-url", fakeREST}, ws: fakeWS, rest: fakeREST},
		{name: "both env", env: map[string]string{envKrakenWS: fakeWS, envKrakenREST: fakeREST}, ws: fakeWS, rest: fakeREST},
		{name: "flags beat env", args: []string{"--kraken-url", fakeWS, "--kraken-rest-url", fakeREST},
			env: map[string]string{envKrakenWS: otherWS, envKrakenREST: otherRST}, ws: fakeWS, rest: fakeREST},
		{name: "WebSocket flag, REST env", args: []string{"--kraken-url", fakeWS}, env: map[string]string{envKrakenREST: fakeREST}, ws: fakeWS, rest: fakeREST},
		{name: "WebSocket env, REST flag", args: []string{"--kraken-rest-url", fakeREST}, env: map[string]string{envKrakenWS: fakeWS}, ws: fakeWS, rest: fakeREST},
		{name: "REST alone", args: []string{"--kraken-rest-url", fakeREST}, ws: kraken.DefaultURL, rest: fakeREST},
		{name: "WebSocket flag alone", args: []string{"--kraken-url", fakeWS}, err: "--kraken-rest-url"},
		{name: "WebSocket env alone", env: map[string]string{envKrakenWS: fakeWS}, err: fakeREST},
		{name: "not a URL", args: []string{"--kraken-rest-url", "127.0.0.1:9000"}, err: "absolute URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseRunFlags(testEnv(envOf(tc.env)), tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, errUsage) {
					t.Fatalf("err = %v, want a usage error mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.kraken.ws != tc.ws || f.kraken.rest != tc.rest {
				t.Errorf("ws %s rest %s, want %s %s", f.kraken.ws, f.kraken.rest, tc.ws, tc.rest)
			}
		})
	}
}

// The worker and backfill take the same REST setting and the same rule.
func TestKrakenRESTOfWorkerAndBackfill(t *testing.T) {
	e := testEnv(envOf(map[string]string{envKrakenREST: "http://127.0.0.1:9000"}))
	o := defaultWorkerOptions(e.getenv, "/data")
	if err := o.kraken.resolve(); err != nil || o.kraken.rest != "http://127.0.0.1:9000" {
		t.Errorf("worker from env: %q, %v", o.kraken.rest, err)
	}
	b, err := parseBackfillFlags(e, []string{"--kraken-rest-url", "http://127.0.0.1:9001"})
	if err != nil || b.kraken.rest != "http://127.0.0.1:9001" || b.launch.kraken.rest != b.kraken.rest {
		t.Errorf("backfill flag over env: %+v, %v", b, err)
	}
	// A fake WebSocket in the environment without its REST: each command refuses.
	getenv := envOf(map[string]string{envKrakenWS: "ws://127.0.0.1:9000/v2", "TEMPORAL_ADDRESS": "127.0.0.1:1"})
	for _, args := range [][]string{
		{"worker"},
		{"backfill", "--pair", "BTC/USD"},
		{"run", "--offline"},
		{"connect", "run", "connect/pipelines/live.yaml"},
	} {
		err := run(context.Background(), args, getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), envKrakenREST) {
			t.Errorf("%v: err = %v, want one naming %s", args, err, envKrakenREST)
		}
	}
}

// Live, the pipeline gets both endpoints: the stream's and its gap repair's.
func TestLivePipelineGetsBothEndpoints(t *testing.T) {
	e := testEnv(envOf(map[string]string{envKrakenREST: "http://127.0.0.1:9000"}))
	f, err := parseRunFlags(e, []string{"--kraken-url", "ws://127.0.0.1:9000/v2"})
	if err != nil {
		t.Fatal(err)
	}
	streams, stop, err := pipelineVars(e, f, &runPlan{live: true, pairs: []string{"BTC/USD"}}, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if v := streams[0]; v[envKrakenWS] != "ws://127.0.0.1:9000/v2" || v[envKrakenREST] != "http://127.0.0.1:9000" {
		t.Errorf("pipeline variables %v", v)
	}
}
