package duckdb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// The fixtures are hand-written: rows of two pairs on both sides of the UTC
// midnight of 2024-03-10, timestamps with microseconds, NaN and ±Inf.

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
		{Pair: "BTC/USD", TradeID: 103, Price: 68001, Qty: 1e-8, Side: market.SideBuy, TS: at("2024-03-10T00:00:00Z"), Source: market.SourceReplay},
		{Pair: "ETH/USD", TradeID: 7, Price: 3500.75, Qty: 2, Side: market.SideBuy, OrdType: market.OrdLimit, TS: at("2024-03-10T00:00:00.5Z"), Source: market.SourceKrakenWS},
		{Pair: "BTC/USD", TradeID: 0, Price: 68002.5, Qty: 3, Side: market.SideSell, OrdType: market.OrdMarket, TS: at("2024-03-10T00:00:01.000001Z"), Source: "archive"},
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
		{Pair: "ETH/USD", TS: at("2024-03-10T00:00:00Z"), SchemaVersion: market.FeatureSchemaVersion, Warm: true, Close: 10.5},
	}
	for i := range rows {
		for j := range rows[i].Values {
			rows[i].Values[j] = float64(i*100+j) / 7
		}
	}
	rows[0].Values[market.FRet60] = math.NaN()
	rows[0].Values[market.FRSI14] = math.NaN()
	rows[1].Values[market.FVolumeZ20] = math.Inf(1)
	rows[2].Values[market.FImbalance] = math.Inf(-1)
	return rows
}

// same compares by %+v text: readable diffs, and NaN equals NaN.
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

// fixtureStore writes every fixture with package parquet into a data
// directory's store and opens its views.
func fixtureStore(t *testing.T) *DB {
	t.Helper()
	dir := t.TempDir()
	s, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	mustNil(t, err)
	mustNil(t, s.AddTrades(fixtureTrades()))
	mustNil(t, s.AddCandles(fixtureCandles()))
	mustNil(t, s.AddFeatures(fixtureFeatures()))
	mustNil(t, s.Close(t.Context()))
	return openDataDir(t, dir, Options{})
}

func TestRoundTripAllColumns(t *testing.T) {
	db := fixtureStore(t)
	ctx := t.Context()
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"trades", func(t *testing.T) {
			got, err := db.Trades(ctx, Query{})
			mustNil(t, err)
			same(t, got, fixtureTrades())
		}},
		{"candles", func(t *testing.T) {
			got, err := db.Candles(ctx, Query{})
			mustNil(t, err)
			same(t, got, fixtureCandles())
		}},
		{"features with NaN and Inf", func(t *testing.T) {
			got, err := db.Features(ctx, Query{})
			mustNil(t, err)
			same(t, got, fixtureFeatures())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestFilters(t *testing.T) {
	db := fixtureStore(t)
	tr := fixtureTrades()
	tests := []struct {
		name string
		q    Query
		want []market.Trade
	}{
		{"one pair", Query{Pair: "BTC/USD"}, []market.Trade{tr[0], tr[1], tr[2], tr[4]}},
		{"other pair", Query{Pair: "ETH/USD"}, tr[3:4]},
		{"from is inclusive", Query{Pair: "BTC/USD", From: tr[2].TS}, []market.Trade{tr[2], tr[4]}},
		{"to is exclusive", Query{Pair: "BTC/USD", To: tr[2].TS}, tr[:2]},
		{"µs precision at both ends", Query{From: tr[1].TS, To: tr[1].TS.Add(time.Microsecond)}, tr[1:2]},
		{"range across midnight, all pairs", Query{From: tr[1].TS, To: tr[4].TS}, tr[1:4]},
		{"range inside one day", Query{From: at("2024-03-10T00:00:00.1Z"), To: at("2024-03-10T12:00:00Z")}, tr[3:5]},
		{"empty range", Query{From: at("2024-03-11T00:00:00Z")}, nil},
		{"unknown pair", Query{Pair: "DOGE/USD"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Trades(t.Context(), tt.q)
			mustNil(t, err)
			same(t, got, tt.want)
		})
	}
}

func TestPairSpellings(t *testing.T) {
	db := fixtureStore(t)
	want, err := db.Candles(t.Context(), Query{Pair: "BTC/USD"})
	mustNil(t, err)
	if len(want) != 3 {
		t.Fatalf("BTC/USD has %d candles, want 3", len(want))
	}
	for _, p := range []string{"XBTUSD", "BTC-USD", "btc_usd", "XBT/USD", "XXBTZUSD"} {
		t.Run(p, func(t *testing.T) {
			got, err := db.Candles(t.Context(), Query{Pair: p})
			mustNil(t, err)
			same(t, got, want)
		})
	}
	if _, err := db.Candles(t.Context(), Query{Pair: "BTC"}); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("bad pair: %v, want ErrInvalid", err)
	}
}

// TestAgreesWithArrowReader cross-checks DuckDB against package parquet's
// own reader on the same ranges.
func TestAgreesWithArrowReader(t *testing.T) {
	db := fixtureStore(t)
	for _, q := range []Query{{}, {Pair: "ETH-USD"}, {From: at("2024-03-09T23:59:30Z")}, {To: at("2024-03-10T00:00:00Z")}} {
		t.Run(fmt.Sprintf("%+v", q), func(t *testing.T) {
			got, err := db.Features(t.Context(), q)
			mustNil(t, err)
			want, err := parquet.ReadFeatures(db.root, q.Pair, q.From, q.To)
			mustNil(t, err)
			slices.SortStableFunc(want, func(a, b market.FeatureRow) int {
				return cmp.Or(a.TS.Compare(b.TS), cmp.Compare(a.Pair, b.Pair))
			})
			same(t, got, want)
		})
	}
}

func TestEmptyStore(t *testing.T) {
	tests := []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"empty directory", func(t *testing.T) string { return t.TempDir() }},
		{"missing directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }},
		{"other dataset only", func(t *testing.T) string {
			dir := t.TempDir()
			s, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
			mustNil(t, err)
			mustNil(t, s.AddCandles(fixtureCandles()))
			mustNil(t, s.Close(t.Context()))
			return dir
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDataDir(t, tt.dir(t), Options{})
			ctx := t.Context()
			trades, err := db.Trades(ctx, Query{})
			mustNil(t, err)
			feats, err := db.Features(ctx, Query{Pair: "BTC/USD", From: at("2024-01-01T00:00:00Z")})
			mustNil(t, err)
			pairs, err := db.Pairs(ctx, parquet.DatasetTrades)
			mustNil(t, err)
			if len(trades)+len(feats)+len(pairs) != 0 {
				t.Fatalf("got %d trades, %d features, pairs %q from an empty dataset", len(trades), len(feats), pairs)
			}
		})
	}
}

