package kraken_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
)

// benchHistory is a fake serving trades reconstructed from a whole real
// candle file, behind a recorder of request times.
type benchHistory struct {
	trades []market.Trade
	srv    *fakekraken.Server
	base   string
	mu     sync.Mutex
	times  []time.Time
}

func newBenchHistory(b *testing.B, file string, faults fakekraken.RESTFaults) *benchHistory {
	b.Helper()
	h := &benchHistory{trades: fakekraken.ReconstructTrades(readCandles(b, file, "BTC/USD", 0), 1)}
	var err error
	h.srv, err = fakekraken.New(fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": h.trades}, REST: faults})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.times = append(h.times, time.Now())
		h.mu.Unlock()
		h.srv.Handler().ServeHTTP(w, r)
	}))
	b.Cleanup(func() { hs.Close(); h.srv.Close() })
	h.base = hs.URL
	return h
}

// fetchAll runs TradesRange over [from, to) and returns the trades it got.
func (h *benchHistory) fetchAll(ctx context.Context, c *kraken.REST, from, to time.Time) (int, error) {
	n := 0
	err := c.TradesRange(ctx, "BTC/USD", from, to, func(p kraken.TradesPage) error {
		n += len(p.Trades)
		return nil
	})
	return n, err
}

// BenchmarkRESTTradesRange: REST backfill throughput against the fake,
// rate limiter off, over whole real candle files rebuilt into trades
// (Binance BTCUSDT 90 days, Kraken XBTUSD 21 days with its trade counts).
func BenchmarkRESTTradesRange(b *testing.B) {
	for _, bc := range []struct{ name, file string }{
		{"binance-BTCUSDT-90d", binanceKlines},
		{"kraken-XBTUSD-21d", krakenOHLCVT1m},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := newBenchHistory(b, bc.file, fakekraken.RESTFaults{})
			c := newClient(b, h.base, kraken.RESTConfig{RatePerSecond: -1})
			from, to := h.trades[0].TS, h.trades[len(h.trades)-1].TS.Add(time.Microsecond)
			b.ReportAllocs()
			b.ResetTimer()
			total := 0
			for range b.N {
				n, err := h.fetchAll(b.Context(), c, from, to)
				if err != nil || n != len(h.trades) {
					b.Fatalf("%d of %d trades: %v", n, len(h.trades), err)
				}
				total += n
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(total)/sec, "trades/s")
			b.ReportMetric(float64(c.Stats().Requests)/sec, "req/s")
			b.ReportMetric(float64(len(h.trades)), "trades/op")
		})
	}
}

// BenchmarkRESTTradesRangeRateLimited: at Kraken's budget (client limiter
// 1 req/s, the fake refusing anything over 1 req/s) a backfill of 90 days
// runs for 5 s: it must keep the limit saturated (requests/s ≈ 1 between
// the first and the last request, as the fake saw them) with no request
// refused. One iteration lasts 5 s, so b.N stays 1.
func BenchmarkRESTTradesRangeRateLimited(b *testing.B) {
	const window = 5 * time.Second
	h := newBenchHistory(b, binanceKlines, fakekraken.RESTFaults{RateLimitPerSecond: 1})
	c := newClient(b, h.base, kraken.RESTConfig{RatePerSecond: 1}) // one budget across iterations
	for range b.N {
		refused := h.srv.RESTStats().RateLimited
		h.mu.Lock()
		h.times = h.times[:0]
		h.mu.Unlock()
		ctx, cancel := context.WithTimeout(b.Context(), window)
		n, err := h.fetchAll(ctx, c, h.trades[0].TS, h.trades[len(h.trades)-1].TS.Add(time.Microsecond))
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			b.Fatalf("%d trades: %v (want the window to end the backfill)", n, err)
		}
		h.mu.Lock()
		reqs, span := len(h.times), h.times[len(h.times)-1].Sub(h.times[0])
		h.mu.Unlock()
		b.ReportMetric(float64(reqs-1)/span.Seconds(), "req/s")
		b.ReportMetric(float64(n)/window.Seconds(), "trades/s")
		b.ReportMetric(float64(reqs), "requests")
		b.ReportMetric(float64(h.srv.RESTStats().RateLimited-refused), "refused")
	}
}
