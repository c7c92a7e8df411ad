package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/tickcast/tickcast/kraken"
)

// The Kraken endpoint variables, shared with connect/pipelines/live.yaml.
const (
	envKrakenWS   = "TICKCAST_KRAKEN_WS_URL"
	envKrakenREST = "TICKCAST_KRAKEN_REST_URL"
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
			"Kraken WebSocket v2 endpoint ($"+envKrakenWS+"; default "+kraken.DefaultURL+")")
	} else {
		k.ws = getenv(envKrakenWS)
	}
	fs.StringVar(&k.rest, "kraken-rest-url", getenv(envKrakenREST),
		"Kraken REST base URL of gap repair and backfills, e.g. http://127.0.0.1:9000 for a fake Kraken ($"+envKrakenREST+"; default "+
			kraken.DefaultRESTURL+" when the WebSocket is Kraken's)")
}

// resolve fills the defaults and checks that the two endpoints belong
// together (kraken.ResolveEndpoints).
func (k *krakenFlags) resolve() error {
	ws, rest, err := kraken.ResolveEndpoints(k.ws, k.rest)
	switch {
	case errors.Is(err, kraken.ErrNoRESTURL):
		return fmt.Errorf("%w; set --kraken-rest-url (or $%s) to the REST base of the same exchange: %w", err, envKrakenREST, errUsage)
	case err != nil:
		return fmt.Errorf("%w: %w", err, errUsage)
	}
	k.ws, k.rest = ws, rest
	return nil
}
