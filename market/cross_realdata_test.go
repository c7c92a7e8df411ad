package market_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
)

// TestCrossStreamEqualsBackfillRealData: whatever order the pairs' rows come
// in (aligned, one pair lagging within or beyond the grace, shuffled within
// the horizon), the last revision of every row a Cross emits equals the
// backfill's CrossFill over all the pairs' rows at its TS, bit for bit.
func TestCrossStreamEqualsBackfillRealData(t *testing.T) {
	const n = 400
	btc := realfeatures.BinanceKlines(t, realdata.BinanceBTC90d, "BTC/USDT", n).Rows
	eth := realfeatures.BinanceKlines(t, realdata.BinanceETH90d, "ETH/USDT", n).Rows
	want := map[string]market.FeatureRow{}
	for i := range n {
		want[key(btc[i])] = market.CrossFill(btc[i], []market.FeatureRow{eth[i]})
		want[key(eth[i])] = market.CrossFill(eth[i], []market.FeatureRow{btc[i]})
	}
	orders := map[string][]market.FeatureRow{
		"aligned":             interleave(btc, eth, 0),
		"eth 3 candles late":  interleave(btc, eth, 3),
		"eth 40 candles late": interleave(btc, eth, 40),
		"shuffled":            shuffled(btc, eth),
	}
	for name, rows := range orders {
		t.Run(name, func(t *testing.T) {
			x, err := market.NewCross(market.CrossConfig{Pairs: []string{"BTC/USDT", "ETH/USDT"},
				Grace: 2 * time.Minute, Horizon: market.FeatureWindow * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]market.FeatureRow{}
			var out []market.FeatureRow
			for _, r := range rows {
				out = x.Add(r, out[:0])
				keep(got, out)
			}
			keep(got, x.Flush(nil))
			if len(got) != len(want) {
				t.Fatalf("%d rows out, want %d", len(got), len(want))
			}
			for k, w := range want {
				g := got[k]
				if g.Revision != w.Revision {
					t.Fatalf("%s: revision %d, want %d", k, g.Revision, w.Revision)
				}
				for f := range w.Values {
					if math.Float64bits(g.Values[f]) != math.Float64bits(w.Values[f]) && !(math.IsNaN(g.Values[f]) && math.IsNaN(w.Values[f])) {
						t.Fatalf("%s: %s = %v, want %v", k, market.FeatureNames[f], g.Values[f], w.Values[f])
					}
				}
			}
			t.Logf("%+v", x.Stats())
		})
	}
}

func key(r market.FeatureRow) string { return r.Pair + " " + r.TS.UTC().Format(time.RFC3339) }

// keep stores each row unless a higher revision of it is stored (what a
// consumer keyed by (pair, ts) does).
func keep(dst map[string]market.FeatureRow, rows []market.FeatureRow) {
	for _, r := range rows {
		if old, ok := dst[key(r)]; !ok || r.Revision >= old.Revision {
			dst[key(r)] = r
		}
	}
}

// interleave gives a's row i beside b's row i−lag.
func interleave(a, b []market.FeatureRow, lag int) []market.FeatureRow {
	var out []market.FeatureRow
	for i := range len(a) + lag {
		if i < len(a) {
			out = append(out, a[i])
		}
		if j := i - lag; j >= 0 && j < len(b) {
			out = append(out, b[j])
		}
	}
	return out
}

// shuffled merges a and b in a random order that keeps each pair's rows in
// time order (as the candles stage emits them).
func shuffled(a, b []market.FeatureRow) []market.FeatureRow {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []market.FeatureRow
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || (i < len(a) && rng.IntN(2) == 0) {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	return out
}
