package parquet

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
)

type readFunc[T any] func(root, pair string, from, to time.Time) ([]T, error)

// roundTrip adds rows in reverse order, closes the store and expects them
// back sorted by time, then pair.
func roundTrip[T any](t *testing.T, add func(*Store, []T) error, read readFunc[T], rows []T, key func(T) (time.Time, string)) {
	t.Helper()
	s := openStore(t, Options{})
	rev := slices.Clone(rows)
	slices.Reverse(rev)
	if err := add(s, rev); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := read(s.Root(), "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(rows)
	slices.SortStableFunc(want, func(a, b T) int {
		ta, pa := key(a)
		tb, pb := key(b)
		return cmp.Or(ta.Compare(tb), cmp.Compare(pa, pb))
	})
	same(t, got, want)
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"trades", func(t *testing.T) {
			roundTrip(t, (*Store).AddTrades, ReadTrades, fixtureTrades(),
				func(r market.Trade) (time.Time, string) { return r.TS, r.Pair })
		}},
		{"candles", func(t *testing.T) {
			roundTrip(t, (*Store).AddCandles, ReadCandles, fixtureCandles(),
				func(r market.Candle) (time.Time, string) { return r.Start, r.Pair })
		}},
		{"features with NaN and Inf", func(t *testing.T) {
			roundTrip(t, (*Store).AddFeatures, ReadFeatures, fixtureFeatures(),
				func(r market.FeatureRow) (time.Time, string) { return r.TS, r.Pair })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestPartitionsByUTCDay(t *testing.T) {
	s := openStore(t, Options{})
	mustNil(t, s.AddTrades(fixtureTrades()))
	mustNil(t, s.AddCandles(fixtureCandles()))
	mustNil(t, s.AddFeatures(fixtureFeatures()))
	mustNil(t, s.Flush(t.Context()))
	want := []string{
		// The candle of 23:59–00:00 belongs to the day of its start, its
		// feature row to the day of its ts (= end).
		"candles/pair_slug=BTC-USD/date=2024-03-09/data.parquet",
		"candles/pair_slug=BTC-USD/date=2024-03-10/data.parquet",
		"candles/pair_slug=ETH-USD/date=2024-03-10/data.parquet",
		"features/pair_slug=BTC-USD/date=2024-03-09/data.parquet",
		"features/pair_slug=BTC-USD/date=2024-03-10/data.parquet",
		"features/pair_slug=ETH-USD/date=2024-03-10/data.parquet",
		"trades/pair_slug=BTC-USD/date=2024-03-09/data.parquet",
		"trades/pair_slug=BTC-USD/date=2024-03-10/data.parquet",
		"trades/pair_slug=ETH-USD/date=2024-03-10/data.parquet",
	}
	got := slices.DeleteFunc(storeFiles(t, s.Root()), func(f string) bool { return filepath.Base(f) == lockName })
	if !slices.Equal(got, want) {
		t.Fatalf("files:\n got %q\nwant %q", got, want)
	}
	day1, err := ReadTrades(s.Root(), "BTC/USD", at("2024-03-09T00:00:00Z"), at("2024-03-10T00:00:00Z"))
	mustNil(t, err)
	same(t, day1, fixtureTrades()[:2])
}

func TestMergeSemantics(t *testing.T) {
	c1 := fixtureCandles()[0]
	c2 := c1
	c2.Close, c2.Repaired = 1.75, true // a correction re-emitted later
	noID := market.Trade{Pair: "BTC/USD", Price: 10, Qty: 1, Side: market.SideBuy, TS: at("2024-03-10T01:00:00Z"), Source: "a"}
	noIDAgain := noID
	noIDAgain.Source = "b" // same (pair, ts, price, qty, side): the same trade
	noIDOther := noID
	noIDOther.Qty = 2 // another trade at the same instant
	withID := market.Trade{Pair: "BTC/USD", TradeID: 5, Price: 10, Qty: 1, Side: market.SideBuy, TS: noID.TS, Source: "a"}
	withIDFixed := withID
	withIDFixed.Price = 11

	tests := []struct {
		name    string
		batches [][]market.Trade // each batch is added then flushed
		candles [][]market.Candle
		wantT   []market.Trade
		wantC   []market.Candle
	}{
		{name: "corrected candle replaces the first across flushes",
			candles: [][]market.Candle{{c1}, {c2}}, wantC: []market.Candle{c2}},
		{name: "last of two versions in one batch wins",
			candles: [][]market.Candle{{c2, c1}}, wantC: []market.Candle{c1}},
		{name: "trade_id is the key",
			batches: [][]market.Trade{{withID}, {withIDFixed}}, wantT: []market.Trade{withIDFixed}},
		{name: "without trade_id the key is ts, price, qty, side",
			batches: [][]market.Trade{{noID, noIDOther}, {noIDAgain}},
			wantT:   []market.Trade{noIDAgain, noIDOther}},
		{name: "an id trade and an id-less trade never collide",
			batches: [][]market.Trade{{noID}, {withID}}, wantT: []market.Trade{noID, withID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, Options{})
			for _, b := range tt.batches {
				mustNil(t, s.AddTrades(b))
				mustNil(t, s.Flush(t.Context()))
			}
			for _, b := range tt.candles {
				mustNil(t, s.AddCandles(b))
				mustNil(t, s.Flush(t.Context()))
			}
			gotT, err := ReadTrades(s.Root(), "", time.Time{}, time.Time{})
			mustNil(t, err)
			gotC, err := ReadCandles(s.Root(), "", time.Time{}, time.Time{})
			mustNil(t, err)
			same(t, gotT, tt.wantT)
			same(t, gotC, tt.wantC)
		})
	}
}

func TestReplayIsByteIdentical(t *testing.T) {
	trades := fixtureTrades()
	write := func(batches ...[]market.Trade) []byte {
		s := openStore(t, Options{})
		for _, b := range batches {
			mustNil(t, s.AddTrades(b))
			mustNil(t, s.Flush(t.Context()))
		}
		return readBytes(t, filepath.Join(PartitionDir(s.Root(), DatasetTrades, "BTC/USD", at("2024-03-10T00:00:00Z")), FileName))
	}
	once := write(trades)
	tests := []struct {
		name    string
		batches [][]market.Trade
	}{
		{"twice", [][]market.Trade{trades, trades}},
		{"three times in pieces", [][]market.Trade{trades[3:], trades, trades[:3]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := write(tt.batches...); !bytes.Equal(got, once) {
				t.Fatalf("replay wrote %d bytes that differ from the %d of one write", len(got), len(once))
			}
		})
	}
}

func TestFlushTriggers(t *testing.T) {
	trade := func(id int64, ts string) market.Trade {
		return market.Trade{Pair: "BTC/USD", TradeID: id, Price: 1, Qty: 1, Side: market.SideBuy, TS: at(ts)}
	}
	tests := []struct {
		name         string
		opts         Options
		adds         [][]market.Trade
		wantBuffered int
		wantFiles    int
	}{
		{"below FlushRows stays buffered", Options{FlushRows: 3},
			[][]market.Trade{{trade(1, "2024-03-10T01:00:00Z"), trade(2, "2024-03-10T01:00:01Z")}}, 2, 0},
		{"FlushRows writes the partition", Options{FlushRows: 3},
			[][]market.Trade{{trade(1, "2024-03-10T01:00:00Z"), trade(2, "2024-03-10T01:00:01Z")}, {trade(3, "2024-03-10T01:00:02Z")}}, 0, 1},
		{"a new day writes the older day", Options{FlushRows: 100},
			[][]market.Trade{{trade(1, "2024-03-09T23:59:59Z")}, {trade(2, "2024-03-10T00:00:00Z")}}, 1, 1},
		{"a late row for an older day waits", Options{FlushRows: 100},
			[][]market.Trade{{trade(1, "2024-03-10T00:00:00Z")}, {trade(2, "2024-03-09T23:59:59Z")}}, 2, 0},
		{"MaxBufferedRows writes everything", Options{FlushRows: 100, MaxBufferedRows: 2},
			[][]market.Trade{{trade(2, "2024-03-10T00:00:00Z"), trade(1, "2024-03-09T23:59:59Z"), {Pair: "ETH/USD", TradeID: 1, Price: 1, TS: at("2024-03-09T00:00:00Z")}}}, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, tt.opts)
			for _, a := range tt.adds {
				mustNil(t, s.AddTrades(a))
			}
			parts, err := Partitions(s.Root(), DatasetTrades, "", time.Time{}, time.Time{})
			mustNil(t, err)
			if s.Buffered() != tt.wantBuffered || len(parts) != tt.wantFiles {
				t.Fatalf("buffered %d files %d, want %d and %d", s.Buffered(), len(parts), tt.wantBuffered, tt.wantFiles)
			}
		})
	}
}

