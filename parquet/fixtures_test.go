package parquet

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
)

// The fixtures below are hand-written: a few rows on both sides of the UTC
// midnight of 2024-03-10, with every field set to something recognisable.

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func fixtureTrades() []market.Trade {
	return []market.Trade{
		{Pair: "BTC/USD", TradeID: 101, Price: 68000.1, Qty: 0.5, Side: market.SideBuy, OrdType: market.OrdMarket, TS: at("2024-03-09T23:59:58.123456Z"), Source: market.SourceKrakenWS},
		{Pair: "BTC/USD", TradeID: 102, Price: 68000.2, Qty: 0.25, Side: market.SideSell, OrdType: market.OrdLimit, TS: at("2024-03-09T23:59:59.999999Z"), Source: market.SourceKrakenREST},
		{Pair: "BTC/USD", TradeID: 103, Price: 68001, Qty: 1e-8, Side: market.SideBuy, OrdType: market.OrdUnknown, TS: at("2024-03-10T00:00:00Z"), Source: market.SourceReplay},
		{Pair: "BTC/USD", TradeID: 0, Price: 68002.5, Qty: 3, Side: market.SideSell, OrdType: market.OrdMarket, TS: at("2024-03-10T00:00:01.000001Z"), Source: "archive"},
		{Pair: "ETH/USD", TradeID: 7, Price: 3500.75, Qty: 2, Side: market.SideBuy, OrdType: market.OrdLimit, TS: at("2024-03-10T00:00:00.5Z"), Source: market.SourceKrakenWS},
	}
}

func fixtureCandles() []market.Candle {
	return []market.Candle{
		{Pair: "BTC/USD", Start: at("2024-03-09T23:58:00Z"), End: at("2024-03-09T23:59:00Z"), Open: 1, High: 2, Low: 0.5, Close: 1.5, Volume: 10, VWAP: 1.2, Trades: 4, BuyVolume: 6, SellVolume: 4, FirstTradeID: 90, LastTradeID: 93, Complete: true},
		{Pair: "BTC/USD", Start: at("2024-03-09T23:59:00Z"), End: at("2024-03-10T00:00:00Z"), Open: 1.5, High: 1.5, Low: 1.5, Close: 1.5, Complete: true, Repaired: true},
		{Pair: "BTC/USD", Start: at("2024-03-10T00:00:00Z"), End: at("2024-03-10T00:01:00Z"), Open: 1.5, High: 3, Low: 1.4, Close: 2.5, Volume: 7.5, VWAP: 2.1, Trades: 3, BuyVolume: 7.5, FirstTradeID: 94, LastTradeID: 96},
		{Pair: "ETH/USD", Start: at("2024-03-10T00:00:00Z"), End: at("2024-03-10T00:01:00Z"), Open: 10, High: 11, Low: 9, Close: 10.5, Volume: 1, VWAP: 10.2, Trades: 1, SellVolume: 1, FirstTradeID: 5, LastTradeID: 5, Complete: true},
	}
}

func fixtureFeatures() []market.FeatureRow {
	rows := []market.FeatureRow{
		{Pair: "BTC/USD", TS: at("2024-03-09T23:59:00Z"), SchemaVersion: market.FeatureSchemaVersion, Close: 1.5},
		{Pair: "BTC/USD", TS: at("2024-03-10T00:00:00Z"), SchemaVersion: market.FeatureSchemaVersion, Warm: true, Close: 1.5},
		{Pair: "ETH/USD", TS: at("2024-03-10T00:01:00Z"), SchemaVersion: market.FeatureSchemaVersion, Warm: true, Close: 10.5},
	}
	for i := range rows {
		for j := range rows[i].Values {
			rows[i].Values[j] = float64(i*100+j) / 7
		}
	}
	// Cold rows carry NaN where history is short; ±Inf must survive too.
	rows[0].Values[market.FRet60] = math.NaN()
	rows[0].Values[market.FRSI14] = math.NaN()
	rows[1].Values[market.FVolumeZ20] = math.Inf(1)
	rows[2].Values[market.FImbalance] = math.Inf(-1)
	return rows
}

// same compares rows by their %+v text: it shows a readable diff, and NaN
// equals NaN, which reflect.DeepEqual would deny.
func same[T any](t *testing.T, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range got {
		if g, w := fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", want[i]); g != w {
			t.Errorf("row %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

func openStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(t.Context()) })
	return s
}

// storeFiles lists every regular file under root, relative to it.
func storeFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func tmpFiles(t *testing.T, root string) []string {
	var tmps []string
	for _, f := range storeFiles(t, root) {
		if strings.Contains(f, ".tmp-") {
			tmps = append(tmps, f)
		}
	}
	return tmps
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
