package connect

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tickcast/tickcast/kraken"
)

// timeServer answers Kraken's REST Time with the exchange clock ex(wall)
// (a hand-written fixture of the documented reply).
func timeServer(t *testing.T, ex func(time.Time) time.Time) *kraken.REST {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"error":[],"result":{"unixtime":%d,"rfc1123":"x"}}`, ex(time.Now()).Unix())
	}))
	t.Cleanup(hs.Close)
	rest, err := kraken.NewREST(kraken.RESTConfig{BaseURL: hs.URL, RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	return rest
}

// A replay's exchange clock runs at its speed from the sample; live, the
// host clock plus the measured offset; as fast as possible, none.
func TestExchangeClock(t *testing.T) {
	origin := time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	log := slog.New(slog.DiscardHandler)
	t.Run("replay at 60x", func(t *testing.T) {
		rest := timeServer(t, func(w time.Time) time.Time { return origin.Add(time.Duration(float64(w.Sub(start)) * 60)) })
		var c exchangeClock
		c.prime(context.Background(), rest, 60, log)
		now := time.Now()
		got, ok := c.now(now)
		want := origin.Add(time.Duration(float64(now.Sub(start)) * 60))
		if d := got.Sub(want); !ok || d < -time.Second || d > 2*time.Second { // unixtime has 1 s resolution
			t.Fatalf("exchange clock %s (ok %v), want %s ± 1s", got, ok, want)
		}
	})
	t.Run("live: host clock plus offset", func(t *testing.T) {
		const skew = 42 * time.Second
		rest := timeServer(t, func(w time.Time) time.Time { return w.Add(skew) })
		var c exchangeClock
		c.prime(context.Background(), rest, 1, log)
		now := time.Now()
		got, ok := c.now(now)
		if d := got.Sub(now.Add(skew)); !ok || d < -time.Second || d > time.Second {
			t.Fatalf("exchange clock %s, want host + %s", got.Sub(now), skew)
		}
	})
	t.Run("as fast as possible: no clock", func(t *testing.T) {
		rest := timeServer(t, func(w time.Time) time.Time { return w })
		var c exchangeClock
		c.prime(context.Background(), rest, 0, log)
		if _, ok := c.now(time.Now()); ok {
			t.Fatal("a clock at speed 0")
		}
	})
}
