package xgboost

import (
	"bufio"
	"compress/gzip"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/internal/realdata"
)

// ethKlines is the real Binance ETH/USDT 1-minute kline file (90 days).
const ethKlines = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"

// loadCloses reads the close of the first n real ETH/USDT 1-minute candles.
func loadCloses(tb testing.TB, n int) []float64 {
	tb.Helper()
	f, err := os.Open(realdata.Path(tb, ethKlines))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(gz)
	sc.Scan() // header: open_time_ms,open,high,low,close,volume
	if h := sc.Text(); h != "open_time_ms,open,high,low,close,volume" {
		tb.Fatalf("unexpected header %q", h)
	}
	closes := make([]float64, 0, n)
	for len(closes) < n && sc.Scan() {
		cells := strings.Split(sc.Text(), ",")
		c, err := strconv.ParseFloat(cells[4], 64)
		if err != nil || c <= 0 {
			tb.Fatalf("close %q: %v", cells[4], err)
		}
		closes = append(closes, c)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(closes) < n {
		tb.Fatalf("%d closes, want %d", len(closes), n)
	}
	return closes
}

// dataset is a dense regression set: row i holds the last cols 1-minute log
// returns (newest first), its label the next minute's log return.
type dataset struct {
	X    []float32
	Y    []float32
	Rows int
	Cols int
}

func lagged(closes []float64, cols int) dataset {
	r := make([]float64, len(closes))
	for i := 1; i < len(closes); i++ {
		r[i] = math.Log(closes[i] / closes[i-1])
	}
	var d dataset
	d.Cols = cols
	for t := cols; t+1 < len(closes); t++ {
		for k := range cols {
			d.X = append(d.X, float32(r[t-k]))
		}
		d.Y = append(d.Y, float32(r[t+1]))
		d.Rows++
	}
	return d
}

// slice returns rows [from, to).
func (d dataset) slice(from, to int) dataset {
	return dataset{X: d.X[from*d.Cols : to*d.Cols], Y: d.Y[from:to], Rows: to - from, Cols: d.Cols}
}

// split cuts d in time order into 70% train, 15% valid, 15% test, leaving
// one row out between parts: a label is the next return, which is the
// newest feature of the next row.
func (d dataset) split() (train, valid, test dataset) {
	a, b := d.Rows*70/100, d.Rows*85/100
	return d.slice(0, a), d.slice(a+1, b), d.slice(b+1, d.Rows)
}

func (d dataset) matrix(tb testing.TB) *Matrix {
	tb.Helper()
	m, err := NewMatrix(d.X, d.Rows, d.Cols, nan32())
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.SetLabels(d.Y); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// realSplits loads n real candles as train/valid/test matrices with cols lags.
func realSplits(tb testing.TB, n, cols int) (tr, va, te dataset) {
	tb.Helper()
	return lagged(loadCloses(tb, n), cols).split()
}

// testParams is a deterministic configuration (one thread, no sampling).
func testParams(method string) Params {
	return Params{
		"objective":        "reg:squarederror",
		"tree_method":      method,
		"max_depth":        "4",
		"eta":              "0.1",
		"min_child_weight": "5",
		"lambda":           "1",
		"alpha":            "0",
		"subsample":        "1",
		"colsample_bytree": "1",
		"base_score":       "0",
		"nthread":          "1",
		"seed":             "7",
		"eval_metric":      "mae",
	}
}