func TestAddRejectsBadRows(t *testing.T) {
	good := fixtureTrades()[0]
	badPair, zeroTS := good, good
	badPair.Pair = "BTC"
	zeroTS.TS = time.Time{}
	tests := []struct {
		name  string
		trade market.Trade
	}{
		{"pair", badPair},
		{"zero time", zeroTS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, Options{})
			err := s.AddTrades([]market.Trade{good, tt.trade})
			if !errors.Is(err, market.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if s.Buffered() != 0 {
				t.Fatalf("a rejected batch left %d rows buffered", s.Buffered())
			}
		})
	}
}

func TestNormalizesPairsAndTimes(t *testing.T) {
	s := openStore(t, Options{})
	in := fixtureTrades()[0]
	in.Pair = "XBTUSD"
	in.TS = in.TS.Add(789 * time.Nanosecond).In(time.FixedZone("CET", 3600)) // sub-µs, non-UTC
	mustNil(t, s.AddTrades([]market.Trade{in}))
	mustNil(t, s.Flush(t.Context()))
	for _, spelling := range []string{"BTC/USD", "btc-usd", "XXBTZUSD"} {
		got, err := ReadTrades(s.Root(), spelling, time.Time{}, time.Time{})
		mustNil(t, err)
		same(t, got, fixtureTrades()[:1])
	}
}

