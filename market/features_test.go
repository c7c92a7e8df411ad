package market

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
)

// The fixtures in the TestCompute* tests are hand-written: each expected value
// was worked out by hand from the definitions in feature.go (the arithmetic is
// in the comments) and is not produced by the code under test.

const featPair = "BTC/USD"

var featT0 = time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)

// featSeries returns contiguous 1-minute candles flat at each close
// (O=H=L=C=VWAP), with volume 1, one trade and no side volumes.
func featSeries(closes ...float64) []Candle {
	cs := make([]Candle, len(closes))
	for i, c := range closes {
		start := featT0.Add(time.Duration(i) * time.Minute)
		cs[i] = Candle{Pair: featPair, Start: start, End: start.Add(time.Minute),
			Open: c, High: c, Low: c, Close: c, VWAP: c, Volume: 1, Trades: 1, Complete: true}
	}
	return cs
}

func featRepeat(x float64, n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = x
	}
	return xs
}

// featLast feeds cs to a new Features and returns the last row, checking
// that Update and Compute agree on it.
func featLast(t *testing.T, cs []Candle) FeatureRow {
	t.Helper()
	rows := featRun(t, cs)
	last := rows[len(rows)-1]
	if c := Compute(cs); !featSameRow(last, c) {
		t.Fatalf("Update and Compute differ:\n%s", featRowDiff(last, c))
	}
	return last
}

// featRun feeds cs to a new Features and returns every row.
func featRun(tb testing.TB, cs []Candle) []FeatureRow {
	tb.Helper()
	f := NewFeatures()
	rows := make([]FeatureRow, len(cs))
	for i, c := range cs {
		row, err := f.Update(c)
		if err != nil {
			tb.Fatalf("candle %d: %v", i, err)
		}
		rows[i] = row
	}
	return rows
}

// featWant checks one feature against a hand-worked value (NaN means NaN).
func featWant(t *testing.T, row FeatureRow, feature int, want float64) {
	t.Helper()
	got := row.Values[feature]
	if math.IsNaN(want) || math.IsNaN(got) {
		if math.IsNaN(want) != math.IsNaN(got) {
			t.Errorf("%s = %v, want %v", FeatureNames[feature], got, want)
		}
		return
	}
	if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
		t.Errorf("%s = %.17g, want %.17g", FeatureNames[feature], got, want)
	}
}

func featSameFloat(x, y float64) bool {
	return math.Float64bits(x) == math.Float64bits(y) || (math.IsNaN(x) && math.IsNaN(y))
}

// featSameRow is bit-for-bit equality of two rows, NaN equal to NaN.
func featSameRow(a, b FeatureRow) bool {
	if a.Pair != b.Pair || !a.TS.Equal(b.TS) || a.SchemaVersion != b.SchemaVersion ||
		a.Warm != b.Warm || !featSameFloat(a.Close, b.Close) {
		return false
	}
	for i := range a.Values {
		if !featSameFloat(a.Values[i], b.Values[i]) {
			return false
		}
	}
	return true
}

func featRowDiff(a, b FeatureRow) string {
	var s strings.Builder
	fmt.Fprintf(&s, "  pair %q/%q ts %s/%s warm %v/%v close %v/%v schema %d/%d\n",
		a.Pair, b.Pair, a.TS, b.TS, a.Warm, b.Warm, a.Close, b.Close, a.SchemaVersion, b.SchemaVersion)
	for i := range a.Values {
		if !featSameFloat(a.Values[i], b.Values[i]) {
			fmt.Fprintf(&s, "  %s: %.17g vs %.17g\n", FeatureNames[i], a.Values[i], b.Values[i])
		}
	}
	return s.String()
}

func TestComputeReturns(t *testing.T) {
	// 61 closes of 100 except: the oldest 50 (60 back), 80 (15 back), 25 (5
	// back), 200 (1 back). ret_1 = ln(100/200), ret_5 = ln(100/25),
	// ret_15 = ln(100/80), ret_60 = ln(100/50).
	closes := featRepeat(100, 61)
	closes[0], closes[45], closes[55], closes[59] = 50, 80, 25, 200
	row := featLast(t, featSeries(closes...))
	featWant(t, row, FRet1, -math.Ln2)
	featWant(t, row, FRet5, 2*math.Ln2)
	featWant(t, row, FRet15, math.Log(1.25))
	featWant(t, row, FRet60, math.Ln2)

	// Without the oldest close, ret_60 has no base; the others are unchanged.
	row = featLast(t, featSeries(closes[1:]...))
	featWant(t, row, FRet1, -math.Ln2)
	featWant(t, row, FRet15, math.Log(1.25))
	featWant(t, row, FRet60, math.NaN())

	row = featLast(t, featSeries(100))
	featWant(t, row, FRet1, math.NaN())
	row = featLast(t, featSeries(100, 100*math.E))
	featWant(t, row, FRet1, 1)
}

func TestComputeSMAAndBollinger(t *testing.T) {
	ramp := make([]float64, 20)
	for i := range ramp {
		ramp[i] = float64(i + 1)
	}
	spike := append(featRepeat(10, 19), 30)
	cases := []struct {
		name      string
		closes    []float64
		sma, pctB float64
	}{
		// 1..20: mean 10.5, population variance (20²−1)/12 = 33.25;
		// sma_dev = 20/10.5 − 1 = 19/21; %B = (20 − 10.5 + 2σ)/(4σ) = 0.5 + 9.5/(4σ).
		{"ramp", ramp, 19.0 / 21, 0.5 + 9.5/(4*math.Sqrt(33.25))},
		// 19×10 then 30: mean 11, variance (19·1 + 19²)/20 = 19;
		// sma_dev = 30/11 − 1 = 19/11; %B = 0.5 + 19/(4√19) = 0.5 + √19/4.
		{"spike", spike, 19.0 / 11, 0.5 + math.Sqrt(19)/4},
		// Flat: σ = 0, so %B is the documented 0.5 and the deviation 0.
		{"flat", featRepeat(123.4, 20), 0, 0.5},
		// Only the last 20 closes count: a wild older close changes nothing.
		{"older ignored", append([]float64{1e6}, ramp...), 19.0 / 21, 0.5 + 9.5/(4*math.Sqrt(33.25))},
		{"19 closes", ramp[1:], math.NaN(), math.NaN()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			row := featLast(t, featSeries(tc.closes...))
			featWant(t, row, FSMA20Dev, tc.sma)
			featWant(t, row, FBBPctB20, tc.pctB)
		})
	}
}

