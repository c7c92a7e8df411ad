package replay

import (
	"reflect"
	"testing"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		name, list, pair string
		pairSet          bool
		want             []Item
		wantErr          bool
	}{
		{"one file, pair given", "a.csv", "XBT/USD", true, []Item{{"BTC/USD", []string{"a.csv"}}}, false},
		{"files concatenated under each pair", "a.csv,b.csv", "BTC/USD,ETH-USD", true,
			[]Item{{"BTC/USD", []string{"a.csv", "b.csv"}}, {"ETH/USD", []string{"a.csv", "b.csv"}}}, false},
		{"pair from the file name", "/d/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz", "BTC/USD", false,
			[]Item{{"ETH/USDT", []string{"/d/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"}}}, false},
		{"no pair in the name: --pair's default", "trades.csv", "BTC/USD", false, []Item{{"BTC/USD", []string{"trades.csv"}}}, false},
		{"PAIR=FILE items", "ETH/USDT=a.csv.gz, BTC-USD=b.csv,ETH/USDT=c.csv.gz", "", false,
			[]Item{{"ETH/USDT", []string{"a.csv.gz", "c.csv.gz"}}, {"BTC/USD", []string{"b.csv"}}}, false},
		{"= in a path that is no pair", "/tmp/x=y/a.csv", "BTC/USD", true, []Item{{"BTC/USD", []string{"/tmp/x=y/a.csv"}}}, false},
		{"pair without file", "ETH/USDT=", "", false, nil, true},
		{"empty", " , ", "BTC/USD", false, nil, true},
		{"bad --pair", "a.csv", "NOPE", true, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseList(tc.list, tc.pair, tc.pairSet)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
