package kraken

import (
	"errors"
	"strings"
	"testing"
)

// Empty endpoints are the public Kraken's; a WebSocket that is not Kraken's
// never gets Kraken's public REST.
func TestResolveEndpoints(t *testing.T) {
	const fakeWS, fakeREST = "ws://127.0.0.1:9000/v2", "http://127.0.0.1:9000"
	for _, tc := range []struct {
		name, ws, rest   string
		wantWS, wantREST string
		err              string
		noREST           bool
	}{
		{name: "defaults", wantWS: DefaultURL, wantREST: DefaultRESTURL},
		{name: "public WebSocket", ws: "wss://WS.kraken.com/v2", wantWS: "wss://WS.kraken.com/v2", wantREST: DefaultRESTURL},
		{name: "both", ws: fakeWS, rest: fakeREST, wantWS: fakeWS, wantREST: fakeREST},
		{name: "REST alone", rest: fakeREST, wantWS: DefaultURL, wantREST: fakeREST},
		{name: "fake WebSocket alone", ws: fakeWS, err: fakeREST, noREST: true},
		{name: "REST not absolute", ws: fakeWS, rest: "127.0.0.1:9000", err: "absolute URL"},
		{name: "WebSocket not absolute", ws: "/v2", rest: fakeREST, err: "absolute URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, rest, err := ResolveEndpoints(tc.ws, tc.rest)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || errors.Is(err, ErrNoRESTURL) != tc.noREST {
					t.Fatalf("err = %v, want one mentioning %q (ErrNoRESTURL: %v)", err, tc.err, tc.noREST)
				}
				return
			}
			if err != nil || ws != tc.wantWS || rest != tc.wantREST {
				t.Errorf("got %s %s %v, want %s %s", ws, rest, err, tc.wantWS, tc.wantREST)
			}
		})
	}
}
