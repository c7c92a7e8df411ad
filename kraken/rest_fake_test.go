package kraken_test

// The REST client against the fake Kraken (package fakekraken) serving
// real trades, over loopback HTTP.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
)

// realTrades loads the real Kraken trade file: 2,672 BTC/USD trades of
// 2019-07-01 00:00–01:00, ids 1..2672.
func realTrades(tb testing.TB) []market.Trade {
	tb.Helper()
	f, err := os.Open(realdata.Path(tb, realdata.KrakenTrades1h))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	trades, err := fakekraken.LoadTradesCSV(f, "BTC/USD", 1)
	if err != nil {
		tb.Fatal(err)
	}
	return trades
}

// startFake serves cfg on loopback and returns it with its REST base URL.
func startFake(tb testing.TB, cfg fakekraken.Config) (*fakekraken.Server, string) {
	tb.Helper()
	srv, err := fakekraken.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	wsURL, err := srv.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv, fakekraken.RESTURL(wsURL)
}

// newClient is a REST client of base, limiter off and millisecond
// backoffs unless cfg says otherwise.
func newClient(tb testing.TB, base string, cfg kraken.RESTConfig) *kraken.REST {
	tb.Helper()
	cfg.BaseURL = base
	if cfg.RatePerSecond == 0 && cfg.Limiter == nil {
		cfg.RatePerSecond = -1
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 5*time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := kraken.NewREST(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func btcFake(tb testing.TB, trades []market.Trade, faults fakekraken.RESTFaults) (*fakekraken.Server, string) {
	return startFake(tb, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}, REST: faults})
}

// sameTrade: what REST carries equals what the fake loaded, bit for bit.
func sameTrade(got, want market.Trade) bool {
	want.Source, want.OrdType = market.SourceKrakenREST, market.OrdMarket // the wire's placeholder for unknown
	return got == want
}

// Trades pages with Kraken's cursor: page 2 starts at the cursor, with
// the trade that ended page 1 (pages overlap).
func TestRESTTradesPageCursor(t *testing.T) {
	trades := realTrades(t)
	_, base := btcFake(t, trades, fakekraken.RESTFaults{})
	c := newClient(t, base, kraken.RESTConfig{})
	p1, err := c.Trades(t.Context(), "XBT/USD", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Trades) != 1000 || p1.Pair != "BTC/USD" || p1.Last != trades[999].TS.UnixNano() {
		t.Fatalf("page 1: %d trades of %s, last %d", len(p1.Trades), p1.Pair, p1.Last)
	}
	p2, err := c.Trades(t.Context(), "BTC/USD", p1.Last)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Trades[0].TradeID != 1000 || len(p2.Trades) != 1000 {
		t.Fatalf("page 2 starts at id %d with %d trades, want 1000 (the overlap), 1000", p2.Trades[0].TradeID, len(p2.Trades))
	}
	for i, tr := range p1.Trades {
		if !sameTrade(tr, trades[i]) {
			t.Fatalf("trade %d: got %+v, want %+v", i, tr, trades[i])
		}
	}
}

// TradesRange over the real file: 3 pages, every trade once, exactly as
// loaded (prices, volumes and microsecond times survive the decimal
// strings and float seconds); and a sub-range.
func TestRESTTradesRange(t *testing.T) {
	trades := realTrades(t)
	_, base := btcFake(t, trades, fakekraken.RESTFaults{})
	c := newClient(t, base, kraken.RESTConfig{})
	cases := []struct {
		name     string
		from, to time.Time
		pages    int
	}{
		{"all", trades[0].TS, trades[len(trades)-1].TS.Add(time.Microsecond), 3},
		{"00:10-00:20", trades[0].TS.Truncate(time.Hour).Add(10 * time.Minute), trades[0].TS.Truncate(time.Hour).Add(20 * time.Minute), 0},
		{"from the start", time.Time{}, trades[0].TS.Add(time.Second), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []market.Trade
			pages := 0
			err := c.TradesRange(t.Context(), "XXBTZUSD", tc.from, tc.to, func(p kraken.TradesPage) error {
				pages++
				got = append(got, p.Trades...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := slices.DeleteFunc(slices.Clone(trades), func(tr market.Trade) bool { return tr.TS.Before(tc.from) || !tr.TS.Before(tc.to) })
			if len(got) != len(want) || (tc.pages > 0 && pages != tc.pages) {
				t.Fatalf("%d trades in %d pages, want %d in %d", len(got), pages, len(want), tc.pages)
			}
			for i := range got {
				if !sameTrade(got[i], want[i]) {
					t.Fatalf("trade %d: got %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

// A callback error stops TradesRange and comes back as is.
func TestRESTTradesRangeStopsOnCallbackError(t *testing.T) {
	trades := realTrades(t)
	_, base := btcFake(t, trades, fakekraken.RESTFaults{})
	c := newClient(t, base, kraken.RESTConfig{})
	stop := errors.New("stop")
	err := c.TradesRange(t.Context(), "BTC/USD", trades[0].TS, trades[len(trades)-1].TS.Add(time.Second), func(kraken.TradesPage) error { return stop })
	if !errors.Is(err, stop) || c.Stats().Requests != 1 {
		t.Fatalf("err %v after %d requests", err, c.Stats().Requests)
	}
}

// TradesAfter fetches what a gap lost: ids afterID+1..untilID exactly.
func TestRESTTradesAfter(t *testing.T) {
	trades := realTrades(t)
	_, base := btcFake(t, trades, fakekraken.RESTFaults{})
	c := newClient(t, base, kraken.RESTConfig{})
	cases := []struct {
		after, until, wantFirst, wantLast int64
	}{
		{1234, 2100, 1235, 2100}, // across a page boundary
		{1234, 1240, 1235, 1240},
		{2000, 0, 2001, 2672}, // until caught up
		{2672, 0, 0, 0},       // nothing newer
	}
	for _, tc := range cases {
		got, rejected, err := c.TradesAfter(t.Context(), "BTC/USD", tc.after, trades[tc.after-1].TS, tc.until)
		if err != nil || len(rejected) > 0 {
			t.Fatal(err, rejected)
		}
		var first, last int64
		if len(got) > 0 {
			first, last = got[0].TradeID, got[len(got)-1].TradeID
		}
		if first != tc.wantFirst || last != tc.wantLast || (len(got) > 0 && int64(len(got)) != last-first+1) {
			t.Errorf("after %d until %d: %d trades %d..%d, want %d..%d", tc.after, tc.until, len(got), first, last, tc.wantFirst, tc.wantLast)
		}
	}
}

// Corrupt trades the exchange serves (hostile: a zero and negative
// prices) do not fail a repair: TradesAfter and TradesUntil return every
// valid trade of the range, across pages (a full page counts its bad rows),
// and each bad row once, with its id; a gap ending on a bad row is reached.
// TradesRange, the backfill's, still fails on one.
func TestRESTTradesHostileRows(t *testing.T) {
	trades := realTrades(t)
	hostile := []fakekraken.HostileTrade{{At: 1239, Kind: fakekraken.HostileZeroPrice},
		{At: 1999, Kind: fakekraken.HostileNegative}, {At: 2599, Kind: fakekraken.HostileNegative}}
	_, base := startFake(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}, Faults: fakekraken.Faults{Hostile: hostile}})
	c := newClient(t, base, kraken.RESTConfig{})
	bad := func(rs []kraken.Rejected) []int64 {
		var ids []int64
		for _, r := range rs {
			ids = append(ids, r.TradeID)
		}
		return ids
	}
	got, rejected, err := c.TradesAfter(t.Context(), "BTC/USD", 1234, trades[1233].TS, 2600)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2600-1234-3 || got[0].TradeID != 1235 || got[len(got)-1].TradeID != 2599 || fmt.Sprint(bad(rejected)) != "[1240 2000 2600]" {
		t.Fatalf("after: %d trades %d..%d, rejected %v; want 1235..2599 less 3, rejected [1240 2000 2600]",
			len(got), got[0].TradeID, got[len(got)-1].TradeID, bad(rejected))
	}
	until, rejected, reached, err := c.TradesUntil(t.Context(), "BTC/USD", trades[1229].TS, 1240)
	if err != nil || !reached || len(until) != 10 || fmt.Sprint(bad(rejected)) != "[1240]" {
		t.Fatalf("until: %d trades, rejected %v, reached %v, err %v; want 1230..1239, [1240], reached", len(until), bad(rejected), reached, err)
	}
	err = c.TradesRange(t.Context(), "BTC/USD", trades[1200].TS, trades[1300].TS, func(kraken.TradesPage) error { return nil })
	if !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("range over a bad row: %v, want it refused (invalid)", err)
	}
}

// Typed errors from the fake; retries through its injected faults.
func TestRESTAgainstFakeFaults(t *testing.T) {
	trades := realTrades(t)
	_, base := btcFake(t, trades, fakekraken.RESTFaults{FailEvery: 2, HTTP5xxEvery: 3})
	c := newClient(t, base, kraken.RESTConfig{})
	n := 0
	err := c.TradesRange(t.Context(), "BTC/USD", trades[0].TS, trades[len(trades)-1].TS.Add(time.Second), func(p kraken.TradesPage) error {
		n += len(p.Trades)
		return nil
	})
	if err != nil || n != len(trades) || c.Stats().Retries == 0 {
		t.Fatalf("%d trades, %v, stats %+v", n, err, c.Stats())
	}
	if _, err := c.Trades(t.Context(), "ETH/USD", 0); !errors.Is(err, kraken.ErrUnknownPair) {
		t.Errorf("unknown pair: %v", err)
	}
	if _, err := c.OHLC(t.Context(), "BTC/USD", 2*time.Minute); !errors.Is(err, kraken.ErrInvalidArguments) {
		t.Errorf("bad interval: %v", err)
	}
}

// The client's limiter keeps the fake's rate limit: 5 req/s on both sides
// for 2 s gives 10±1 requests and not one "Too many requests"; without a
// limiter the client is refused, backs off and still gets every answer.
func TestRESTRateLimitAgainstFake(t *testing.T) {
	trades := realTrades(t)
	t.Run("limited", func(t *testing.T) {
		t.Parallel()
		srv, base := btcFake(t, trades, fakekraken.RESTFaults{RateLimitPerSecond: 5})
		c := newClient(t, base, kraken.RESTConfig{RatePerSecond: 5})
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		for {
			_, err := c.Trades(ctx, "BTC/USD", 0)
			if errors.Is(err, context.DeadlineExceeded) {
				break // the next slot is past the 2 s
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		st := srv.RESTStats()
		if st.RateLimited != 0 || st.Requests < 9 || st.Requests > 11 {
			t.Fatalf("fake saw %+v, want 10±1 requests, none rate limited", st)
		}
	})
	t.Run("unlimited", func(t *testing.T) {
		t.Parallel()
		srv, base := btcFake(t, trades, fakekraken.RESTFaults{RateLimitPerSecond: 20})
		c := newClient(t, base, kraken.RESTConfig{BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond, MaxRetries: 50})
		for range 40 { // twice the fake's one-second bucket, as fast as possible
			if _, err := c.SystemStatus(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if st := srv.RESTStats(); st.RateLimited == 0 || c.Stats().Retries != st.RateLimited {
			t.Fatalf("fake %+v, client %+v: want rate limits, each retried", st, c.Stats())
		}
	})
}

// AssetPairs from the fake: canonical keys, v1 wsnames mapped to v2.
func TestRESTAssetPairsFromFake(t *testing.T) {
	trades := realTrades(t)
	relabel := func(pair string) []market.Trade { // the real file under another name: only names matter here
		out := slices.Clone(trades)
		for i := range out {
			out[i].Pair = pair
		}
		return out
	}
	_, base := startFake(t, fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades, "DOGE/USD": relabel("DOGE/USD"), "ETH/USDT": relabel("ETH/USDT")}})
	pairs, err := newClient(t, base, kraken.RESTConfig{}).AssetPairs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []kraken.AssetPair{
		{Key: "ETHUSDT", Altname: "ETHUSDT", WSName: "ETH/USDT", PairDecimals: 1, LotDecimals: 8, Status: "online"},
		{Key: "XDGUSD", Altname: "XDGUSD", WSName: "DOGE/USD", PairDecimals: 1, LotDecimals: 8, Status: "online"},
		{Key: "XXBTZUSD", Altname: "XBTUSD", WSName: "BTC/USD", PairDecimals: 1, LotDecimals: 8, Status: "online"},
	}
	if !slices.Equal(pairs, want) {
		t.Fatalf("got  %+v\nwant %+v", pairs, want)
	}
}

// OHLC from the fake: the candles market.Aggregator makes of the same
// trades, the last one open; SystemStatus online.
func TestRESTOHLCAndStatusFromFake(t *testing.T) {
	trades := realTrades(t)
	_, base := btcFake(t, trades, fakekraken.RESTFaults{})
	c := newClient(t, base, kraken.RESTConfig{})
	got, err := c.OHLC(t.Context(), "BTC/USD", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	agg, _ := market.NewAggregator(market.AggregatorConfig{})
	var want []market.Candle
	for _, tr := range trades {
		want, _, _ = agg.Add(tr, want)
	}
	want = agg.Flush(want)
	if len(got) != 60 || len(want) != 60 {
		t.Fatalf("%d candles, aggregator %d; want 60", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Start != w.Start || g.End != w.End || g.Open != w.Open || g.High != w.High || g.Low != w.Low || g.Close != w.Close ||
			g.Volume != w.Volume || g.VWAP != w.VWAP || g.Trades != w.Trades || g.Complete != (i < 59) {
			t.Fatalf("candle %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if st, err := c.SystemStatus(t.Context()); err != nil || st != "online" {
		t.Errorf("SystemStatus = %q, %v", st, err)
	}
}

// Trades the fake rebuilt from candles come back labelled as such.
func TestRESTReconstructedLabel(t *testing.T) {
	candles := readCandles(t, krakenOHLCVT1m, "BTC/USD", 60)
	_, base := btcFake(t, fakekraken.ReconstructTrades(candles, 1), fakekraken.RESTFaults{})
	p, err := newClient(t, base, kraken.RESTConfig{}).Trades(t.Context(), "BTC/USD", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range p.Trades {
		if tr.Source != market.SourceReconstructed {
			t.Fatalf("trade %+v not labelled reconstructed", tr)
		}
	}
}

// Real candle files of ../shared/data (see its README).
const (
	krakenOHLCVT1m = "kraken/ohlcvt/XBTUSD_1.2023-03-01_2023-03-21.csv"
	binanceKlines  = "binance/klines/BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz"
)

// readCandles reads the first n (0: all) real candles of a file with
// package archive's reader: Kraken's OHLCVT archive (with trade counts)
// or Binance klines (without).
func readCandles(tb testing.TB, rel, pair string, n int) []market.Candle {
	tb.Helper()
	path := realdata.Path(tb, rel)
	f, err := archive.Detect(path)
	if err != nil {
		tb.Fatal(err)
	}
	all, _, err := archive.ReadCandles(path, f, pair)
	if err != nil {
		tb.Fatal(err)
	}
	if n > 0 {
		all = all[:min(n, len(all))]
	}
	return all
}
