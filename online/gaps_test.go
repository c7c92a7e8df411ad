package online

import (
	"sync"
	"testing"
)

func TestGaps(t *testing.T) {
	var g Gaps
	if g.Open("ETH/USDT") {
		t.Fatal("the zero value has an open gap")
	}
	tests := []struct {
		set   string
		open  bool
		query string
		want  bool
	}{
		{"ETH/USDT", true, "ETH/USDT", true},
		{"ETH/USDT", true, "ETH-USDT", true},
		{"ETHUSDT", false, "eth-usdt", false},
		{"BTC-USD", true, "BTC/USD", true},
		{"BTC-USD", true, "ETH/USDT", false},
	}
	for _, tt := range tests {
		g.Set(tt.set, tt.open)
		if got := g.Open(tt.query); got != tt.want {
			t.Errorf("after Set(%s, %v): Open(%s) = %v, want %v", tt.set, tt.open, tt.query, got, tt.want)
		}
	}
}

func TestGapsConcurrent(t *testing.T) {
	var g Gaps
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 1000 {
				g.Set("ETH/USDT", (i+j)%2 == 0)
				g.Open("ETH-USDT")
			}
		})
	}
	wg.Wait()
}
