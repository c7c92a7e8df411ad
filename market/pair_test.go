package market

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePair(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"BTC/USD", "BTC/USD"},
		{"XBT/USD", "BTC/USD"},
		{"XBTUSD", "BTC/USD"},
		{"BTC-USD", "BTC/USD"},
		{"xbt-usd", "BTC/USD"},
		{"btc_usd", "BTC/USD"},
		{"XXBTZUSD", "BTC/USD"},
		{"XETHZUSD", "ETH/USD"},
		{"ETHUSDT", "ETH/USDT"},
		{"ETH-USDT", "ETH/USDT"},
		{"XDG/USD", "DOGE/USD"},
		{" eth/usd ", "ETH/USD"},
	}
	for _, tt := range tests {
		got, err := NormalizePair(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePair(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "BTC", "BTC/", "/USD", "BTC/BTC", "B$C/USD", "BTC/USD/EUR", "ÄÖ/USD"} {
		if _, err := NormalizePair(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizePair(%q) err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestSplitPairs(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"XBT/USD, eth-usd", "BTC-USD", ""}, "BTC/USD ETH/USD"},
		{[]string{"ETH/USDT,BTC/USDT,ethusdt,"}, "ETH/USDT BTC/USDT"},
		{[]string{"xdg/usd"}, "DOGE/USD"},
	}
	for _, tt := range tests {
		got, err := SplitPairs(tt.in...)
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("SplitPairs(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range [][]string{nil, {}, {""}, {" , "}, {"BTC/USD,NOPE"}, {"BTC/USD", "ETH"}} {
		if _, err := SplitPairs(bad...); !errors.Is(err, ErrInvalid) {
			t.Errorf("SplitPairs(%q) err = %v, want ErrInvalid", bad, err)
		}
	}
}

func FuzzNormalizePair(f *testing.F) {
	for _, s := range []string{"BTC/USD", "XBTUSD", "XXBTZUSD", "eth-usdt", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := NormalizePair(s)
		if err != nil {
			return
		}
		again, err := NormalizePair(p)
		if err != nil || again != p {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, p, again, err)
		}
	})
}