func TestComputeRSI(t *testing.T) {
	zigzag := []float64{100} // +2, −1 seven times: G = 14, L = 7, RSI = 100·14/21
	for i := 0; i < 7; i++ {
		last := zigzag[len(zigzag)-1]
		zigzag = append(zigzag, last+2, last+1)
	}
	rising := []float64{1000} // a fall 15 changes back is outside the 14
	for i := 0; i < 15; i++ {
		rising = append(rising, float64(100+i))
	}
	cases := []struct {
		name   string
		closes []float64
		want   float64
	}{
		{"all gains", rising, 100},
		{"all losses", []float64{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 0},
		{"flat", featRepeat(50, 15), 50},
		{"zigzag", zigzag, 200.0 / 3},
		{"14 closes", featRepeat(50, 14), math.NaN()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			featWant(t, featLast(t, featSeries(tc.closes...)), FRSI14, tc.want)
		})
	}
}

func TestComputeATR(t *testing.T) {
	// Every candle after the first gaps up: prev close p, O=L=p+1, H=p+3,
	// C=p+2, so TR = max(H−L, |H−p|, |L−p|) = max(2, 3, 1) = 3. The last
	// close is 100 + 14·2 = 128: atr = 3/128.
	gapUp := featSeries(100)
	for i := 1; i <= 14; i++ {
		p := gapUp[i-1].Close
		c := featSeries(featRepeat(0, i+1)...)[i]
		c.Open, c.High, c.Low, c.Close, c.VWAP = p+1, p+3, p+1, p+2, p+2
		gapUp = append(gapUp, c)
	}
	// 15 candles with close 100, high 101, low 99: TR = 2, atr = 2/100. The
	// first candle's own range (50..200) is not one of the 14 true ranges.
	ranged := featSeries(featRepeat(100, 15)...)
	for i := range ranged {
		ranged[i].High, ranged[i].Low = 101, 99
	}
	ranged[0].High, ranged[0].Low = 200, 50
	// 14 flat candles at 100, then a gap down to H=97 L=95 C=96:
	// TR = max(2, 3, 5) = 5, atr = (5/14)/96.
	gapDown := featSeries(append(featRepeat(100, 14), 96)...)
	gapDown[14].Open, gapDown[14].High, gapDown[14].Low = 97, 97, 95
	for name, tc := range map[string]struct {
		cs   []Candle
		want float64
	}{
		"gap up": {gapUp, 3.0 / 128}, "ranged": {ranged, 0.02}, "gap down": {gapDown, 5.0 / 14 / 96},
		"14 candles": {ranged[1:], math.NaN()},
	} {
		t.Run(name, func(t *testing.T) { featWant(t, featLast(t, tc.cs), FATR14, tc.want) })
	}
}

func TestComputeRealizedVol(t *testing.T) {
	// 31 closes alternating 100, 110: 30 returns of ±ln 1.1, rvol = √30·ln 1.1.
	closes := make([]float64, 31)
	for i := range closes {
		closes[i] = float64(100 + 10*(i%2))
	}
	featWant(t, featLast(t, featSeries(closes...)), FRVol30, math.Sqrt(30)*math.Log(1.1))
	featWant(t, featLast(t, featSeries(featRepeat(7, 31)...)), FRVol30, 0)
	featWant(t, featLast(t, featSeries(closes[1:]...)), FRVol30, math.NaN())
}

func TestComputeRealizedVolWindows(t *testing.T) {
	// 1441 closes of 100, except three jumps, placed by how many returns back
	// they are: ×2 at 1000 back, ÷2 at 100 back, ×3 at 3 back. Each return is
	// ln 2, −ln 2 or ln 3, every other return 0, so rvol_k = sqrt of the sum
	// of the squared jumps within the last k returns.
	const n = LongWindow + 1
	closes := make([]float64, n)
	for i := range closes {
		back := n - 1 - i // returns between close i and the last close
		switch {
		case back < 3:
			closes[i] = 300
		case back < 100:
			closes[i] = 100
		case back < 1000:
			closes[i] = 200
		default:
			closes[i] = 100
		}
	}
	l2, l3 := math.Ln2, math.Log(3)
	row := featLast(t, featSeries(closes...))
	featWant(t, row, FRVol5, l3)
	featWant(t, row, FRVol15, l3)
	featWant(t, row, FRVol30, l3)
	featWant(t, row, FRVol60, l3)
	featWant(t, row, FRVol120, math.Sqrt(l3*l3+l2*l2))
	featWant(t, row, FRVol240, math.Sqrt(l3*l3+l2*l2))
	featWant(t, row, FRVol1440, math.Sqrt(l3*l3+2*l2*l2))

	// Without the oldest close, 1439 returns: rvol_1440 is missing, not
	// computed over fewer; the others are unchanged.
	row = featLast(t, featSeries(closes[1:]...))
	featWant(t, row, FRVol1440, math.NaN())
	featWant(t, row, FRVol240, math.Sqrt(l3*l3+l2*l2))
	// 121 closes: 120 returns; 120 closes: rvol_120 missing although warm.
	featWant(t, featLast(t, featSeries(closes[n-121:]...)), FRVol120, math.Sqrt(l3*l3+l2*l2))
	row = featLast(t, featSeries(closes[n-120:]...))
	featWant(t, row, FRVol120, math.NaN())
	featWant(t, row, FRVol60, l3)
	if !row.Warm {
		t.Error("120 candles: not warm")
	}
	featWant(t, featLast(t, featSeries(closes[n-240:]...)), FRVol240, math.NaN())
}

