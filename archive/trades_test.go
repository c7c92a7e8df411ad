package archive_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/market"
)

// The CSV inputs below are hand-written fixtures for edge cases and errors
// (moved here with the reader from fakekraken); the real file is read in
// realdata_test.go.

func TestReadTradesCSV(t *testing.T) {
	ts := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	tests := []struct {
		name string
		in   string
		want []market.Trade
	}{
		{"real format", "time_ms,timestamp_utc,price,volume,side\n" +
			"1561939203172,2019-07-01T00:00:03.172Z,10749.4,0.004,sell\n" +
			"1561939205224,2019-07-01T00:00:05.224Z,10749.7,0.03869709,buy\n",
			[]market.Trade{
				{TradeID: 7, Price: 10749.4, Qty: 0.004, Side: market.SideSell, TS: ts("2019-07-01T00:00:03.172Z")},
				{TradeID: 8, Price: 10749.7, Qty: 0.03869709, Side: market.SideBuy, TS: ts("2019-07-01T00:00:05.224Z")},
			}},
		{"header by name, any order", "\ufeffside,volume,price,timestamp_utc\nb,1,2.5,2019-07-01T00:00:03.172001Z\n",
			[]market.Trade{{TradeID: 7, Price: 2.5, Qty: 1, Side: market.SideBuy, TS: ts("2019-07-01T00:00:03.172001Z")}}},
		{"time and sales, no side", "1381095255,122.00000,0.10000000\n1381095255.123456789,123,0.2\n",
			[]market.Trade{
				{TradeID: 7, Price: 122, Qty: 0.1, TS: ts("2013-10-06T21:34:15Z")},
				{TradeID: 8, Price: 123, Qty: 0.2, TS: ts("2013-10-06T21:34:15.123456Z")},
			}},
		{"seconds with side", "1561939203.172,10749.4,0.004,s\n",
			[]market.Trade{{TradeID: 7, Price: 10749.4, Qty: 0.004, Side: market.SideSell, TS: ts("2019-07-01T00:00:03.172Z")}}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := archive.ReadTradesCSV(strings.NewReader(tt.in), "XBTUSD", 7)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d trades, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				w.Pair, w.Source = "BTC/USD", market.SourceReplay
				if got[i] != w {
					t.Errorf("trade %d = %+v\nwant %+v", i, got[i], w)
				}
			}
		})
	}
}

func TestReadTradesCSVErrors(t *testing.T) {
	const header = "time_ms,timestamp_utc,price,volume,side\n"
	const good = "1561939203172,2019-07-01T00:00:03.172Z,10749.4,0.004,sell\n"
	tests := []struct{ name, in, want string }{
		{"bad price", header + good + "1561939205224,x,abc,0.1,buy\n", "line 3, column 3 (price): not a decimal number"},
		{"negative price", header + "1561939205224,x,-1,0.1,buy\n", "line 2, column 3 (price): not positive"},
		{"NaN price", "1561939205,NaN,1\n", "line 1, column 2 (price): not a decimal number"},
		{"bad side", header + good + good + "1561939205224,x,1,0.1,hold\n", "line 4, column 5 (side): want buy, sell"},
		{"bad time", header + "soon,x,1,0.1,buy\n", "line 2, column 1 (time_ms): not a positive Unix time"},
		{"time backwards", header + "1561939205224,x,1,0.1,buy\n" + good, "line 3, column 1 (time_ms): time goes backwards: before the trade on line 2"},
		{"too few fields", "1561939205,1\n", "line 1: 2 fields"},
		{"negative seconds", "-5,1,1\n", "line 1, column 1 (unix_seconds): not positive Unix seconds"},
		{"header without price", "time_ms,volume\n", "lacks"},
		{"bad quoting", header + "1,\"2\n", "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := archive.ReadTradesCSV(strings.NewReader(tt.in), "BTC/USD", 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := archive.ReadTradesCSV(strings.NewReader(good), "nonsense", 1); err == nil {
		t.Error("bad pair accepted")
	}
	if _, err := archive.ReadTradesCSV(strings.NewReader(good), "BTC/USD", -1); err == nil {
		t.Error("negative first id accepted")
	}
}

func FuzzReadTradesCSV(f *testing.F) {
	for _, s := range []string{
		"time_ms,timestamp_utc,price,volume,side\n1561939203172,2019-07-01T00:00:03.172Z,10749.4,0.004,sell\n",
		"1381095255,122.00000,0.10000000\n1381095256.5,123,0.2,b\n",
		"price,qty,timestamp\n1,2,2019-07-01T00:00:03Z\n",
		"\"a\nb\",1\n", "", ",,,\n", "1e3,1e3,1e3\n", "99999999999999999999,1,1\n",
	} {
		f.Add([]byte(s), int64(1))
	}
	f.Add([]byte("1,1,1\n2,2,2\n"), int64(1<<63-1))
	f.Fuzz(func(t *testing.T, b []byte, firstID int64) {
		trades, err := archive.ReadTradesCSV(strings.NewReader(string(b)), "BTC/USD", firstID)
		if err != nil {
			return
		}
		for i, tr := range trades {
			if err := tr.Validate(); err != nil {
				t.Fatalf("trade %d invalid: %v", i, err)
			}
			if tr.TradeID != firstID+int64(i) || tr.Pair != "BTC/USD" || tr.TS.Year() > 9999 {
				t.Fatalf("trade %d: %+v", i, tr)
			}
			if i > 0 && tr.TS.Before(trades[i-1].TS) {
				t.Fatalf("trade %d goes back in time", i)
			}
		}
	})
}