func TestReadRange(t *testing.T) {
	s := openStore(t, Options{})
	mustNil(t, s.AddTrades(fixtureTrades()))
	mustNil(t, s.Flush(t.Context()))
	all := fixtureTrades()
	tests := []struct {
		name     string
		pair     string
		from, to time.Time
		want     []market.Trade
	}{
		{"all pairs unbounded", "", time.Time{}, time.Time{}, []market.Trade{all[0], all[1], all[2], all[4], all[3]}},
		{"from is inclusive", "BTC/USD", all[2].TS, time.Time{}, all[2:4]},
		{"to is exclusive", "BTC/USD", time.Time{}, all[2].TS, all[:2]},
		{"one pair", "ETH-USD", time.Time{}, time.Time{}, all[4:]},
		{"unknown pair", "DOGE/USD", time.Time{}, time.Time{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadTrades(s.Root(), tt.pair, tt.from, tt.to)
			mustNil(t, err)
			same(t, got, tt.want)
		})
	}
}

func TestEmptyStoreReadsNothing(t *testing.T) {
	root := filepath.Join(t.TempDir(), "missing")
	got, err := ReadCandles(root, "BTC/USD", time.Time{}, time.Time{})
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want nothing", got, err)
	}
	pairs, err := Pairs(root, DatasetTrades)
	if err != nil || len(pairs) != 0 {
		t.Fatalf("pairs %v, %v; want none", pairs, err)
	}
}