func TestComputeRangeEstimators(t *testing.T) {
	// 90 dojis with H/L = e (ln(H/L)² = 1, C = O), then 30 candles with
	// O = L = 100, C = H = 200 (ln(H/L)² = ln(C/O)² = ln²2):
	// parkinson_30  = sqrt(30 ln²2 / (4 ln 2)) = sqrt(7.5 ln 2);
	// parkinson_120 = sqrt((90 + 30 ln²2) / (4 ln 2));
	// garman_klass_30 = sqrt(30 (0.5 ln²2 − (2 ln 2 − 1) ln²2)) = ln 2 · sqrt(30 (1.5 − 2 ln 2)).
	cs := featSeries(append(featRepeat(100, 90), featRepeat(200, 30)...)...)
	for i := range cs {
		if i < 90 {
			cs[i].High, cs[i].Low = 100*math.Exp(0.5), 100*math.Exp(-0.5)
		} else {
			cs[i].Open, cs[i].Low = 100, 100
		}
	}
	l2 := math.Ln2
	row := featLast(t, cs)
	featWant(t, row, FParkinson30, math.Sqrt(7.5*l2))
	featWant(t, row, FParkinson120, math.Sqrt((90+30*l2*l2)/(4*l2)))
	featWant(t, row, FGarmanKlass30, l2*math.Sqrt(30*(1.5-2*l2)))

	// Flat candles have no range: all 0. Too few candles: missing.
	flat := featLast(t, featSeries(featRepeat(50, 120)...))
	for _, f := range []int{FParkinson30, FParkinson120, FGarmanKlass30} {
		featWant(t, flat, f, 0)
	}
	row = featLast(t, cs[1:]) // 119 candles: 89 dojis, the 30 ranged ones
	featWant(t, row, FParkinson120, math.NaN())
	featWant(t, row, FParkinson30, math.Sqrt(7.5*l2))
	row = featLast(t, cs[:29])
	featWant(t, row, FParkinson30, math.NaN())
	featWant(t, row, FGarmanKlass30, math.NaN())
	// 30 dojis: the close term is 0, garman_klass_30 = sqrt(30 · 0.5 · 1) = sqrt(15).
	featWant(t, featLast(t, cs[:30]), FGarmanKlass30, math.Sqrt(15))
}

// TestComputeMissingOrderFlow: a candle with volume but no taker side (the
// source has none) makes the imbalance features missing, not 0; a candle
// with volume but no trade count makes trade_count missing. An empty
// candle is known to be empty: 0.
func TestComputeMissingOrderFlow(t *testing.T) {
	// Buy/sell/volume: (1,1,2) (0,0,3: no side) (2,0,2) (0,0,0: empty) (1,0,1) (1,3,4) (0,2,2).
	sides := [][3]float64{{1, 1, 2}, {0, 0, 3}, {2, 0, 2}, {0, 0, 0}, {1, 0, 1}, {1, 3, 4}, {0, 2, 2}}
	cs := featSeries(featRepeat(100, len(sides))...)
	for i, x := range sides {
		cs[i].BuyVolume, cs[i].SellVolume, cs[i].Volume = x[0], x[1], x[2]
		cs[i].Trades = int64(x[2]) // one trade per unit of volume, 0 for the empty one
	}
	row := featLast(t, cs[:2])
	featWant(t, row, FImbalance, math.NaN())
	row = featLast(t, cs[:6]) // the sideless candle is among the last 5
	featWant(t, row, FImbalance, -0.5)
	featWant(t, row, FImbalance5, math.NaN())
	row = featLast(t, cs) // candles 2..6: buy 2+1+1 = 4, sell 3+2 = 5: −1/9
	featWant(t, row, FImbalance, -1)
	featWant(t, row, FImbalance5, -1.0/9)

	row = featLast(t, cs[:4]) // the empty candle
	featWant(t, row, FImbalance, 0)
	featWant(t, row, FTradeCount, 0)
	cs[6].Trades = 0 // volume 2 without a count
	featWant(t, featLast(t, cs), FTradeCount, math.NaN())
}

func TestComputeTimeOfWeek(t *testing.T) {
	h := math.Sqrt(0.5)
	cases := []struct {
		end      time.Time
		sin, cos float64
	}{
		{time.Date(2023, 3, 6, 0, 0, 0, 0, time.UTC), 0, 1},                                                                 // Monday 00:00
		{time.Date(2023, 3, 7, 18, 0, 0, 0, time.UTC), 1, 0},                                                                // Tuesday 18:00: 1/4 week
		{time.Date(2023, 3, 9, 12, 0, 0, 0, time.UTC), 0, -1},                                                               // Thursday 12:00: 1/2
		{time.Date(2023, 3, 11, 6, 0, 0, 0, time.UTC), -1, 0},                                                               // Saturday 06:00: 3/4
		{time.Date(2023, 3, 12, 3, 0, 0, 0, time.UTC), -h, h},                                                               // Sunday 03:00: 7/8
		{time.Date(2023, 3, 6, 1, 0, 0, 0, time.FixedZone("CET", 3600)), 0, 1},                                              // Monday 00:00 UTC
		{time.Date(1969, 12, 29, 0, 0, 0, 0, time.UTC), 0, 1},                                                               // a Monday before the epoch
		{time.Date(2023, 3, 8, 9, 0, 0, 0, time.UTC), math.Sin(2.375 * 2 * math.Pi / 7), math.Cos(2.375 * 2 * math.Pi / 7)}, // Wednesday 09:00: 2.375 days
	}
	for _, tc := range cases {
		c := featSeries(100)[0]
		c.Start, c.End = tc.end.Add(-time.Minute), tc.end
		row := featLast(t, []Candle{c})
		if math.Abs(row.Values[FDOWSin]-tc.sin) > 1e-12 || math.Abs(row.Values[FDOWCos]-tc.cos) > 1e-12 {
			t.Errorf("end %s: dow = (%v, %v), want (%v, %v)", tc.end, row.Values[FDOWSin], row.Values[FDOWCos], tc.sin, tc.cos)
		}
	}
}

func featWithVolumes(vols ...float64) []Candle {
	cs := featSeries(featRepeat(100, len(vols))...)
	for i, v := range vols {
		cs[i].Volume = v
		if v == 0 {
			cs[i].Trades = 0
		}
	}
	return cs
}

