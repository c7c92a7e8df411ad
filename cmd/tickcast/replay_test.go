package main

import (
	"github.com/tickcast/tickcast/internal/datadir"
	"reflect"
	"testing"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

func TestParseReplayList(t *testing.T) {
	tests := []struct {
		name, list, pair string
		pairSet          bool
		want             []replayItem
		wantErr          bool
	}{
		{"one file, pair given", "a.csv", "XBT/USD", true, []replayItem{{"BTC/USD", []string{"a.csv"}}}, false},
		{"files concatenated under each pair", "a.csv,b.csv", "BTC/USD,ETH-USD", true,
			[]replayItem{{"BTC/USD", []string{"a.csv", "b.csv"}}, {"ETH/USD", []string{"a.csv", "b.csv"}}}, false},
		{"pair from the file name", "/d/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz", "BTC/USD", false,
			[]replayItem{{"ETH/USDT", []string{"/d/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"}}}, false},
		{"no pair in the name: --pair's default", "trades.csv", "BTC/USD", false, []replayItem{{"BTC/USD", []string{"trades.csv"}}}, false},
		{"PAIR=FILE items", "ETH/USDT=a.csv.gz, BTC-USD=b.csv,ETH/USDT=c.csv.gz", "", false,
			[]replayItem{{"ETH/USDT", []string{"a.csv.gz", "c.csv.gz"}}, {"BTC/USD", []string{"b.csv"}}}, false},
		{"= in a path that is no pair", "/tmp/x=y/a.csv", "BTC/USD", true, []replayItem{{"BTC/USD", []string{"/tmp/x=y/a.csv"}}}, false},
		{"pair without file", "ETH/USDT=", "", false, nil, true},
		{"empty", " , ", "BTC/USD", false, nil, true},
		{"bad --pair", "a.csv", "NOPE", true, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseReplayList(tc.list, tc.pair, tc.pairSet)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseHorizons(t *testing.T) {
	for in, want := range map[string][]int{"1,5": {1, 5}, "5, 1,5": {1, 5}, "60": {60}} {
		b := bootFlags{horizons: in}
		got, err := b.parseHorizons()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "1441", "x", "1,-2"} {
		b := bootFlags{horizons: in}
		if _, err := b.parseHorizons(); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}

func TestGroupReplays(t *testing.T) {
	at := func(s string) time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(mustDur(s)) }
	src := func(pair, from, to string) *replaySource {
		return &replaySource{pair: pair, firstTS: at(from), lastTS: at(to)}
	}
	a, b, c := src("A/USD", "0h", "2h"), src("B/USD", "1h", "3h"), src("C/USD", "100h", "101h")
	groups := groupReplays([]*replaySource{c, a, b})
	if len(groups) != 2 || !reflect.DeepEqual(groups[0].pairs(), []string{"A/USD", "B/USD"}) ||
		!reflect.DeepEqual(groups[1].pairs(), []string{"C/USD"}) {
		t.Fatalf("groups: %v", groups)
	}
	if !groups[0].last().Equal(at("3h")) {
		t.Errorf("last = %s", groups[0].last())
	}
}

func mustDur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Candle files split at --replay-from (default: a day before their end):
// before it is the backfill's, after it streams as reconstructed trades.
func TestLoadReplaySourceSplitsCandles(t *testing.T) {
	path := realdata.Path(t, realdata.KrakenXBT1m21d)
	src, err := loadReplaySource(replayItem{"BTC/USD", []string{path}}, time.Time{}, defaultReplaySpan)
	if err != nil {
		t.Fatal(err)
	}
	// The file's last candle starts 2023-03-21T23:59Z.
	if want := time.Date(2023, 3, 21, 0, 0, 0, 0, time.UTC); !src.candles || !src.backfill || !src.split.Equal(want) {
		t.Errorf("split %s backfill %v candles %v; want %s", src.split, src.backfill, src.candles, want)
	}
	if src.first().Before(src.split) || src.head[0].Source != market.SourceReconstructed {
		t.Errorf("first streamed trade %+v", src.head[0])
	}
	from := time.Date(2023, 3, 10, 12, 0, 30, 0, time.UTC) // inside a candle: the next one starts the stream
	src, err = loadReplaySource(replayItem{"BTC/USD", []string{path}}, from, defaultReplaySpan)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2023, 3, 10, 12, 1, 0, 0, time.UTC); !src.split.Equal(want) {
		t.Errorf("split %s, want %s", src.split, want)
	}
	if _, err := loadReplaySource(replayItem{"BTC/USD", []string{path}}, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 0); err == nil {
		t.Error("--replay-from after the file: want an error")
	}
	trades := realdata.Path(t, realdata.KrakenTrades1h)
	if _, err := loadReplaySource(replayItem{"BTC/USD", []string{path, trades}}, time.Time{}, defaultReplaySpan); err == nil {
		t.Error("trade and candle files mixed: want an error")
	}
	src, err = loadReplaySource(replayItem{"BTC/USD", []string{trades}}, time.Time{}, defaultReplaySpan)
	if err != nil || src.candles || src.backfill || src.count != 2672 {
		t.Errorf("trade file: %v candles %v, %d trades", err, src.candles, src.count)
	}
}

// A dense and a sparse replay of one period start together: each snapshot
// holds exactly its trades up to the common start (the sparse one's 50th).
func TestSnapshotSizesAlignWithoutLoss(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(pair string, every time.Duration, n int) *replaySource {
		var trades []market.Trade
		for i := range n {
			trades = append(trades, market.Trade{Pair: pair, TradeID: int64(i + 1), Price: 1, Qty: 1, TS: t0.Add(time.Duration(i) * every)})
		}
		s := &replaySource{pair: pair, open: func() (fakekraken.TradeSource, error) { return fakekraken.NewSliceSource(trades), nil }}
		if err := s.scan(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	dense, sparse := mk("A/USD", time.Second, 5000), mk("B/USD", 10*time.Second, 500)
	g := &replayGroup{sources: []*replaySource{dense, sparse}}
	sizes, start := g.snapshotSizes()
	if want := t0.Add(490 * time.Second); !start.Equal(want) {
		t.Errorf("start %s, want %s", start, want)
	}
	if !reflect.DeepEqual(sizes, []int{491, 50}) {
		t.Errorf("sizes %v, want [491 50]", sizes)
	}
	short := &replayGroup{sources: []*replaySource{mk("C/USD", time.Second, 3)}}
	if sizes, _ := short.snapshotSizes(); !reflect.DeepEqual(sizes, []int{3}) {
		t.Errorf("a replay shorter than a snapshot: %v", sizes)
	}
}

// Live, the top-up backfill starts where the store's candles end (or
// --backfill-days back when it holds none) and ends at the current minute.
func TestTopUpRequest(t *testing.T) {
	dir := t.TempDir()
	f := &runFlags{dataDir: dir, boot: bootFlags{backfillDays: 7}}
	now := time.Date(2025, 8, 18, 12, 30, 40, 0, time.UTC)
	req, ok := topUpRequest(f, &runPlan{live: true, pairs: []string{"BTC/USD"}}, now)
	if !ok || !req.From.Equal(now.Truncate(time.Minute).AddDate(0, 0, -7)) || !req.To.Equal(now.Truncate(time.Minute)) ||
		req.Source != "kraken" || !reflect.DeepEqual(req.Pairs, []string{"BTC/USD"}) {
		t.Errorf("empty store: %+v %v", req, ok)
	}
	if _, ok := topUpRequest(f, &runPlan{pairs: []string{"BTC/USD"}}, now); ok {
		t.Error("a replay needs no top-up")
	}
	// Hand-written candles (not market data): the store ends at 12:00.
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 8, 18, 11, 58, 0, 0, time.UTC)
	for i := range 2 {
		s := start.Add(time.Duration(i) * time.Minute)
		c := market.Candle{Pair: "BTC/USD", Start: s, End: s.Add(time.Minute), Open: 1, High: 1, Low: 1, Close: 1, VWAP: 1, Complete: true}
		if err := st.AddCandles([]market.Candle{c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	req, ok = topUpRequest(f, &runPlan{live: true, pairs: []string{"BTC/USD"}}, now)
	if want := time.Date(2025, 8, 18, 12, 0, 0, 0, time.UTC); !ok || !req.From.Equal(want) {
		t.Errorf("store ending at %s: %+v %v", want, req, ok)
	}
	if _, ok := topUpRequest(f, &runPlan{live: true, pairs: []string{"BTC/USD"}}, start.Add(2*time.Minute+30*time.Second)); ok {
		t.Error("a store that reaches the current minute needs no top-up")
	}
}