func TestAtomicWrites(t *testing.T) {
	first, second := fixtureTrades()[:1], fixtureTrades()[1:2]
	tests := []struct {
		name   string
		break_ func(t *testing.T, s *Store, path string)
	}{
		{"failure before rename", func(t *testing.T, s *Store, _ string) {
			s.beforeRename = func(string) error { return errors.New("disk full") }
		}},
		{"corrupt existing file that cannot be quarantined", func(t *testing.T, s *Store, path string) {
			mustNil(t, os.WriteFile(path, []byte("PAR1 not really"), 0o644))
			s.opts.QuarantineDir = filepath.Join(t.TempDir(), "a-file")
			mustNil(t, os.WriteFile(s.opts.QuarantineDir, nil, 0o644))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, Options{})
			mustNil(t, s.AddTrades(first))
			mustNil(t, s.Flush(t.Context()))
			path := filepath.Join(PartitionDir(s.Root(), DatasetTrades, "BTC/USD", first[0].TS), FileName)
			tt.break_(t, s, path)
			before := readBytes(t, path)

			mustNil(t, s.AddTrades(second))
			if err := s.Flush(t.Context()); err == nil {
				t.Fatal("flush succeeded, want an error")
			}
			if !bytes.Equal(readBytes(t, path), before) {
				t.Fatal("a failed write changed the visible file")
			}
			if tmps := tmpFiles(t, s.Root()); len(tmps) > 0 {
				t.Fatalf("temporary files left: %q", tmps)
			}
			if s.Buffered() != 1 {
				t.Fatalf("buffered %d, want the row kept for a retry", s.Buffered())
			}
		})
	}
}

func TestRetryAfterFailedWrite(t *testing.T) {
	s := openStore(t, Options{})
	mustNil(t, s.AddTrades(fixtureTrades()))
	s.beforeRename = func(string) error { return errors.New("disk full") }
	if err := s.Flush(t.Context()); err == nil {
		t.Fatal("flush succeeded, want an error")
	}
	s.beforeRename = nil
	mustNil(t, s.Close(t.Context()))
	got, err := ReadTrades(s.Root(), "", time.Time{}, time.Time{})
	mustNil(t, err)
	if len(got) != len(fixtureTrades()) {
		t.Fatalf("read %d trades after the retry, want %d", len(got), len(fixtureTrades()))
	}
}

func TestStaleTempFiles(t *testing.T) {
	s := openStore(t, Options{})
	tr := fixtureTrades()[:1]
	mustNil(t, s.AddTrades(tr))
	mustNil(t, s.Flush(t.Context()))
	dir := PartitionDir(s.Root(), DatasetTrades, "BTC/USD", tr[0].TS)
	// What a crash between write and rename leaves behind.
	mustNil(t, os.WriteFile(filepath.Join(dir, FileName+".tmp-123"), []byte("half"), 0o644))

	got, err := ReadTrades(s.Root(), "", time.Time{}, time.Time{})
	mustNil(t, err)
	same(t, got, tr)
	mustNil(t, s.AddTrades(fixtureTrades()[1:2]))
	mustNil(t, s.Flush(t.Context()))
	if tmps := tmpFiles(t, s.Root()); len(tmps) > 0 {
		t.Fatalf("the next write left %q", tmps)
	}
}

func TestClosedStore(t *testing.T) {
	s := openStore(t, Options{})
	mustNil(t, s.Close(t.Context()))
	mustNil(t, s.Close(t.Context()))
	if err := s.AddTrades(fixtureTrades()); !errors.Is(err, ErrClosed) {
		t.Fatalf("AddTrades after Close: %v, want ErrClosed", err)
	}
	if err := s.Flush(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v, want ErrClosed", err)
	}
}

func TestFlushHonoursContext(t *testing.T) {
	s := openStore(t, Options{})
	mustNil(t, s.AddTrades(fixtureTrades()))
	buffered := s.Buffered()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush: %v, want context.Canceled", err)
	}
	if s.Buffered() != buffered {
		t.Fatalf("buffered %d, want all rows kept", s.Buffered())
	}
}