func TestComputeVolumeZ(t *testing.T) {
	cases := []struct {
		name string
		vols []float64
		want float64
	}{
		// 19×1 then 20: mean 1.95, σ² = (19·0.95² + 18.05²)/20 = 19·0.95²,
		// z = 18.05/(0.95√19) = √19.
		{"spike last", append(featRepeat(1, 19), 20), math.Sqrt(19)},
		// 20 then 19×1, the last being 1: z = −0.95/(0.95√19) = −1/√19.
		{"spike first", append([]float64{20}, featRepeat(1, 19)...), -1 / math.Sqrt(19)},
		{"all empty", featRepeat(0, 20), 0},
		{"constant", featRepeat(2.5, 20), 0},
		{"19 candles", featRepeat(1, 19), math.NaN()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			featWant(t, featLast(t, featWithVolumes(tc.vols...)), FVolumeZ20, tc.want)
		})
	}
}

func TestComputeVWAPDev(t *testing.T) {
	// 10 candles at 100 with volume 1, 10 at VWAP 110 with volume 3, the last
	// closing at 86: VWAP = (10·100 + 30·110)/40 = 107.5, dev = 86/107.5 − 1 = −0.2.
	mixed := featSeries(append(featRepeat(100, 10), featRepeat(110, 10)...)...)
	for i := 10; i < 20; i++ {
		mixed[i].Volume = 3
	}
	mixed[19].Open, mixed[19].High, mixed[19].Low, mixed[19].Close = 86, 86, 86, 86
	// Without a VWAP column the typical price counts: 19 candles H=13 L=7
	// C=10 (typical 10) and one at 11: VWAP = (190 + 11)/20, dev = 11/10.05 − 1.
	noVWAP := featSeries(append(featRepeat(10, 19), 11)...)
	for i := range noVWAP {
		noVWAP[i].VWAP = 0
	}
	for i := 0; i < 19; i++ {
		noVWAP[i].High, noVWAP[i].Low = 13, 7
	}
	// Empty candles carry volume 0 and no meaningful VWAP.
	empty := featWithVolumes(featRepeat(0, 20)...)
	for i := range empty {
		empty[i].VWAP = math.NaN()
	}
	cases := []struct {
		name string
		cs   []Candle
		want float64
	}{
		{"mixed", mixed, -0.2},
		{"typical price", noVWAP, 11/10.05 - 1},
		{"all empty", empty, 0},
		{"19 candles", mixed[1:], math.NaN()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { featWant(t, featLast(t, tc.cs), FVWAPDev20, tc.want) })
	}
}

func TestComputeImbalanceAndTrades(t *testing.T) {
	// Buy/sell volumes (1,0) (0,1) (2,2) (0,0) (3,0): the last candle is
	// all buys (1); over the 5, (6 − 3)/9 = 1/3. The empty one has 0 trades.
	sides := [][2]float64{{1, 0}, {0, 1}, {2, 2}, {0, 0}, {3, 0}}
	trades := []int64{1, 1, 4, 0, 12}
	cs := featSeries(featRepeat(100, len(sides))...)
	for i, s := range sides {
		cs[i].BuyVolume, cs[i].SellVolume, cs[i].Volume = s[0], s[1], s[0]+s[1]
		cs[i].Trades = trades[i]
	}
	row := featLast(t, cs)
	featWant(t, row, FImbalance, 1)
	featWant(t, row, FImbalance5, 1.0/3)
	featWant(t, row, FTradeCount, math.Log(13)) // 12 trades: log(1 + 12)

	row = featLast(t, cs[:4]) // the empty candle: no volume, no trades
	featWant(t, row, FImbalance, 0)
	featWant(t, row, FImbalance5, math.NaN())
	featWant(t, row, FTradeCount, 0)

	cs[4].BuyVolume, cs[4].SellVolume = 1, 3 // (1 − 3)/4
	featWant(t, featLast(t, cs), FImbalance, -0.5)
}

func TestComputeTimeOfDay(t *testing.T) {
	h := math.Sqrt(0.5)
	cet := time.FixedZone("CET", 3600)
	cases := []struct {
		end      time.Time
		sin, cos float64
	}{
		{time.Date(2023, 3, 2, 0, 0, 0, 0, time.UTC), 0, 1},
		{time.Date(2023, 3, 2, 3, 0, 0, 0, time.UTC), h, h},
		{time.Date(2023, 3, 2, 6, 0, 0, 0, time.UTC), 1, 0},
		{time.Date(2023, 3, 2, 12, 0, 0, 0, time.UTC), 0, -1},
		{time.Date(2023, 3, 2, 18, 0, 0, 0, time.UTC), -1, 0},
		{time.Date(2023, 3, 2, 7, 0, 0, 0, cet), 1, 0},        // 06:00 UTC
		{time.Date(2023, 3, 2, 21, 0, 0, 0, time.UTC), -h, h}, // 7/8 of the day
	}
	for _, tc := range cases {
		c := featSeries(100)[0]
		c.Start, c.End = tc.end.Add(-time.Minute), tc.end
		row := featLast(t, []Candle{c})
		if math.Abs(row.Values[FTODSin]-tc.sin) > 1e-12 || math.Abs(row.Values[FTODCos]-tc.cos) > 1e-12 {
			t.Errorf("end %s: tod = (%v, %v), want (%v, %v)", tc.end, row.Values[FTODSin], row.Values[FTODCos], tc.sin, tc.cos)
		}
	}
}

// featSynthetic is a deterministic, irregular price path with every field
// set, for tests that must run without the real data.
func featSynthetic(n int) []Candle {
	cs := make([]Candle, n)
	prev := 100.0
	for i := range cs {
		x := float64(i)
		c := 100 + 10*math.Sin(x/7) + 3*math.Cos(x/3.3) + x/20
		start := featT0.Add(time.Duration(i) * time.Minute)
		cs[i] = Candle{Pair: featPair, Start: start, End: start.Add(time.Minute),
			Open: prev, High: max(prev, c) + 0.5, Low: min(prev, c) - 0.25, Close: c,
			Volume: 1 + float64(i%7), VWAP: (prev + c) / 2, Trades: 1 + int64(i%11),
			BuyVolume: (1 + float64(i%7)) * float64(i%3) / 2, SellVolume: (1 + float64(i%7)) * float64(2-i%3) / 2}
		prev = c
	}
	return cs
}

