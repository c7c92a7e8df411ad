package fakekraken_test

import (
	"slices"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// Real candle files of ../shared/data (see its README).
const (
	krakenOHLCVT1m = "kraken/ohlcvt/XBTUSD_1.2023-03-01_2023-03-21.csv"
	binanceKlines  = "binance/klines/BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz"
)

// readCandles reads the real candles of [from, to) (zero to: all) with
// package archive's reader: Kraken's OHLCVT archive (with trade counts) or
// Binance klines (without).
func readCandles(tb testing.TB, rel, pair string, from, to time.Time) []market.Candle {
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
	return slices.DeleteFunc(all, func(c market.Candle) bool {
		return c.Start.Before(from) || (!to.IsZero() && !c.Start.Before(to))
	})
}

// aggregate runs the pipeline's aggregator over trades, 1-minute windows.
func aggregate(tb testing.TB, trades []market.Trade) []market.Candle {
	tb.Helper()
	agg, err := market.NewAggregator(market.AggregatorConfig{Interval: time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	var out []market.Candle
	for _, tr := range trades {
		var oc market.Outcome
		if out, oc, err = agg.Add(tr, out); err != nil || oc != market.OutcomeAccepted {
			tb.Fatalf("trade %d: %v %v", tr.TradeID, oc, err)
		}
	}
	return agg.Flush(out)
}

// distinctPath counts the price points a candle's trades must visit:
// open, high, low, close with consecutive repeats merged (either order
// of the extremes gives the same count for a consistent candle).
func distinctPath(c market.Candle) int64 {
	pts := []float64{c.Open, c.Low, c.High, c.Close}
	if c.Close < c.Open {
		pts[1], pts[2] = c.High, c.Low
	}
	return int64(len(slices.Compact(pts)))
}

// The reconstructed trades of real candles aggregate back to exactly the
// candles: OHLC, volume (bit for bit: see ReconstructTrades on why the sum
// is exact) and trade count (Kraken's count; for Binance, which has none,
// one trade per distinct price point). Absent bars come back as empty
// candles and nothing else does.
func TestReconstructTradesRebuildsRealCandles(t *testing.T) {
	cases := []struct {
		name, file, pair string
		from, to         time.Time
	}{
		{"kraken XBTUSD 21 days", krakenOHLCVT1m, "BTC/USD", time.Time{}, time.Time{}},
		{"binance BTCUSDT 2025-05-20", binanceKlines, "BTC/USDT",
			time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC), time.Date(2025, 5, 21, 0, 0, 0, 0, time.UTC)},
		{"binance BTCUSDT 90 days", binanceKlines, "BTC/USDT", time.Time{}, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := readCandles(t, tc.file, tc.pair, tc.from, tc.to)
			trades := fakekraken.ReconstructTrades(src, 1)
			checkTrades(t, trades)
			got := aggregate(t, trades)
			byStart := map[time.Time]market.Candle{}
			for _, c := range got {
				byStart[c.Start] = c
			}
			var nonEmpty int
			for _, c := range got {
				if c.Trades > 0 {
					nonEmpty++
				}
			}
			if nonEmpty != len(src) {
				t.Errorf("%d non-empty candles from %d source candles", nonEmpty, len(src))
			}
			for _, want := range src {
				compareCandle(t, byStart[want.Start], want)
			}
			t.Logf("%d candles → %d reconstructed trades → %d candles (%d empty: the absent bars)",
				len(src), len(trades), len(got), len(got)-nonEmpty)
		})
	}
}

func compareCandle(t *testing.T, got, want market.Candle) {
	t.Helper()
	wantN := want.Trades
	if wantN == 0 {
		wantN = distinctPath(want)
	}
	if got.Open != want.Open || got.High != want.High || got.Low != want.Low || got.Close != want.Close ||
		got.Volume != want.Volume || got.Trades != wantN || !got.Complete {
		t.Fatalf("candle %s:\n got %+v\nwant %+v (trades %d)", want.Start, got, want, wantN)
	}
}

// checkTrades: valid, labelled, consecutive ids, strictly increasing times.
func checkTrades(t *testing.T, trades []market.Trade) {
	t.Helper()
	for i, tr := range trades {
		if err := tr.Validate(); err != nil || tr.Source != market.SourceReconstructed || tr.Side == market.SideUnknown {
			t.Fatalf("trade %d %+v: %v", i, tr, err)
		}
		if tr.TS.Truncate(time.Microsecond) != tr.TS {
			t.Fatalf("trade %d: time %s has sub-microsecond digits", i, tr.TS)
		}
		if i > 0 && (tr.TradeID != trades[i-1].TradeID+1 || !tr.TS.After(trades[i-1].TS)) {
			t.Fatalf("trade %d %+v after %+v", i, tr, trades[i-1])
		}
	}
}

// Edge cases, hand-written candles (not data): how many trades, where.
func TestReconstructTradesEdgeCases(t *testing.T) {
	start := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)
	candle := func(o, h, l, c, v float64, n int64) market.Candle {
		return market.Candle{Pair: "BTC/USD", Start: start, End: start.Add(time.Minute), Open: o, High: h, Low: l, Close: c, Volume: v, Trades: n}
	}
	cases := []struct {
		name   string
		in     market.Candle
		prices []float64
	}{
		{"flat, one trade", candle(10, 10, 10, 10, 0.5, 1), []float64{10}},
		{"flat, no count", candle(10, 10, 10, 10, 0.5, 0), []float64{10}},
		{"up, no count", candle(10, 12, 9, 11, 1, 0), []float64{10, 9, 12, 11}},
		{"down, no count", candle(10, 12, 9, 9.5, 1, 0), []float64{10, 12, 9, 9.5}},
		{"open at low, close at high", candle(10, 12, 10, 12, 1, 0), []float64{10, 12}},
		{"count too small: raised to 3", candle(10, 12, 10, 11, 3, 2), []float64{10, 12, 11}},
		{"count 6 over 4 points", candle(10, 12, 9, 11, 0.3, 6), []float64{10, 10, 9, 9, 12, 11}},
		{"empty", candle(10, 10, 10, 10, 0, 0), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			trades := fakekraken.ReconstructTrades([]market.Candle{tc.in}, 7)
			var prices []float64
			sum := 0.0
			for i, tr := range trades {
				prices = append(prices, tr.Price)
				sum += tr.Qty
				if wantTS := start.Add(time.Duration(i+1) * time.Minute / time.Duration(len(trades)+1)).Truncate(time.Microsecond); !tr.TS.Equal(wantTS) {
					t.Errorf("trade %d at %s, want %s", i, tr.TS, wantTS)
				}
			}
			if !slices.Equal(prices, tc.prices) {
				t.Errorf("prices %v, want %v", prices, tc.prices)
			}
			if len(trades) > 0 && (sum != tc.in.Volume || trades[0].TradeID != 7) {
				t.Errorf("volume %v (want %v), first id %d", sum, tc.in.Volume, trades[0].TradeID)
			}
		})
	}
}

func TestReconstructTradesDeterministic(t *testing.T) {
	src := readCandles(t, krakenOHLCVT1m, "BTC/USD", time.Time{}, time.Date(2023, 3, 2, 0, 0, 0, 0, time.UTC))
	a, b := fakekraken.ReconstructTrades(src, 100), fakekraken.ReconstructTrades(slices.Clone(src), 100)
	if !slices.Equal(a, b) {
		t.Fatal("two runs differ")
	}
	if len(a) == 0 || a[0].TradeID != 100 {
		t.Fatalf("%d trades, first %+v", len(a), a[0])
	}
}
