package ml

import (
	"bytes"
	"encoding/gob"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Hand-written fixture: 1-minute candles whose closes are chosen by hand and
// feature rows whose values are arbitrary markers (Build copies, never computes them).
var fxStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func fxCandle(i int, close float64) market.Candle {
	s := fxStart.Add(time.Duration(i) * time.Minute)
	return market.Candle{Pair: "BTC/USD", Start: s, End: s.Add(time.Minute), Open: close, High: close, Low: close,
		Close: close, VWAP: close, Complete: true}
}

func fxRow(i int, close float64) market.FeatureRow {
	r := market.FeatureRow{Pair: "BTC/USD", TS: fxStart.Add(time.Duration(i+1) * time.Minute),
		SchemaVersion: market.FeatureSchemaVersion, Warm: true, Close: close}
	for k := range r.Values {
		r.Values[k] = float64(i) + float64(k)/100
	}
	return r
}

func fxData(closes []float64) ([]market.FeatureRow, []market.Candle) {
	var rows []market.FeatureRow
	var candles []market.Candle
	for i, c := range closes {
		rows = append(rows, fxRow(i, c))
		candles = append(candles, fxCandle(i, c))
	}
	return rows, candles
}

func TestBuildFixture(t *testing.T) {
	rows, candles := fxData([]float64{100, 101, 102, 100, 99, 105, 104})
	rows[1].Warm = false
	rows[2].Values[market.FRSI14] = math.NaN()
	rows = append(rows, fxRow(7, 103)) // no candle ends at its ts
	slices.Reverse(rows)               // any order
	d, err := Build(rows, candles, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantStats := BuildStats{Rows: 8, Kept: 3, NotWarm: 1, NonFinite: 1, NoCandle: 1, NoFuture: 2}
	if d.Stats != wantStats {
		t.Errorf("stats %+v, want %+v", d.Stats, wantStats)
	}
	wantTS := []time.Time{fxStart.Add(1 * time.Minute), fxStart.Add(4 * time.Minute), fxStart.Add(5 * time.Minute)}
	wantY := []float64{math.Log(102.0 / 100), math.Log(105.0 / 100), math.Log(104.0 / 99)}
	if !slices.EqualFunc(d.TS, wantTS, time.Time.Equal) || !slices.Equal(d.Y, wantY) {
		t.Errorf("ts %v y %v, want %v %v", d.TS, d.Y, wantTS, wantY)
	}
	if !slices.Equal(d.Close, []float64{100, 100, 99}) {
		t.Errorf("close %v", d.Close)
	}
	if d.Interval != time.Minute || d.Cols != market.NumFeatures || len(d.X) != 3*d.Cols || d.Names[0] != "ret_1" {
		t.Errorf("shape: interval %s cols %d len(X) %d names %v", d.Interval, d.Cols, len(d.X), d.Names)
	}
	if got := d.Row(1); got[0] != 3 || got[2] != float64(3)+float64(2)/100 {
		t.Errorf("row 1 = %v, want the features of candle 3", got[:3])
	}
	if got := d.LabelTime(0); !got.Equal(fxStart.Add(3 * time.Minute)) {
		t.Errorf("label time %s", got)
	}
}

func TestBuildGapInCandles(t *testing.T) {
	rows, candles := fxData([]float64{100, 101, 102, 100, 99, 105, 104, 106})
	candles = slices.Delete(candles, 5, 6) // candle ending at minute 6 is missing
	d, err := Build(rows, candles, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Row 3 (its label would be candle 5) and row 5 (its own candle) go; rows
	// 6 and 7 have no future. The label is never taken from "2 rows later".
	want := BuildStats{Rows: 8, Kept: 4, NoCandle: 1, NoFuture: 3}
	if d.Stats != want {
		t.Errorf("stats %+v, want %+v", d.Stats, want)
	}
	if !slices.Equal(d.Y, []float64{math.Log(102.0 / 100), math.Log(100.0 / 101), math.Log(99.0 / 102), math.Log(104.0 / 99)}) {
		t.Errorf("y %v", d.Y)
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(rows []market.FeatureRow, candles []market.Candle) ([]market.FeatureRow, []market.Candle, int)
	}{
		{"horizon 0", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			return r, c, 0
		}},
		{"no rows", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			return nil, c, 1
		}},
		{"no candles", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			return r, nil, 1
		}},
		{"mixed pairs", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			r[2].Pair = "ETH/USD"
			return r, c, 1
		}},
		{"other schema", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			r[1].SchemaVersion = market.FeatureSchemaVersion + 1
			return r, c, 1
		}},
		{"duplicate row", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			return append(r, r[0]), c, 1
		}},
		{"close differs from its candle", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			r[1].Close = 101.5
			return r, c, 1
		}},
		{"candle of another pair", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			c[3].Pair = "ETH/USD"
			return r, c, 1
		}},
		{"candles of two lengths", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			c[3].End = c[3].End.Add(time.Minute)
			return r, c, 1
		}},
		{"duplicate candle", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			return r, append(c, c[2]), 1
		}},
		{"candle closing at NaN", func(r []market.FeatureRow, c []market.Candle) ([]market.FeatureRow, []market.Candle, int) {
			c[2].Close = math.NaN()
			return r, c, 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, candles, h := tt.modify(fxData([]float64{100, 101, 102, 100, 99}))
			if _, err := Build(rows, candles, h); !errors.Is(err, market.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestBuildRealData(t *testing.T) {
	candles := loadCandles(t, binanceETH, "ETH/USDT", 0)
	rows := featureRows(t, candles)
	for _, h := range []int{1, 5, 15} {
		d, err := Build(rows, candles, h)
		if err != nil {
			t.Fatalf("h=%d: %v", h, err)
		}
		// The file has no gaps: only the unwarm head and the last h rows go.
		// Its klines have no taker side and no trade count: those features
		// are missing in every kept row; a long feature is missing until its
		// window is full (the first kept row has FeatureWindow candles).
		want := BuildStats{Rows: len(rows), Kept: len(rows) - (market.FeatureWindow - 1) - h,
			NotWarm: market.FeatureWindow - 1, NoFuture: h}
		// One pair: no cross-pair features either.
		for _, f := range []int{market.FImbalance, market.FImbalance5, market.FTradeCount,
			market.FXRet1, market.FXRet5, market.FXRet15, market.FXRVol5, market.FXRVol30, market.FXRVol60} {
			want.Missing[f] = want.Kept
		}
		want.Missing[market.FRVol120] = 121 - market.FeatureWindow
		want.Missing[market.FRVol240] = 241 - market.FeatureWindow
		want.Missing[market.FRVol1440] = market.FeatureHistory - market.FeatureWindow
		if d.Stats != want {
			t.Errorf("h=%d: stats %+v, want %+v", h, d.Stats, want)
		}
		// Recompute every label and feature by candle index, independently of Build.
		for i := range d.Len() {
			k := i + market.FeatureWindow - 1
			y := math.Log(candles[k+h].Close / candles[k].Close)
			if d.Y[i] != y || !d.TS[i].Equal(candles[k].End) || !sameFloats(d.Row(i), rows[k].Values[:]) {
				t.Fatalf("h=%d row %d: y %v want %v, ts %s want %s", h, i, d.Y[i], y, d.TS[i], candles[k].End)
			}
		}
	}
}

// The no-leakage tests run on the first 20,000 real ETH/USDT minutes, h = 5.
const (
	leakRows    = 20000
	leakHorizon = 5
	leakCut     = 15000 // T = end of this candle
)

// prefixOf returns the rows of d whose label time is at most T, as a Dataset slice.
func labelsUpTo(d Dataset, T time.Time) Dataset {
	n := 0
	for n < d.Len() && !d.LabelTime(n).After(T) {
		n++
	}
	return d.Slice(0, n)
}

// sameFloats is bit-for-bit equality: a missing feature (NaN) equals NaN.
func sameFloats(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

// sameDataset is reflect.DeepEqual with X compared by sameFloats.
func sameDataset(a, b Dataset) bool {
	ax, bx := a.X, b.X
	a.X, b.X = nil, nil
	return sameFloats(ax, bx) && reflect.DeepEqual(a, b)
}

func equalRows(t *testing.T, name string, got, want Dataset) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("%s: %d rows, want %d", name, got.Len(), want.Len())
	}
	if !slices.EqualFunc(got.TS, want.TS, time.Time.Equal) || !sameFloats(got.X, want.X) ||
		!slices.Equal(got.Y, want.Y) || !slices.Equal(got.Close, want.Close) {
		t.Fatalf("%s: rows differ", name)
	}
}

func TestNoLeakageTruncateFuture(t *testing.T) {
	candles := loadCandles(t, binanceETH, "ETH/USDT", leakRows)
	rows := featureRows(t, candles)
	full, err := Build(rows, candles, leakHorizon)
	if err != nil {
		t.Fatal(err)
	}
	T := candles[leakCut].End
	// Truncated input: the stored rows up to T, and rows recomputed from the truncated candles.
	for name, truncRows := range map[string][]market.FeatureRow{
		"stored rows":     rows[:leakCut+1],
		"recomputed rows": featureRows(t, candles[:leakCut+1]),
	} {
		trunc, err := Build(truncRows, candles[:leakCut+1], leakHorizon)
		if err != nil {
			t.Fatal(err)
		}
		want := labelsUpTo(full, T)
		if want.Len() < 14000 {
			t.Fatalf("only %d rows before T", want.Len())
		}
		equalRows(t, name, trunc, want) // and nothing more: rows whose label is after T are absent
	}
}

func TestNoLeakageShuffledInput(t *testing.T) {
	candles := loadCandles(t, binanceETH, "ETH/USDT", leakRows)
	rows := featureRows(t, candles)
	want, err := Build(rows, candles, leakHorizon)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rows, candles = slices.Clone(rows), slices.Clone(candles)
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	rng.Shuffle(len(candles), func(i, j int) { candles[i], candles[j] = candles[j], candles[i] })
	got, err := Build(rows, candles, leakHorizon)
	if err != nil {
		t.Fatal(err)
	}
	if !sameDataset(got, want) {
		t.Error("shuffling the input changed the dataset")
	}
}

func TestNoLeakageAlteredFuture(t *testing.T) {
	candles := loadCandles(t, binanceETH, "ETH/USDT", leakRows)
	full, err := Build(featureRows(t, candles), candles, leakHorizon)
	if err != nil {
		t.Fatal(err)
	}
	// Shuffle the market after T: every candle after T gets the prices and
	// volumes of another later candle, and all features are recomputed.
	altered := slices.Clone(candles)
	later := altered[leakCut+1:]
	rng := rand.New(rand.NewPCG(3, 4))
	perm := rng.Perm(len(later))
	for i := range later {
		src := candles[leakCut+1+perm[i]]
		src.Start, src.End = later[i].Start, later[i].End
		later[i] = src
	}
	got, err := Build(featureRows(t, altered), altered, leakHorizon)
	if err != nil {
		t.Fatal(err)
	}
	T := candles[leakCut].End
	want := labelsUpTo(full, T)
	equalRows(t, "altered future", labelsUpTo(got, T), want)
	// Features and closes at ts ≤ T never see the future, even where the
	// label (legitimately) does: compare them for every row up to T.
	m := 0
	for m < full.Len() && !full.TS[m].After(T) {
		m++
	}
	n := want.Len()
	if m != n+leakHorizon {
		t.Fatalf("%d rows up to T, %d with labels up to T: want %d more", m, n, leakHorizon)
	}
	if !sameFloats(got.X[:m*got.Cols], full.X[:m*full.Cols]) || !slices.Equal(got.Close[:m], full.Close[:m]) {
		t.Error("altering the candles after T changed features at or before T")
	}
	// The alteration has teeth: the labels that end after T change, and so do the rows after T.
	if slices.Equal(got.Y[n:m], full.Y[n:m]) || sameFloats(got.X[m*got.Cols:], full.X[m*full.Cols:]) {
		t.Error("altering the candles after T changed nothing after T: the test proves nothing")
	}
}

func TestDatasetFileRoundTrip(t *testing.T) {
	candles := loadCandles(t, binanceBTC, "BTC/USDT", 3000)
	d, err := Build(featureRows(t, candles), candles, 3)
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/ds/BTC.gob"
	if err := WriteDatasetFile(path, d); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDatasetFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !sameDataset(got, d) {
		t.Error("dataset changed through its file")
	}
	var stale bytes.Buffer
	if err := gob.NewEncoder(&stale).Encode(datasetFile{Format: datasetFormat + 1, FeatureSchema: market.FeatureSchemaVersion, Dataset: d}); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeDataset(&stale); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("a file of another format: err = %v, want ErrInvalid", err)
	}
	x, y := d.Float32(10, 12)
	if len(x) != 2*d.Cols || len(y) != 2 || x[d.Cols] != float32(d.Row(11)[0]) || y[1] != float32(d.Y[11]) {
		t.Errorf("Float32 rows 10–11 wrong: %v %v", x[:2], y)
	}
}
