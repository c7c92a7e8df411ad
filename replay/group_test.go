package replay

import (
	"reflect"
	"testing"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/market"
)

func TestGroupSources(t *testing.T) {
	at := func(s string) time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(mustDur(s)) }
	src := func(pair, from, to string) *Source {
		return &Source{Pair: pair, firstTS: at(from), lastTS: at(to)}
	}
	a, b, c := src("A/USD", "0h", "2h"), src("B/USD", "1h", "3h"), src("C/USD", "100h", "101h")
	groups := GroupSources([]*Source{c, a, b})
	if len(groups) != 2 || !reflect.DeepEqual(groups[0].Pairs(), []string{"A/USD", "B/USD"}) ||
		!reflect.DeepEqual(groups[1].Pairs(), []string{"C/USD"}) {
		t.Fatalf("groups: %v", groups)
	}
	if !groups[0].Last().Equal(at("3h")) {
		t.Errorf("last = %s", groups[0].Last())
	}
}

func mustDur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

// A dense and a sparse replay of one period start together: each snapshot
// holds exactly its trades up to the common start (the sparse one's 50th).
func TestSnapshotSizesAlignWithoutLoss(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(pair string, every time.Duration, n int) *Source {
		var trades []market.Trade
		for i := range n {
			trades = append(trades, market.Trade{Pair: pair, TradeID: int64(i + 1), Price: 1, Qty: 1, TS: t0.Add(time.Duration(i) * every)})
		}
		s := &Source{Pair: pair, open: func() (Trades, error) { return fakekraken.NewSliceSource(trades), nil }}
		if err := s.scan(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	dense, sparse := mk("A/USD", time.Second, 5000), mk("B/USD", 10*time.Second, 500)
	g := &Group{Sources: []*Source{dense, sparse}}
	sizes, start := g.SnapshotSizes()
	if want := t0.Add(490 * time.Second); !start.Equal(want) {
		t.Errorf("start %s, want %s", start, want)
	}
	if !reflect.DeepEqual(sizes, []int{491, 50}) {
		t.Errorf("sizes %v, want [491 50]", sizes)
	}
	short := &Group{Sources: []*Source{mk("C/USD", time.Second, 3)}}
	if sizes, _ := short.SnapshotSizes(); !reflect.DeepEqual(sizes, []int{3}) {
		t.Errorf("a replay shorter than a snapshot: %v", sizes)
	}
}
