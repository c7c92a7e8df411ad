package market

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
)

var sanityNow = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)

func newTestSanity(tb testing.TB, cfg SanityConfig) *Sanity {
	tb.Helper()
	s, err := NewSanity(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func sanityTrade(price, qty float64, ts time.Time) Trade {
	return Trade{Pair: "BTC/USD", TradeID: 1, Price: price, Qty: qty, Side: SideBuy, TS: ts, Source: SourceKrakenWS}
}

// warm gives pair n accepted trades at price.
func warm(tb testing.TB, s *Sanity, pair string, price float64, n int) {
	tb.Helper()
	for i := range n {
		t := sanityTrade(price, 0.1, sanityNow)
		t.Pair, t.TradeID = pair, int64(i)
		if err := s.Check(t, sanityNow); err != nil {
			tb.Fatalf("warm-up trade %d: %v", i, err)
		}
	}
}

func reasonOf(err error) RejectReason {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return 0
}

// One case per reason, plus the boundaries that must still pass, and the
// trades of issue #9 (2100, a day ahead, 1e308, a negative price).
func TestSanityReasons(t *testing.T) {
	const p = 10000.0
	at := func(d time.Duration) time.Time { return sanityNow.Add(d) }
	cases := []struct {
		name  string
		trade Trade
		now   time.Time
		want  RejectReason // 0: accepted
	}{
		{"ok", sanityTrade(p, 0.5, sanityNow), sanityNow, 0},
		{"empty pair", Trade{Price: p, Qty: 1, TS: sanityNow}, sanityNow, RejectMalformed},
		{"negative trade_id", Trade{Pair: "BTC/USD", TradeID: -1, Price: p, Qty: 1, TS: sanityNow}, sanityNow, RejectMalformed},
		{"zero ts", sanityTrade(p, 1, time.Time{}), sanityNow, RejectTimeRange},
		{"before bitcoin", sanityTrade(p, 1, time.Date(2009, 1, 2, 23, 59, 59, 0, time.UTC)), time.Time{}, RejectTimeRange},
		{"year 2100 (#9)", sanityTrade(p, 1, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)), time.Time{}, RejectTimeRange},
		{"price NaN", sanityTrade(math.NaN(), 1, sanityNow), sanityNow, RejectNonFinite},
		{"qty +Inf", sanityTrade(p, math.Inf(1), sanityNow), sanityNow, RejectNonFinite},
		{"price -Inf", sanityTrade(math.Inf(-1), 1, sanityNow), sanityNow, RejectNonFinite},
		{"negative price (#9)", sanityTrade(-p, 1, sanityNow), sanityNow, RejectNonPositive},
		{"zero price", sanityTrade(0, 1, sanityNow), sanityNow, RejectNonPositive},
		{"zero qty", sanityTrade(p, 0, sanityNow), sanityNow, RejectNonPositive},
		{"negative qty", sanityTrade(p, -1, sanityNow), sanityNow, RejectNonPositive},
		{"price = qty = 1e308 (#9)", sanityTrade(1e308, 1e308, sanityNow), sanityNow, RejectPriceBound},
		{"price at MaxPrice", sanityTrade(DefaultMaxPrice, 1e-9, sanityNow), time.Time{}, RejectPriceBand},
		{"qty over MaxQty", sanityTrade(p, 1.0000001e12, sanityNow), sanityNow, RejectQtyBound},
		{"notional over", sanityTrade(p, 1.1e6, sanityNow), sanityNow, RejectNotionalBound},
		{"notional at bound", sanityTrade(p, 1e6, sanityNow), sanityNow, 0},
		{"a day ahead (#9)", sanityTrade(p, 1, at(24*time.Hour)), sanityNow, RejectFuture},
		{"just beyond tolerance", sanityTrade(p, 1, at(5*time.Second+time.Microsecond)), sanityNow, RejectFuture},
		{"at tolerance", sanityTrade(p, 1, at(5*time.Second)), sanityNow, 0},
		{"a day ahead, no clock", sanityTrade(p, 1, at(24*time.Hour)), time.Time{}, 0},
		{"just beyond max behind", sanityTrade(p, 1, at(-2*time.Hour-time.Microsecond)), sanityNow, RejectBehind},
		{"at max behind", sanityTrade(p, 1, at(-2*time.Hour)), sanityNow, 0},
		{"a year behind, no clock", sanityTrade(p, 1, at(-365*24*time.Hour)), time.Time{}, 0},
		{"over the band", sanityTrade(p*10*(1+1e-12), 1, sanityNow), sanityNow, RejectPriceBand},
		{"under the band", sanityTrade(p/10*(1-1e-12), 1, sanityNow), sanityNow, RejectPriceBand},
		{"top of the band", sanityTrade(p*10, 1e-3, sanityNow), sanityNow, 0},
		{"bottom of the band", sanityTrade(p/10, 1, sanityNow), sanityNow, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSanity(t, SanityConfig{})
			warm(t, s, "BTC/USD", p, DefaultMinHistory)
			err := s.Check(tc.trade, tc.now)
			if got := reasonOf(err); got != tc.want || (err == nil) != (tc.want == 0) {
				t.Fatalf("Check = %v (reason %q), want reason %q", err, got, tc.want)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestSanityPairLimit(t *testing.T) {
	s := newTestSanity(t, SanityConfig{MaxPairs: 2})
	warm(t, s, "BTC/USD", 100, 1)
	warm(t, s, "ETH/USD", 10, 1)
	tr := sanityTrade(1, 1, sanityNow)
	tr.Pair = "SOL/USD"
	if err := s.Check(tr, sanityNow); reasonOf(err) != RejectPairLimit {
		t.Fatalf("a third pair: %v, want pair_limit", err)
	}
	warm(t, s, "BTC/USD", 100, 1) // known pairs still pass
}

// Before MinHistory accepted trades only the absolute bounds apply.
func TestSanityWarmUp(t *testing.T) {
	s := newTestSanity(t, SanityConfig{MinHistory: 3, MedianWindow: 5})
	for i, price := range []float64{100, 5000, 100} {
		if err := s.Check(sanityTrade(price, 1, sanityNow), sanityNow); err != nil {
			t.Fatalf("warm-up trade %d at %v: %v", i, price, err)
		}
	}
	if err := s.Check(sanityTrade(1001, 1, sanityNow), sanityNow); reasonOf(err) != RejectPriceBand {
		t.Fatalf("after warm-up (median 100): %v, want price_band", err)
	}
}

// No reject but price_band touches any state, and a price_band reject
// leaves the prices (the median) alone.
func TestSanityRejectsKeepState(t *testing.T) {
	s := newTestSanity(t, SanityConfig{})
	warm(t, s, "BTC/USD", 100, 30)
	before := s.snapshot()
	bad := []Trade{
		sanityTrade(100, 1, sanityNow.Add(time.Hour)), sanityTrade(100, 1, sanityNow.Add(-3*time.Hour)),
		sanityTrade(math.NaN(), 1, sanityNow), sanityTrade(-1, 1, sanityNow), sanityTrade(1e300, 1, sanityNow),
		{Pair: "ETH/USD", Price: 1, Qty: 1, TS: time.Date(2100, 6, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tr := range bad {
		if err := s.Check(tr, sanityNow); err == nil {
			t.Fatalf("%+v accepted", tr)
		}
	}
	if after := s.snapshot(); !equalSnapshots(before, after) {
		t.Fatalf("state changed by rejects:\n%v\n%v", before, after)
	}
	if err := s.Check(sanityTrade(5000, 1, sanityNow), sanityNow); reasonOf(err) != RejectPriceBand {
		t.Fatalf("5000 after 100s: %v", err)
	}
	if h := s.pairs["BTC/USD"]; h.median() != 100 || len(h.streak) != 1 {
		t.Fatalf("median %v streak %v after a band reject", h.median(), h.streak)
	}
}

// A lasting move beyond the band is accepted after RebaseAfter consistent
// rejects; an inconsistent run (garbage both ways) never is.
func TestSanityRebase(t *testing.T) {
	s := newTestSanity(t, SanityConfig{MedianWindow: 11, MinHistory: 5, RebaseAfter: 6})
	warm(t, s, "BTC/USD", 100, 11)
	for i := range 5 {
		if err := s.Check(sanityTrade(2000+float64(i), 1, sanityNow), sanityNow); reasonOf(err) != RejectPriceBand {
			t.Fatalf("move trade %d: %v, want price_band", i, err)
		}
	}
	if err := s.Check(sanityTrade(2005, 1, sanityNow), sanityNow); err != nil {
		t.Fatalf("6th consistent trade: %v, want a rebase", err)
	}
	if err := s.Check(sanityTrade(2010, 1, sanityNow), sanityNow); err != nil {
		t.Fatalf("after the rebase: %v", err)
	}
	if err := s.Check(sanityTrade(100, 1, sanityNow), sanityNow); reasonOf(err) != RejectPriceBand {
		t.Fatalf("the old level after the rebase: %v, want price_band", err)
	}

	s = newTestSanity(t, SanityConfig{MedianWindow: 11, MinHistory: 5, RebaseAfter: 6})
	warm(t, s, "BTC/USD", 100, 11)
	for i := range 100 {
		price := []float64{2000, 1, 2000, 0.5}[i%4]
		if err := s.Check(sanityTrade(price, 1, sanityNow), sanityNow); reasonOf(err) != RejectPriceBand {
			t.Fatalf("garbage trade %d at %v: %v, want price_band", i, price, err)
		}
	}
	if err := s.Check(sanityTrade(100, 1, sanityNow), sanityNow); err != nil || len(s.pairs["BTC/USD"].streak) != 0 {
		t.Fatalf("an accepted trade must end the run: %v", err)
	}
}

// The median is that of the last MedianWindow accepted prices.
func TestSanityMedianWindow(t *testing.T) {
	const window = 7
	s := newTestSanity(t, SanityConfig{MedianWindow: window, MinHistory: window, PriceBand: 1e6})
	var accepted []float64
	for i := range 500 {
		price := 100 + float64((i*37)%101)
		if err := s.Check(sanityTrade(price, 1, sanityNow), sanityNow); err != nil {
			t.Fatal(err)
		}
		accepted = append(accepted, price)
		last := slices.Sorted(slices.Values(accepted[max(0, len(accepted)-window):]))
		h := s.pairs["BTC/USD"]
		if h.median() != last[len(last)/2] || len(h.ring) > window || !slices.Equal(h.sorted, last) {
			t.Fatalf("trade %d: median %v sorted %v, want %v", i, h.median(), h.sorted, last)
		}
	}
}

func TestSanityConfig(t *testing.T) {
	s := newTestSanity(t, SanityConfig{})
	want := SanityConfig{FutureTolerance: 5 * time.Second, MaxBehind: 2 * time.Hour, PriceBand: 10, MedianWindow: 101,
		MinHistory: 20, RebaseAfter: 101, MaxPrice: 1e9, MaxQty: 1e12, MaxNotional: 1e10, MaxPairs: 256}
	if s.Config() != want {
		t.Fatalf("defaults %+v\nwant %+v", s.Config(), want)
	}
	bad := []SanityConfig{
		{FutureTolerance: -1}, {MaxBehind: -1}, {PriceBand: 1}, {PriceBand: 0.5}, {PriceBand: math.NaN()},
		{PriceBand: math.Inf(1)}, {MedianWindow: -1}, {MedianWindow: 1 << 20}, {RebaseAfter: 1 << 20},
		{MinHistory: -1}, {MedianWindow: 5, MinHistory: 6}, {MaxPrice: -1}, {MaxQty: math.NaN()}, {MaxNotional: -1}, {MaxPairs: -1},
	}
	for _, cfg := range bad {
		if _, err := NewSanity(cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewSanity(%+v) = %v, want ErrInvalid", cfg, err)
		}
	}
}

// The names are a contract with metrics and dead-letter files.
func TestRejectReasonNames(t *testing.T) {
	want := []string{"malformed", "time_range", "non_finite", "non_positive", "price_bound", "qty_bound",
		"notional_bound", "future", "behind", "pair_limit", "price_band"}
	var got []string
	for _, r := range RejectReasons() {
		got = append(got, r.String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("reasons %v, want %v", got, want)
	}
	if RejectReason(0).String() == "" || RejectReason(200).String() == "" {
		t.Fatal("an unknown reason needs a name too")
	}
	err := &RejectError{Reason: RejectFuture, Pair: "BTC/USD", TradeID: 7, Detail: "1h ahead"}
	if err.Error() != "trade BTC/USD/7: future: 1h ahead: invalid" {
		t.Fatalf("Error() = %q", err.Error())
	}
}

// Zero false rejects on the real hour of Kraken trades at the defaults,
// with the stream clock just after each trade (live) or at the newest
// trade so far (replay).
func TestSanityRealTrades(t *testing.T) {
	trades := loadKrakenTrades(t)
	live, replay := newTestSanity(t, SanityConfig{}), newTestSanity(t, SanityConfig{})
	var clock time.Time
	for _, tr := range trades {
		if tr.TS.After(clock) {
			clock = tr.TS
		}
		if err := live.Check(tr, tr.TS.Add(300*time.Millisecond)); err != nil {
			t.Fatalf("live: %v", err)
		}
		if err := replay.Check(tr, clock); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	t.Logf("%d real trades, 0 rejects", len(trades))
}

// Zero false rejects through three volatile weeks of real Kraken BTC/USD
// minutes (SVB/USDC de-peg) and eight years of ETH/USD hours, each bar
// replayed as four trades at its open, extremes and close. The only
// rejects are the two 0.15 prints of illiquid August 2015 ETH (median 3).
func TestSanityRealCandles(t *testing.T) {
	files := []struct {
		rel, pair   string
		wantRejects int
	}{
		{realdata.KrakenXBT1m21d, "BTC/USD", 0},
		{"kraken/ohlcvt/ETHUSD_60.2015-08-07_2023-03-31.csv.gz", "ETH/USD", 2},
	}
	for _, f := range files {
		t.Run(f.pair, func(t *testing.T) {
			s := newTestSanity(t, SanityConfig{})
			trades := ohlcvtTrades(t, realdata.Path(t, f.rel), f.pair)
			rejects := 0
			for _, tr := range trades {
				err := s.Check(tr, tr.TS)
				if err == nil {
					continue
				}
				rejects++
				if reasonOf(err) != RejectPriceBand || tr.Price != 0.15 || tr.TS.Year() != 2015 {
					t.Errorf("false reject: %v", err)
				}
			}
			if rejects != f.wantRejects {
				t.Fatalf("%d rejects of %d trades, want %d", rejects, len(trades), f.wantRejects)
			}
			t.Logf("%d trades, %d rejects", len(trades), rejects)
		})
	}
}

// ohlcvtTrades reads a Kraken OHLCVT file (no header:
// time,open,high,low,close,volume,trades) into four trades per bar.
func ohlcvtTrades(tb testing.TB, path, pair string) []Trade {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		if r, err = gzip.NewReader(f); err != nil {
			tb.Fatal(err)
		}
	}
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out []Trade
	for _, row := range rows {
		sec, err := strconv.ParseInt(row[0], 10, 64)
		if err != nil {
			tb.Fatalf("%s: time %q", path, row[0])
		}
		ts := time.Unix(sec, 0).UTC()
		vol, _ := strconv.ParseFloat(row[5], 64)
		if !(vol > 0) {
			continue
		}
		for i, col := range row[1:5] {
			price, err := strconv.ParseFloat(col, 64)
			if err != nil {
				tb.Fatalf("%s: price %q", path, col)
			}
			out = append(out, Trade{Pair: pair, TradeID: int64(len(out) + 1), Price: price, Qty: vol / 4,
				TS: ts.Add(time.Duration(i) * time.Second), Source: SourceReplay})
		}
	}
	return out
}

// FuzzSanity feeds byte-driven trade sequences to a small Sanity: it must
// not panic, keep its state within bounds and consistent, reject whatever
// Validate rejects, leave state alone on non-band rejects, and accept
// only trades within the bounds.
func FuzzSanity(f *testing.F) {
	f.Add([]byte{0, 10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
	f.Add([]byte("\x80\x7f\xef\xff\xff\xff\xff\xff\xff\x7f\xef\xff\xff\xff\xff\xff\xffthe year 2100 and a NaN"))
	f.Add(slices.Repeat([]byte{3, 40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 40))
	cfg := SanityConfig{MedianWindow: 7, MinHistory: 3, RebaseAfter: 5, MaxPairs: 3}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newTestSanity(t, cfg)
		cfg := s.Config()
		for len(data) >= 17 {
			tr, now := fuzzTrade(data[:17])
			data = data[17:]
			before := s.snapshot()
			err := s.Check(tr, now)
			checkFuzzResult(t, s, tr, now, err, before)
			if len(s.pairs) > cfg.MaxPairs {
				t.Fatalf("%d pairs", len(s.pairs))
			}
			for pair, h := range s.pairs {
				if len(h.ring) > cfg.MedianWindow || len(h.streak) > cfg.RebaseAfter ||
					!slices.Equal(h.sorted, slices.Sorted(slices.Values(h.ring))) {
					t.Fatalf("%s: state out of bounds or inconsistent: %+v", pair, h)
				}
			}
		}
	})
}

// fuzzTrade decodes 17 bytes: a flag byte (pair, raw or tame values, clock
// or none), then price, qty and time as raw bits or as small offsets.
func fuzzTrade(b []byte) (Trade, time.Time) {
	flags := b[0]
	u := func(i int) uint64 {
		var v uint64
		for _, c := range b[i : i+8] {
			v = v<<8 | uint64(c)
		}
		return v
	}
	price := 100 * math.Pow(2, float64(int8(b[1]))/8)
	qty := math.Pow(2, float64(int8(b[2]))/4)
	ts := sanityNow.Add(time.Duration(int16(uint16(b[3])<<8|uint16(b[4]))) * time.Second)
	if flags&0x80 != 0 {
		price, qty = math.Float64frombits(u(1)), math.Float64frombits(u(9))
	}
	if flags&0x40 != 0 {
		ts = time.Unix(0, int64(u(5))).UTC()
	}
	now := sanityNow
	if flags&0x20 != 0 {
		now = time.Time{}
	}
	pair := []string{"BTC/USD", "ETH/USD", "SOL/USD", "XRP/USD", ""}[int(flags&0x07)%5]
	return Trade{Pair: pair, TradeID: int64(int8(b[16])), Price: price, Qty: qty, TS: ts}, now
}

func checkFuzzResult(t *testing.T, s *Sanity, tr Trade, now time.Time, err error, before map[string]priceHistory) {
	t.Helper()
	cfg := s.Config()
	var re *RejectError
	switch {
	case err != nil && (!errors.As(err, &re) || re.Reason == 0 || re.Reason >= numRejectReasons || !errors.Is(err, ErrInvalid)):
		t.Fatalf("bad error %#v", err)
	case err == nil && tr.Validate() != nil:
		t.Fatalf("accepted %+v that Validate rejects: %v", tr, tr.Validate())
	case err == nil && (tr.Price > cfg.MaxPrice || tr.Qty > cfg.MaxQty || tr.TS.Year() < 2009 || tr.TS.Year() >= 2100):
		t.Fatalf("accepted %+v beyond the bounds", tr)
	case err == nil && !now.IsZero() && (tr.TS.After(now.Add(cfg.FutureTolerance)) || tr.TS.Before(now.Add(-cfg.MaxBehind))):
		t.Fatalf("accepted %+v outside the clock window", tr)
	case err != nil && re.Reason != RejectPriceBand && !equalSnapshots(before, s.snapshot()):
		t.Fatalf("reject %v changed the state", err)
	}
}

// snapshot copies every pair's state, for comparisons.
func (s *Sanity) snapshot() map[string]priceHistory {
	out := make(map[string]priceHistory, len(s.pairs))
	for pair, h := range s.pairs {
		out[pair] = priceHistory{ring: slices.Clone(h.ring), head: h.head, sorted: slices.Clone(h.sorted), streak: slices.Clone(h.streak)}
	}
	return out
}

func equalSnapshots(a, b map[string]priceHistory) bool {
	if len(a) != len(b) {
		return false
	}
	for pair, ha := range a {
		hb, ok := b[pair]
		if !ok || ha.head != hb.head || !slices.Equal(ha.ring, hb.ring) || !slices.Equal(ha.sorted, hb.sorted) || !slices.Equal(ha.streak, hb.streak) {
			return false
		}
	}
	return true
}