// TestConcurrentUse adds, flushes and reads from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	s := openStore(t, Options{FlushRows: 50})
	const writers, perWriter = 8, 300
	base := at("2024-03-09T23:00:00Z")
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			pair := []string{"BTC/USD", "ETH/USD"}[w%2]
			for i := range perWriter {
				id := int64(w*perWriter + i + 1)
				tr := market.Trade{Pair: pair, TradeID: id, Price: 1, Qty: 1, Side: market.SideSell, TS: base.Add(time.Duration(id) * 10 * time.Second)}
				if err := s.AddTrades([]market.Trade{tr}); err != nil {
					t.Error(err)
					return
				}
				if i%100 == 0 {
					if err := s.Flush(t.Context()); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := ReadTrades(s.Root(), "", time.Time{}, time.Time{}); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	mustNil(t, s.Close(t.Context()))
	got, err := ReadTrades(s.Root(), "", time.Time{}, time.Time{})
	mustNil(t, err)
	if len(got) != writers*perWriter {
		t.Fatalf("read %d trades, want %d", len(got), writers*perWriter)
	}
}

// TestTwoStoresOnePartition checks that the partition lock serialises two
// writers of the same partition instead of losing one's rows.
func TestTwoStoresOnePartition(t *testing.T) {
	root := t.TempDir()
	const rounds = 20
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			s, err := Open(root, Options{})
			if err != nil {
				t.Error(err)
				return
			}
			for i := range rounds {
				id := int64(w*rounds + i + 1)
				tr := market.Trade{Pair: "BTC/USD", TradeID: id, Price: 1, Qty: 1, Side: market.SideBuy, TS: at("2024-03-10T00:00:00Z").Add(time.Duration(id) * time.Second)}
				if err := errors.Join(s.AddTrades([]market.Trade{tr}), s.Flush(context.Background())); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := ReadTrades(root, "BTC/USD", time.Time{}, time.Time{})
	mustNil(t, err)
	if len(got) != 2*rounds {
		t.Fatalf("read %d trades, want %d", len(got), 2*rounds)
	}
}

func TestPartitionsAndPairs(t *testing.T) {
	s := openStore(t, Options{})
	mustNil(t, s.AddCandles(fixtureCandles()))
	mustNil(t, s.Flush(t.Context()))
	pairs, err := Pairs(s.Root(), DatasetCandles)
	mustNil(t, err)
	if !slices.Equal(pairs, []string{"BTC/USD", "ETH/USD"}) {
		t.Fatalf("pairs %q", pairs)
	}
	tests := []struct {
		from, to string
		want     []string
	}{
		{"", "", []string{"2024-03-09", "2024-03-10"}},
		{"2024-03-09T23:59:59Z", "", []string{"2024-03-09", "2024-03-10"}},
		{"2024-03-10T00:00:00Z", "", []string{"2024-03-10"}},
		{"", "2024-03-10T00:00:00Z", []string{"2024-03-09"}},
		{"", "2024-03-10T00:00:00.000001Z", []string{"2024-03-09", "2024-03-10"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%s", tt.from, tt.to), func(t *testing.T) {
			parts, err := Partitions(s.Root(), DatasetCandles, "XBT/USD", parseOpt(tt.from), parseOpt(tt.to))
			mustNil(t, err)
			var days []string
			for _, p := range parts {
				days = append(days, p.Day.Format(dateLayout))
			}
			if !slices.Equal(days, tt.want) {
				t.Fatalf("days %q, want %q", days, tt.want)
			}
		})
	}
	if _, err := Partitions(s.Root(), Dataset("../etc"), "", time.Time{}, time.Time{}); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("bad dataset: %v, want ErrInvalid", err)
	}
}

func parseOpt(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	return at(s)
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnixDay(t *testing.T) {
	tests := []struct {
		ts   string
		want string
	}{
		{"2024-03-09T23:59:59.999999Z", "2024-03-09"},
		{"2024-03-10T00:00:00Z", "2024-03-10"},
		{"2024-03-10T00:30:00+01:00", "2024-03-09"},
		{"1969-12-31T23:59:59Z", "1969-12-31"},
		{"1970-01-01T00:00:00Z", "1970-01-01"},
	}
	for _, tt := range tests {
		if got := dayStart(unixDay(at(tt.ts))).Format(dateLayout); got != tt.want {
			t.Errorf("%s: day %s, want %s", tt.ts, got, tt.want)
		}
	}
}