func TestPairs(t *testing.T) {
	db := fixtureStore(t)
	got, err := db.Pairs(t.Context(), parquet.DatasetCandles)
	mustNil(t, err)
	if !slices.Equal(got, []string{"BTC/USD", "ETH/USD"}) {
		t.Fatalf("pairs %q", got)
	}
	if _, err := db.Pairs(t.Context(), parquet.Dataset("x'; DROP")); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("bad dataset: %v, want ErrInvalid", err)
	}
}

func TestEachStopsOnCallbackError(t *testing.T) {
	db := fixtureStore(t)
	stop := errors.New("stop")
	var seen int
	err := db.EachCandle(t.Context(), Query{}, func(market.Candle) error {
		seen++
		if seen == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 2 {
		t.Fatalf("err %v after %d rows, want stop after 2", err, seen)
	}
}

func TestCancelledContext(t *testing.T) {
	db := fixtureStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := db.Trades(ctx, Query{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// TestMissingFeatureColumnIsNaN stores a feature file of an "older schema"
// (without ret_1) beside a current one: union_by_name gives NULL there,
// which must read as NaN.
func TestMissingFeatureColumnIsNaN(t *testing.T) {
	fixture := fixtureStore(t)
	old := filepath.Join(fixture.root, "features", "pair_slug=BTC-USD", "date=2024-03-08", "data.parquet")
	mustNil(t, mkdirAll(filepath.Dir(old)))
	_, err := fixture.sql.ExecContext(t.Context(), fmt.Sprintf(`COPY (SELECT 'BTC/USD' AS pair, TIMESTAMPTZ '2024-03-08 12:00:00+00' AS ts,
		0 AS schema_version, true AS warm, 2.0 AS close, 0.5 AS ret_5) TO '%s' (FORMAT parquet)`, old))
	mustNil(t, err)
	db := openDataDir(t, filepath.Dir(fixture.root), Options{}) // the views list the files at open
	got, err := db.Features(t.Context(), Query{Pair: "BTC/USD", To: at("2024-03-09T00:00:00Z")})
	mustNil(t, err)
	if len(got) != 1 || !math.IsNaN(got[0].Values[market.FRet1]) || got[0].Values[market.FRet5] != 0.5 {
		t.Fatalf("got %+v", got)
	}
}

func TestOpenRejectsUnsafeRoot(t *testing.T) {
	for _, dir := range []string{"/tmp/it's", "/tmp/a*b", "/tmp/a?b", "/tmp/[ab]"} {
		if _, err := OpenDataDir(t.Context(), dir, Options{}); !errors.Is(err, market.ErrInvalid) {
			t.Errorf("OpenDataDir(%q): %v, want ErrInvalid", dir, err)
		}
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

// TestSeesNewWrites checks that a DB open during a write reads each
// rewrite of a day file it lists: DuckDB caches no Parquet data between
// queries. A new day's file is read once the views are opened again (they
// list the files at open).
func TestSeesNewWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	mustNil(t, err)
	first := fixtureTrades()[2] // BTC/USD, 2024-03-10
	var db *DB
	const n = 5
	for i := range n {
		tr := first
		tr.TradeID, tr.TS = first.TradeID+int64(i), first.TS.Add(time.Duration(i)*time.Second)
		mustNil(t, s.AddTrades([]market.Trade{tr}))
		mustNil(t, s.Flush(t.Context()))
		if db == nil {
			db = openDataDir(t, dir, Options{})
		}
		got, err := db.Trades(t.Context(), Query{})
		mustNil(t, err)
		if len(got) != i+1 {
			t.Fatalf("after %d writes DuckDB reads %d trades", i+1, len(got))
		}
	}
	mustNil(t, s.AddTrades(fixtureTrades()[:1])) // 2024-03-09: a new file
	mustNil(t, s.Flush(t.Context()))
	got, err := openDataDir(t, dir, Options{}).Trades(t.Context(), Query{})
	mustNil(t, err)
	if len(got) != n+1 {
		t.Fatalf("opened after a new day's file: %d trades, want %d", len(got), n+1)
	}
}