// featNeeds is, per feature, how many candles the window must hold for the
// feature to be defined (hand-written from the definitions).
var featNeeds = [NumFeatures]int{
	FRet1: 2, FRet5: 6, FRet15: 16, FRet60: 61,
	FEMA12Dev: 12, FEMA26Dev: 26, FSMA20Dev: 20, FRSI14: 15,
	FMACD: 26, FMACDSignal: 34, FMACDHist: 34, FBBPctB20: 20, FATR14: 15, FRVol30: 31,
	FVolumeZ20: 20, FVWAPDev20: 20, FImbalance: 1, FImbalance5: 5, FTradeCount: 1, FTODSin: 1, FTODCos: 1,
	FRVol5: 6, FRVol15: 16, FRVol60: 61, FRVol120: 121, FParkinson30: 30, FParkinson120: 120, FGarmanKlass30: 30,
	FRVol240: 241, FRVol1440: 1441, FDOWSin: 1, FDOWCos: 1,
	// The cross-pair features come from other pairs' rows (Cross), never from one pair's candles.
	FXRet1: featNever, FXRet5: featNever, FXRet15: featNever, FXRVol5: featNever, FXRVol30: featNever, FXRVol60: featNever,
}

// featNever marks a feature that Features leaves missing whatever it is given.
const featNever = math.MaxInt

// TestComputeWarmUp: each feature is NaN exactly until the stream has given
// the candles it needs; warm means FeatureWindow candles, whatever the long
// features need; a feature that may need more than the window is declared
// as possibly missing.
func TestComputeWarmUp(t *testing.T) {
	cs := featSynthetic(FeatureHistory + 5)
	rows := featRun(t, cs)
	for i, row := range rows {
		seen := i + 1
		if row.Warm != (seen >= FeatureWindow) {
			t.Errorf("candle %d: warm = %v with %d candles", i, row.Warm, seen)
		}
		for f, v := range row.Values {
			if math.IsNaN(v) != (seen < featNeeds[f]) || math.IsInf(v, 0) {
				t.Errorf("%d candles: %s = %v, defined from %d candles", seen, FeatureNames[f], v, featNeeds[f])
			}
		}
	}
	for f, need := range featNeeds {
		if need > FeatureWindow && !FeatureMayBeMissing[f] {
			t.Errorf("%s needs %d candles, more than the window, but is not declared FeatureMayBeMissing", FeatureNames[f], need)
		}
	}
	if longest := slices.Max(featNeeds[:FXRet1]); longest != FeatureHistory {
		t.Errorf("the longest feature needs %d candles, FeatureHistory is %d", longest, FeatureHistory)
	}
}

func TestComputeRowFields(t *testing.T) {
	cs := featSynthetic(30)
	row := Compute(cs[:7])
	if row.Pair != featPair || !row.TS.Equal(cs[6].End) || row.Close != cs[6].Close ||
		row.SchemaVersion != FeatureSchemaVersion || row.Warm {
		t.Errorf("row = %+v, want pair %s ts %s close %v schema %d cold", row, featPair, cs[6].End, cs[6].Close, FeatureSchemaVersion)
	}
	long := featSynthetic(FeatureHistory + 30)
	a, b := Compute(long), Compute(long[len(long)-FeatureHistory:])
	if !featSameRow(a, b) || !a.Warm || math.IsNaN(a.Values[FRVol1440]) {
		t.Errorf("a longer window must use only its last FeatureHistory candles:\n%s", featRowDiff(a, b))
	}
	short := Compute(long[len(long)-FeatureWindow:]) // the long features miss candles
	for f := range a.Values {
		if featNeeds[f] == featNever {
			continue
		}
		if long := featNeeds[f] > FeatureWindow; long != math.IsNaN(short.Values[f]) || (!long && !featSameFloat(a.Values[f], short.Values[f])) {
			t.Errorf("%s = %v over the last FeatureWindow candles, %v over FeatureHistory", FeatureNames[f], short.Values[f], a.Values[f])
		}
	}
	empty := Compute(nil)
	for f, v := range empty.Values {
		if !math.IsNaN(v) {
			t.Errorf("empty window: %s = %v, want NaN", FeatureNames[f], v)
		}
	}
	if empty.SchemaVersion != FeatureSchemaVersion || empty.Warm || !empty.TS.IsZero() {
		t.Errorf("empty window row = %+v", empty)
	}
}

func TestFeaturesUpdateErrors(t *testing.T) {
	cs := featSynthetic(30)
	shift := func(c Candle, d time.Duration) Candle { c.Start, c.End = c.Start.Add(d), c.End.Add(d); return c }
	with := func(edit func(*Candle)) Candle { c := cs[25]; edit(&c); return c }
	bad := map[string]Candle{
		"duplicate":      cs[24],
		"correction":     with(func(c *Candle) { *c = cs[24]; c.Close, c.High = c.Close+1, c.Close+1 }),
		"out of order":   cs[10],
		"gap":            cs[26],
		"overlap":        shift(cs[25], -30*time.Second),
		"longer":         with(func(c *Candle) { c.End = c.End.Add(time.Minute) }),
		"shorter":        with(func(c *Candle) { c.End = c.End.Add(-30 * time.Second) }),
		"empty window":   with(func(c *Candle) { c.End = c.Start }),
		"NaN close":      with(func(c *Candle) { c.Close = math.NaN() }),
		"zero close":     with(func(c *Candle) { c.Close, c.Low = 0, 0 }),
		"inf high":       with(func(c *Candle) { c.High = math.Inf(1) }),
		"close > high":   with(func(c *Candle) { c.Close = c.High + 1 }),
		"low > open":     with(func(c *Candle) { c.Low = c.Open + 1 }),
		"neg volume":     with(func(c *Candle) { c.Volume = -1 }),
		"NaN buy volume": with(func(c *Candle) { c.BuyVolume = math.NaN() }),
		"neg trades":     with(func(c *Candle) { c.Trades = -1 }),
		"no pair":        with(func(c *Candle) { c.Pair = "" }),
	}
	f := NewFeatures()
	for _, c := range cs[:25] {
		if _, err := f.Update(c); err != nil {
			t.Fatal(err)
		}
	}
	before := *f.pairs[featPair]
	for name, c := range bad {
		row, err := f.Update(c)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
		if row != (FeatureRow{}) || len(f.pairs) != 1 || *f.pairs[featPair] != before {
			t.Errorf("%s: state or row changed after the error", name)
		}
	}
	got, err := f.Update(cs[25])
	if want := featRun(t, cs[:26])[25]; err != nil || !featSameRow(got, want) {
		t.Errorf("next candle after the errors: err %v\n%s", err, featRowDiff(got, want))
	}
}

