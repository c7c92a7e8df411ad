// Package realfeatures gives tests real candles and the feature rows the
// market code computes from them: the first n candles of a real kline file
// in ../shared/data, parsed and turned into rows once per test binary.
// (It is not in package realdata, which archive's own tests import.)
package realfeatures

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// Data is n real candles of one pair and their feature rows, index for index.
type Data struct {
	Candles []market.Candle
	Rows    []market.FeatureRow
}

type key struct {
	rel, pair string
	n         int
}

type entry struct {
	once sync.Once
	data Data
	err  error
}

var (
	mu    sync.Mutex
	cache = map[key]*entry{} // per test binary: each file is parsed once
)

// BinanceKlines returns the first n candles of the real Binance kline file
// rel (a path under the shared data folder, e.g. realdata.BinanceETH90d)
// as pair, with their feature rows. It skips the test when the data is
// absent (see realdata.Path). Only the first n lines are parsed: the whole
// 90-day file would dominate a test run under -race.
func BinanceKlines(tb testing.TB, rel, pair string, n int) Data {
	tb.Helper()
	path := realdata.Path(tb, rel)
	mu.Lock()
	e, ok := cache[key{rel, pair, n}]
	if !ok {
		e = &entry{}
		cache[key{rel, pair, n}] = e
	}
	mu.Unlock()
	e.once.Do(func() { e.data, e.err = read(path, pair, n) })
	if e.err != nil {
		tb.Fatalf("real data %s: %v", rel, e.err)
	}
	return e.data
}

func read(path, pair string, n int) (Data, error) {
	rc, err := archive.Open(path)
	if err != nil {
		return Data{}, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	sc := bufio.NewScanner(rc)
	for i := 0; i <= n && sc.Scan(); i++ { // the header, then n candles
		buf.Write(sc.Bytes())
		buf.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return Data{}, err
	}
	candles, err := archive.ParseCandles(&buf, archive.BinanceKlines, pair, time.Minute)
	if err != nil {
		return Data{}, err
	}
	rows, err := features(candles)
	if err != nil {
		return Data{}, err
	}
	return Data{Candles: candles, Rows: rows}, nil
}

// Rows are the feature rows market.Features makes of candles, index for
// index; an error fails the test.
func Rows(tb testing.TB, candles []market.Candle) []market.FeatureRow {
	tb.Helper()
	rows, err := features(candles)
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

func features(candles []market.Candle) ([]market.FeatureRow, error) {
	f := market.NewFeatures()
	rows := make([]market.FeatureRow, 0, len(candles))
	for _, c := range candles {
		r, err := f.Update(c)
		if err != nil {
			return nil, fmt.Errorf("features at %s: %w", c.Start, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// Splice continues the real candles calm with the real day hv's returns
// (hv[0] only gives the first return), rebuilt on calm's price: each
// spliced candle is the real one scaled by k = (previous rebuilt close) /
// (previous real close), so its log returns (close to close, and open,
// high, low against the previous close) are the real day's, as are its
// volume, taker volumes and trade count (VWAP scaled too); its times
// continue calm's minutes. The splice tests of drift and driftwatch feed
// it a high-volatility day after calm history.
func Splice(calm, hv []market.Candle) []market.Candle {
	out := slices.Clone(calm)
	prev := out[len(out)-1]
	for j := 1; j < len(hv); j++ {
		c, k := hv[j], prev.Close/hv[j-1].Close
		c.Pair, c.Open, c.High, c.Low, c.Close, c.VWAP = prev.Pair, c.Open*k, c.High*k, c.Low*k, c.Close*k, c.VWAP*k
		c.Start, c.End = prev.End, prev.End.Add(time.Minute)
		out = append(out, c)
		prev = c
	}
	return out
}
