package kraken

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNoRESTURL: a WebSocket that is not Kraken's public one came without the
// REST base of the same exchange. ResolveEndpoints never fills in Kraken's
// public REST for it: gap repair and backfills would ask another exchange
// than the stream's.
var ErrNoRESTURL = errors.New("kraken: no REST base URL")

// ResolveEndpoints fills in Kraken's public WebSocket (DefaultURL) for an
// empty ws, and Kraken's public REST (DefaultRESTURL) for an empty rest when
// the WebSocket is Kraken's; both, when given, must be absolute URLs.
func ResolveEndpoints(ws, rest string) (string, string, error) {
	if ws == "" {
		ws = DefaultURL
	}
	wsURL, err := absolute("WebSocket", ws)
	if err != nil {
		return "", "", err
	}
	if rest != "" {
		if _, err := absolute("REST base", rest); err != nil {
			return "", "", err
		}
		return ws, rest, nil
	}
	if !strings.EqualFold(wsURL.Hostname(), "ws.kraken.com") {
		// A fake Kraken serves both on one address: only a hint, never used silently.
		return "", "", fmt.Errorf("%w: the WebSocket %s is not Kraken's, and gap repair and backfills must not go to %s "+
			"(for a fake Kraken on the same address, the REST base is http://%s)", ErrNoRESTURL, ws, DefaultRESTURL, wsURL.Host)
	}
	return ws, DefaultRESTURL, nil
}

func absolute(name, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("kraken: %s URL %q: want an absolute URL", name, s)
	}
	return u, nil
}