func TestFeaturesNewPairAndReset(t *testing.T) {
	cs := featSynthetic(40)
	var f Features // the zero value is usable
	bad := cs[0]
	bad.Close = math.NaN()
	if _, err := f.Update(bad); !errors.Is(err, ErrInvalid) || len(f.pairs) != 0 {
		t.Fatalf("invalid first candle: err %v, %d pairs held", err, len(f.pairs))
	}
	for _, c := range cs[:20] {
		if _, err := f.Update(c); err != nil {
			t.Fatal(err)
		}
	}
	f.Reset(featPair)
	row, err := f.Update(cs[30]) // after Reset the stream may restart anywhere
	if want := Compute(cs[30:31]); err != nil || !featSameRow(row, want) {
		t.Fatalf("after Reset: err %v\n%s", err, featRowDiff(row, want))
	}
}

func TestFeaturesUpdateDoesNotAllocate(t *testing.T) {
	cs := featSynthetic(3 * FeatureWindow)
	f := NewFeatures()
	for _, c := range cs[:FeatureWindow] {
		if _, err := f.Update(c); err != nil {
			t.Fatal(err)
		}
	}
	i := FeatureWindow
	allocs := testing.AllocsPerRun(FeatureWindow, func() {
		if _, err := f.Update(cs[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Update allocates %v times per candle in steady state, want 0", allocs)
	}
}

// Real data.

const (
	featOHLCVTFile    = "kraken/ohlcvt/XBTUSD_1.2023-03-01_2023-03-21.csv"
	featTradeflowFile = "kraken/tradeflow/XBTUSD_1m_tradeflow_2023-03-01_2023-03-21.csv"
)

// featOHLCVT reads up to maxRows rows (all when 0) of the real Kraken 1-minute
// OHLCVT file into candles, filling the absent minutes with empty candles at
// the previous close. The file has no VWAP and no buy/sell split.
func featOHLCVT(tb testing.TB, maxRows int) []Candle {
	tb.Helper()
	recs := featReadCSV(tb, featOHLCVTFile, 7, maxRows)
	var cs []Candle
	for _, rec := range recs {
		x := featFloats(tb, rec)
		start := time.Unix(int64(x[0]), 0).UTC()
		cs = featFill(tb, cs, start, time.Minute)
		cs = append(cs, Candle{Pair: featPair, Start: start, End: start.Add(time.Minute),
			Open: x[1], High: x[2], Low: x[3], Close: x[4], Volume: x[5], Trades: int64(x[6]), Complete: true})
	}
	return cs
}

// featTradeflow reads the real Kraken 1-minute candles rebuilt from trades,
// which carry buy and sell volumes, labelled as pair.
func featTradeflow(tb testing.TB, pair string, maxRows int) []Candle {
	tb.Helper()
	if maxRows > 0 {
		maxRows++ // the header
	}
	recs := featReadCSV(tb, featTradeflowFile, 10, maxRows)
	if strings.Join(recs[0], ",") != "timestamp_utc,open,high,low,close,volume,n_trades,buy_vol,sell_vol,obi" {
		tb.Fatalf("tradeflow header %v", recs[0])
	}
	var cs []Candle
	for _, rec := range recs[1:] {
		start, err := time.Parse(time.RFC3339, rec[0])
		if err != nil {
			tb.Fatal(err)
		}
		x := featFloats(tb, rec[1:])
		cs = featFill(tb, cs, start, time.Minute)
		cs = append(cs, Candle{Pair: pair, Start: start, End: start.Add(time.Minute),
			Open: x[0], High: x[1], Low: x[2], Close: x[3], Volume: x[4], Trades: int64(x[5]),
			BuyVolume: x[6], SellVolume: x[7], Complete: true})
	}
	return cs
}

func featReadCSV(tb testing.TB, rel string, fields, maxRows int) [][]string {
	tb.Helper()
	f, err := os.Open(realdata.Path(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = fields
	var recs [][]string
	for maxRows <= 0 || len(recs) < maxRows {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", rel, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func featFloats(tb testing.TB, rec []string) []float64 {
	tb.Helper()
	xs := make([]float64, len(rec))
	for i, s := range rec {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			tb.Fatalf("field %d of %v: %v", i, rec, err)
		}
		xs[i] = x
	}
	return xs
}

// featFill appends empty candles (OHLC = previous close) until start.
func featFill(tb testing.TB, cs []Candle, start time.Time, d time.Duration) []Candle {
	tb.Helper()
	for len(cs) > 0 && cs[len(cs)-1].End.Before(start) {
		prev := cs[len(cs)-1]
		p := prev.Close
		cs = append(cs, Candle{Pair: prev.Pair, Start: prev.End, End: prev.End.Add(d),
			Open: p, High: p, Low: p, Close: p, Complete: true})
	}
	if len(cs) > 0 && !cs[len(cs)-1].End.Equal(start) {
		tb.Fatalf("candle at %s does not follow %s", start, cs[len(cs)-1].End)
	}
	return cs
}

// featTradeCandles builds d-long candles of the real Kraken trade file with
// the Aggregator, as the live pipeline and the backfill do.
func featTradeCandles(tb testing.TB, d time.Duration) []Candle {
	tb.Helper()
	agg, err := NewAggregator(AggregatorConfig{Interval: d})
	if err != nil {
		tb.Fatal(err)
	}
	var cs []Candle
	for _, tr := range loadKrakenTrades(tb) {
		var o Outcome
		if cs, o, err = agg.Add(tr, cs); err != nil || o != OutcomeAccepted {
			tb.Fatalf("trade %d: %v, %v", tr.TradeID, o, err)
		}
	}
	return agg.Flush(cs)
}

// featRealSets are the real candle streams the invariance tests run on.
func featRealSets(t *testing.T) map[string][]Candle {
	t.Helper()
	return map[string][]Candle{
		"ohlcvt 1m":    featOHLCVT(t, 4000),
		"tradeflow 1m": featTradeflow(t, featPair, 3000),
		"trades 1m":    featTradeCandles(t, time.Minute),
		"trades 10s":   featTradeCandles(t, 10*time.Second),
	}
}

// featCuts are the cut points 1..limit, then every step-th, those around
// FeatureHistory (where the longest feature appears), then n.
func featCuts(n, limit, step int) []int {
	var ks []int
	for k := 1; k <= n; k++ {
		if k <= limit || k%step == 0 || k == n || (k >= FeatureHistory-1 && k <= FeatureHistory+1) {
			ks = append(ks, k)
		}
	}
	return ks
}

// TestFeaturesNoLookAhead: the rows of any prefix of a real stream are the
// first rows of the whole stream, bit for bit, and each row is Compute of
// the last FeatureHistory candles up to it (the last FeatureWindow for all
// but the long features).
func TestFeaturesNoLookAhead(t *testing.T) {
	for name, cs := range featRealSets(t) {
		t.Run(name, func(t *testing.T) {
			full := featRun(t, cs)
			if len(cs) >= FeatureWindow && !full[len(cs)-1].Warm {
				t.Fatalf("%d candles and the last row is not warm", len(cs))
			}
			for i := range cs {
				if want := Compute(cs[max(0, i+1-FeatureHistory) : i+1]); !featSameRow(full[i], want) {
					t.Fatalf("row %d is not Compute of its window:\n%s", i, featRowDiff(full[i], want))
				}
			}
			if len(cs) > FeatureHistory && math.IsNaN(full[len(cs)-1].Values[FRVol1440]) {
				t.Fatalf("%d candles and rvol_1440 is missing", len(cs))
			}
			for _, k := range featCuts(len(cs), 2*FeatureWindow+5, 173) {
				for i, row := range featRun(t, cs[:k]) {
					if !featSameRow(row, full[i]) {
						t.Fatalf("prefix %d, row %d differs from the full stream:\n%s", k, i, featRowDiff(row, full[i]))
					}
				}
			}
		})
	}
}

// TestFeaturesStartInvariance: a stream started at any candle (a backfill
// from some date, a live restart) gives, once warm, the rows of the full
// stream at the same ts, bit for bit, except that a long feature is missing
// until the restarted stream has given the candles it needs: every value
// that is not missing equals the full stream's, whatever the start.
func TestFeaturesStartInvariance(t *testing.T) {
	for name, cs := range featRealSets(t) {
		t.Run(name, func(t *testing.T) {
			full := featRun(t, cs)
			longRuns := 0
			for _, s := range featCuts(len(cs)-1, FeatureWindow+2, 53) {
				end := min(len(cs), s+2*FeatureWindow+40)
				if s%10 == 1 { // some run to the end, so that the long features fill
					end, longRuns = len(cs), longRuns+1
				}
				for j, row := range featRun(t, cs[s:end]) {
					i := s + j
					want := featRestarted(full[i], j+1)
					if j+1 < FeatureWindow {
						want = Compute(cs[s : i+1])
					}
					if !featSameRow(row, want) || row.Warm != (j+1 >= FeatureWindow) {
						t.Fatalf("start %d, row %d:\n%s", s, i, featRowDiff(row, want))
					}
				}
			}
			if longRuns == 0 {
				t.Fatal("no run from a later start to the end")
			}
		})
	}
}

// featRestarted is the row at full's ts of a stream that started seen
// candles before: full's, with each long feature missing while seen is
// fewer than the candles it needs.
func featRestarted(full FeatureRow, seen int) FeatureRow {
	for f, need := range featNeeds {
		if need > FeatureWindow && seen < need {
			full.Values[f] = math.NaN()
		}
	}
	return full
}

// TestFeaturesInterleavedPairs: pairs fed interleaved to one Features give
// the rows of separate runs.
func TestFeaturesInterleavedPairs(t *testing.T) {
	streams := map[string][]Candle{
		"BTC/USD": featOHLCVT(t, 1500),
		"ETH/USD": featTradeflow(t, "ETH/USD", 1500), // a second real stream, labelled as another pair
		"SOL/USD": featTradeCandles(t, 10*time.Second),
	}
	pairs := []string{"BTC/USD", "ETH/USD", "SOL/USD"}
	for i := range streams["SOL/USD"] {
		streams["SOL/USD"][i].Pair = "SOL/USD"
	}
	separate := map[string][]FeatureRow{}
	for p, cs := range streams {
		separate[p] = featRun(t, cs)
	}
	f := NewFeatures()
	next := map[string]int{}
	rng := rand.New(rand.NewPCG(1, 2))
	for left := len(pairs); left > 0; {
		p := pairs[rng.IntN(len(pairs))]
		i := next[p]
		if i == len(streams[p]) {
			continue
		}
		got, err := f.Update(streams[p][i])
		if err != nil {
			t.Fatal(err)
		}
		if want := separate[p][i]; !featSameRow(got, want) {
			t.Fatalf("%s row %d differs from a separate run:\n%s", p, i, featRowDiff(got, want))
		}
		if next[p]++; next[p] == len(streams[p]) {
			left--
		}
	}
	if len(f.pairs) != len(pairs) {
		t.Errorf("%d pairs held, want %d", len(f.pairs), len(pairs))
	}
}

// featMissed is what a candle whose trades were all missed looks like when
// it is first emitted: empty at the previous close.
func featMissed(c Candle, prevClose float64) Candle {
	p := prevClose
	return Candle{Pair: c.Pair, Start: c.Start, End: c.End, Open: p, High: p, Low: p, Close: p, VWAP: p}
}

// TestFeaturesCorrectMatchesRecompute: on real streams, candles first seen
// empty (their trades missed) and then corrected to their real values give
// rows, from Correct and from later Updates, bit-identical to those of the
// real stream computed from scratch.
func TestFeaturesCorrectMatchesRecompute(t *testing.T) {
	for name, cs := range featRealSets(t) {
		t.Run(name, func(t *testing.T) {
			want := featRun(t, cs)
			// (stream length when corrected, corrected indexes)
			// Around the wraps of the candle ring (2×FeatureWindow) and of
			// the return ring (returnHistory), and where rvol_1440 appears.
			cases := []struct{ n, k int }{
				{1, 0}, {30, 0}, {30, 29}, {FeatureWindow, 0}, {FeatureWindow + 1, 1},
				{2*FeatureWindow - 1, FeatureWindow - 1}, {2 * FeatureWindow, FeatureWindow},
				{2*FeatureWindow + 77, FeatureWindow + 77}, {len(cs), len(cs) - FeatureWindow}, {len(cs), len(cs) - 1},
				{FeatureHistory, FeatureHistory - FeatureWindow}, {FeatureHistory + 1, FeatureHistory - 2},
				{returnHistory, returnHistory - FeatureWindow}, {returnHistory + 1, returnHistory + 1 - FeatureWindow},
				{returnHistory + 60, returnHistory - 30},
			}
			ran, changed := 0, 0
			for _, tc := range cases {
				if tc.n > len(cs) || tc.k < 0 {
					continue
				}
				ran++
				if testCorrect(t, cs, want, tc.n, tc.k) {
					changed++
				}
			}
			if 2*changed < ran {
				t.Errorf("the missed candles changed the rows in %d of %d cases: the test proves little", changed, ran)
			}
		})
	}
}

// testCorrect feeds cs[:n] with candles k and k+1 missed, corrects them in
// turn, then feeds the rest of cs. It reports whether the missed candles
// changed row k.
func testCorrect(t *testing.T, cs []Candle, want []FeatureRow, n, k int) (changed bool) {
	t.Helper()
	f := NewFeatures()
	missed := map[int]bool{k: true, k + 1: k+1 < n}
	prev := cs[0].Open // the first candle missed: as if only its first trade came
	for i, c := range cs[:n] {
		if missed[i] {
			c = featMissed(c, prev)
		}
		row, err := f.Update(c)
		if err != nil {
			t.Fatal(err)
		}
		changed = changed || (i == k && !featSameRow(row, want[k]))
		prev = c.Close
	}
	for _, j := range []int{k + 1, k} { // newest first: every row is recomputed twice
		if !missed[j] {
			continue
		}
		rows, err := f.Correct(cs[j])
		if err != nil {
			t.Fatalf("n=%d: Correct(%d): %v", n, j, err)
		}
		if len(rows) != n-j {
			t.Fatalf("n=%d: Correct(%d) returned %d rows, want %d", n, j, len(rows), n-j)
		}
		if j != k {
			continue // candle k is still the missed one: rows differ from want
		}
		for i, row := range rows {
			if !featSameRow(row, want[j+i]) {
				t.Fatalf("n=%d: Correct(%d), row %d:\n%s", n, j, j+i, featRowDiff(row, want[j+i]))
			}
		}
	}
	for i := n; i < min(len(cs), n+FeatureWindow+5); i++ {
		row, err := f.Update(cs[i])
		if err != nil || !featSameRow(row, want[i]) {
			t.Fatalf("n=%d k=%d: Update(%d) after the corrections: %v\n%s", n, k, i, err, featRowDiff(row, want[i]))
		}
	}
	return changed
}

func TestFeaturesCorrectErrors(t *testing.T) {
	cs := featSynthetic(2*FeatureWindow + 10)
	n := 2*FeatureWindow + 5
	f := NewFeatures()
	for _, c := range cs[:n] {
		if _, err := f.Update(c); err != nil {
			t.Fatal(err)
		}
	}
	shift := func(c Candle, d time.Duration) Candle { c.Start, c.End = c.Start.Add(d), c.End.Add(d); return c }
	with := func(i int, edit func(*Candle)) Candle { c := cs[i]; edit(&c); return c }
	bad := map[string]Candle{
		"not seen yet":        cs[n],
		"older than window":   cs[n-FeatureWindow-1],
		"held but too old":    cs[n-FeatureWindow-5], // kept for recomputation, not correctable
		"off the grid":        shift(cs[n-3], 30*time.Second),
		"longer":              with(n-3, func(c *Candle) { c.End = c.End.Add(time.Minute) }),
		"unknown pair":        with(n-3, func(c *Candle) { c.Pair = "ETH/USD" }),
		"NaN close":           with(n-3, func(c *Candle) { c.Close = math.NaN() }),
		"close above high":    with(n-3, func(c *Candle) { c.Close = c.High + 1 }),
		"before stream start": shift(cs[0], -time.Hour),
	}
	before := *f.pairs[featPair]
	for name, c := range bad {
		rows, err := f.Correct(c)
		if !errors.Is(err, ErrInvalid) || rows != nil {
			t.Errorf("%s: %d rows, err = %v, want ErrInvalid", name, len(rows), err)
		}
		if len(f.pairs) != 1 || *f.pairs[featPair] != before {
			t.Errorf("%s: state changed after the error", name)
		}
	}
	if newest, ok := f.Newest(featPair); !ok || newest != cs[n-1] {
		t.Errorf("Newest = %v, %v; want candle %d", newest.Start, ok, n-1)
	}
	if _, ok := f.Newest("ETH/USD"); ok {
		t.Error("Newest of an unknown pair")
	}
}

func TestFeaturesCorrectAllocations(t *testing.T) {
	cs := featSynthetic(3 * FeatureWindow)
	f := NewFeatures()
	for _, c := range cs {
		if _, err := f.Update(c); err != nil {
			t.Fatal(err)
		}
	}
	oldest := cs[len(cs)-FeatureWindow] // the most rows to recompute
	allocs := testing.AllocsPerRun(10, func() {
		if rows, err := f.Correct(oldest); err != nil || len(rows) != FeatureWindow {
			t.Fatalf("%d rows, %v", len(rows), err)
		}
	})
	if allocs != 0 {
		t.Errorf("Correct allocates %v times once its rows exist, want 0", allocs)
	}
}
