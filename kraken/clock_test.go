package kraken

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// timeServer is a hand-written fixture of Kraken's Time (the shape of the
// example in Kraken's API reference): the host clock plus skew, truncated
// to the second as Kraken's unixtime is taken to be.
func timeServer(tb testing.TB, skew time.Duration) (*httptest.Server, *atomic.Int64) {
	tb.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/0/public/Time" {
			http.NotFound(w, r)
			return
		}
		calls.Add(1)
		now := time.Now().Add(skew).UTC()
		fmt.Fprintf(w, `{"error":[],"result":{"unixtime":%d,"rfc1123":%q}}`, now.Unix(), now.Format("Mon, 02 Jan 06 15:04:05 -0700"))
	}))
	tb.Cleanup(srv.Close)
	return srv, &calls
}

func clockREST(tb testing.TB, base string, cfg RESTConfig) *REST {
	tb.Helper()
	cfg.BaseURL = base
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = -1
	}
	cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, time.Millisecond
	c, err := NewREST(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestRESTTime(t *testing.T) {
	srv, _ := timeServer(t, 0)
	got, err := clockREST(t, srv.URL, RESTConfig{}).Time(context.Background())
	if now := time.Now(); err != nil || got.Nanosecond() != 0 || got.After(now) || now.Sub(got) > 2*time.Second {
		t.Fatalf("Time = %s, %v; host %s", got, err, now)
	}
}

func TestParseServerTime(t *testing.T) {
	ok := `{"unixtime":1688669448,"rfc1123":"Thu, 06 Jul 23 18:50:48 +0000"}` // Kraken's documented example
	if got, err := parseServerTime([]byte(ok)); err != nil || !got.Equal(time.Date(2023, 7, 6, 18, 50, 48, 0, time.UTC)) {
		t.Fatalf("parseServerTime = %s, %v", got, err)
	}
	for _, bad := range []string{`{}`, `{"unixtime":null}`, `{"unixtime":-5}`, `{"unixtime":0}`, `{"unixtime":1.5}`,
		`{"unixtime":"soon"}`, `{"unixtime":99999999999999}`, `[]`} {
		if _, err := parseServerTime([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", bad, err)
		}
	}
}

// Each sample bounds the offset to [server − recv, server + 1 s − send];
// the estimate intersects the newest samples that agree.
func TestClockOffsetEstimate(t *testing.T) {
	host := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	// A sample sent at host+t, answered rtt later with unixtime u (s after host).
	sample := func(t, rtt float64, u int) offsetBounds {
		send, recv := host.Add(sec(t)), host.Add(sec(t+rtt))
		server := host.Add(time.Duration(u) * time.Second)
		return offsetBounds{lo: server.Sub(recv), hi: server.Add(time.Second).Sub(send), rtt: sec(rtt), at: recv}
	}
	c := NewClockOffset(nil, 0, nil)
	if _, ok := c.Offset(); ok || !c.Now(host).Equal(host) {
		t.Fatal("an offset before any sample")
	}
	steps := []struct {
		b             offsetBounds
		offset, uncty float64
		samples       int
	}{
		// True offset 6.3 s. Sent at 0.2, back at 0.4: Kraken saw 6.5..6.7 → unixtime 6.
		{sample(0.2, 0.2, 6), 6.2, 0.6, 1}, // [5.6, 6.8]: midpoint + 0.5 s, ±(0.5 + rtt/2)
		// Sent at 600.9: Kraken saw 607.2..607.3 → 607: [6.0, 7.1] ∩ → [6.0, 6.8].
		{sample(600.9, 0.1, 607), 6.4, 0.4, 2},
		// Sent at 1200.5: Kraken saw 1206.8..1206.9 → 1206: [5.4, 6.5] ∩ → [6.0, 6.5].
		{sample(1200.5, 0.1, 1206), 6.25, 0.25, 3},
		// The host clock was stepped 30 s back: disagrees, the old ones go.
		{sample(1800, 0.1, 1836), 36.45, 0.55, 1},
	}
	for i, s := range steps {
		est := c.add(s.b)
		if d := est.Offset - sec(s.offset); d < -time.Microsecond || d > time.Microsecond ||
			(est.Uncertainty-sec(s.uncty)).Abs() > time.Microsecond || est.Samples != s.samples {
			t.Fatalf("step %d: %+v, want offset %vs ± %vs of %d samples", i, est, s.offset, s.uncty, s.samples)
		}
	}
	if got, want := c.Now(host), host.Add(sec(36.45)); got.Sub(want).Abs() > time.Microsecond {
		t.Fatalf("Now = %s, want %s", got, want)
	}
	for i := range 10 { // still 36.3 s at other phases: bounded, the oldest drop out
		t0 := 2400 + float64(i)*600.13
		est := c.add(sample(t0, 0.1, int(math.Floor(t0+36.3+0.05))))
		if (est.Offset - sec(36.3)).Abs() > est.Uncertainty {
			t.Fatalf("sample %d: %+v excludes the true offset", i, est)
		}
	}
	if est, _ := c.Estimate(); est.Samples != clockSamples || len(c.samples) != clockSamples || est.Uncertainty >= sec(0.5) {
		t.Fatalf("%+v from %d samples, want %d narrower than ±0.5 s", est, len(c.samples), clockSamples)
	}
}

// Over real HTTP the true offset (the server's skew) is always within the
// estimate's bounds, and the bounds are those of one sample: ±0.5 s + RTT/2.
func TestClockOffsetSample(t *testing.T) {
	for _, skew := range []time.Duration{0, 3700 * time.Millisecond, -42*time.Second - 250*time.Millisecond} {
		srv, _ := timeServer(t, skew)
		c := NewClockOffset(clockREST(t, srv.URL, RESTConfig{}), time.Minute, nil)
		for range 3 {
			if err := c.Sample(context.Background()); err != nil {
				t.Fatal(err)
			}
			est, ok := c.Estimate()
			if !ok || (est.Offset-skew).Abs() > est.Uncertainty || est.Uncertainty > time.Second/2+est.RTT/2+time.Millisecond {
				t.Fatalf("skew %s: estimate %+v", skew, est)
			}
		}
	}
}

// The send/receive window is the last HTTP attempt's, not the wait for
// the rate limiter: a sample queued behind another stays precise.
func TestClockOffsetExcludesLimiterWait(t *testing.T) {
	srv, _ := timeServer(t, time.Second)
	c := NewClockOffset(clockREST(t, srv.URL, RESTConfig{RatePerSecond: 2}), time.Minute, nil)
	for range 2 {
		start := time.Now()
		if err := c.Sample(context.Background()); err != nil {
			t.Fatal(err)
		}
		if est, _ := c.Estimate(); est.RTT > 200*time.Millisecond || est.RTT <= 0 {
			t.Fatalf("RTT %s after %s of waiting", est.RTT, time.Since(start))
		}
	}
}

// A failed sample keeps the last estimate; Kraken's errors come through
// typed.
func TestClockOffsetErrors(t *testing.T) {
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			fmt.Fprint(w, `{"error":["EService:Unavailable"]}`)
			return
		}
		fmt.Fprintf(w, `{"error":[],"result":{"unixtime":%d}}`, time.Now().Unix())
	}))
	defer srv.Close()
	c := NewClockOffset(clockREST(t, srv.URL, RESTConfig{MaxRetries: -1}), time.Minute, nil)
	fail.Store(true)
	if err := c.Sample(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Sample = %v, want ErrUnavailable", err)
	}
	if _, ok := c.Offset(); ok {
		t.Fatal("an offset from a failed sample")
	}
	fail.Store(false)
	if err := c.Sample(context.Background()); err != nil {
		t.Fatal(err)
	}
	before, _ := c.Estimate()
	fail.Store(true)
	if err := c.Sample(context.Background()); err == nil {
		t.Fatal("no error")
	}
	if after, ok := c.Estimate(); !ok || after != before {
		t.Fatalf("estimate %+v after a failure, want %+v", after, before)
	}
}

// Run samples at once and then every period until ctx ends.
func TestClockOffsetRun(t *testing.T) {
	srv, calls := timeServer(t, 2*time.Second)
	c := NewClockOffset(clockREST(t, srv.URL, RESTConfig{}), 10*time.Millisecond, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	est, ok := c.Estimate()
	if calls.Load() < 4 || !ok || est.Samples < 2 || (est.Offset-2*time.Second).Abs() > est.Uncertainty {
		t.Fatalf("%d calls, estimate %+v", calls.Load(), est)
	}
}
