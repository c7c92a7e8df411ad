package fakekraken

import (
	"math"
	"strconv"
	"testing"
	"time"
)

// Canonical keys as on the real API: X/Z forms only for legacy assets.
func TestRESTKey(t *testing.T) {
	cases := map[string]string{
		"BTC/USD": "XXBTZUSD", "ETH/USD": "XETHZUSD", "BTC/EUR": "XXBTZEUR", "ETH/BTC": "XETHXXBT",
		"LTC/USD": "XLTCZUSD", "ETH/USDT": "ETHUSDT", "BTC/USDT": "XBTUSDT", "DOGE/USD": "XDGUSD",
		"USDT/USD": "USDTZUSD", "SOL/USD": "SOLUSD", "ETH/USDC": "ETHUSDC",
	}
	for pair, want := range cases {
		if got := restKey(pair); got != want {
			t.Errorf("restKey(%s) = %s, want %s", pair, got, want)
		}
	}
}

func TestParseSince(t *testing.T) {
	ns := time.Date(2019, 7, 1, 0, 0, 3, 172000000, time.UTC).UnixNano()
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1561939203", ns - 172000000, true},  // seconds (ccxt, cryptofeed)
		{"1561939203.172", ns, true},          // fractional seconds
		{strconv.FormatInt(ns, 10), ns, true}, // nanoseconds (Kraken's cursor)
		{"999999999999", math.MaxInt64, true}, // seconds past int64 nanoseconds: after every trade
		{"1000000000000", 1e12, true},         // from 1e12 on: nanoseconds
		{"1561939203.5", ns - 172000000 + 5e8, true},
		{"-1", 0, false}, {"abc", 0, false}, {"1.2.3", 0, false}, {"1.x", 0, false}, {"", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseSince(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseSince(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// Trade times written as Kraken's float seconds read back to the exact
// microsecond when rounded (what the client does).
func TestAppendSecondsRoundTrip(t *testing.T) {
	base := time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
	for us := int64(0); us < 3_000_000; us += 7 {
		ts := base.Add(time.Duration(us) * time.Microsecond)
		f, err := strconv.ParseFloat(string(appendSeconds(nil, ts)), 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := time.UnixMicro(int64(math.Round(f * 1e6))).UTC(); !got.Equal(ts) {
			t.Fatalf("%s → %s → %s", ts, appendSeconds(nil, ts), got)
		}
	}
}
