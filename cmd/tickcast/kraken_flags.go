package main

import (
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/tickcast/tickcast/kraken"
)

// The Kraken endpoint variables, shared with connect/pipelines/live.yaml.
const (
	envKrakenWS   = "TICKCAST_KRAKEN_WS_URL"
	envKrakenREST = "TICKCAST_KRAKEN_REST_URL"
	krakenWSURL   = "wss://ws.kraken.com/v2"
)

// krakenFlags are the one Kraken endpoint setting of every command that
// talks to Kraken: the WebSocket (run) and the REST base (gap repair,
// backfills). A flag beats its environment variable, which beats the public
// Kraken. A WebSocket that is not the public Kraken's never gets the public
// REST silently: resolve asks for the REST base too.
type krakenFlags struct {
	ws, rest string
	withWS   bool
}

// register adds --kraken-url (when withWS) and --kraken-rest-url.
func (k *krakenFlags) register(fs *flag.FlagSet, getenv func(string) string, withWS bool) {
	k.withWS = withWS
	if withWS {
		fs.StringVar(&k.ws, "kraken-url", getenv(envKrakenWS),
			"Kraken WebSocket v2 endpoint ($"+envKrakenWS+"; default "+krakenWSURL+")")
	} else {
		k.ws = getenv(envKrakenWS)
	}
	fs.StringVar(&k.rest, "kraken-rest-url", getenv(envKrakenREST),
		"Kraken REST base URL of gap repair and backfills, e.g. http://127.0.0.1:9000 for a fake Kraken ($"+envKrakenREST+"; default "+
			kraken.DefaultRESTURL+" when the WebSocket is Kraken's)")
}

// resolve fills the defaults and checks that the two endpoints belong together.
func (k *krakenFlags) resolve() error {
	for _, u := range []struct{ name, v string }{{"--kraken-url", k.ws}, {"--kraken-rest-url", k.rest}} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || p.Scheme == "" || p.Host == "" {
			return fmt.Errorf("%s %q: want an absolute URL: %w", u.name, u.v, errUsage)
		}
	}
	if k.ws == "" {
		k.ws = krakenWSURL
	}
	if k.rest != "" {
		return nil
	}
	if isPublicKraken(k.ws) {
		k.rest = kraken.DefaultRESTURL
		return nil
	}
	return fmt.Errorf("the Kraken WebSocket %s is not Kraken's, and no REST base is given: "+
		"set --kraken-rest-url (or $%s) to the REST endpoint of the same exchange "+
		"(for a fake Kraken on the same address: %s), so that gap repair and backfills do not go to %s: %w",
		k.ws, envKrakenREST, restOf(k.ws), kraken.DefaultRESTURL, errUsage)
}

// isPublicKraken tells whether wsURL is Kraken's public WebSocket host.
func isPublicKraken(wsURL string) bool {
	u, err := url.Parse(wsURL)
	return err == nil && strings.EqualFold(u.Hostname(), "ws.kraken.com")
}

// restOf is the REST base a fake Kraken at wsURL serves (it serves both on
// one address); only a hint in an error message, never used silently.
func restOf(wsURL string) string {
	u, err := url.Parse(wsURL)
	if err != nil {
		return "http://HOST:PORT"
	}
	return "http://" + u.Host
}
