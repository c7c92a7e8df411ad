package parquet

import (
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
)

// TestNoSupersededRevisionSurvives is the retention of revisions: three
// days of real Binance ETH/USDT candles and feature rows, then three rounds
// of corrections (every 7th candle and row, revision 1, 2, 3, each flushed
// on its own with new rows between): the files hold one row per key, the
// last revision, and nothing else. Readers read the files' rows as they are,
// so what they return is what the files hold.
func TestNoSupersededRevisionSurvives(t *testing.T) {
	d := realfeatures.BinanceKlines(t, realdata.BinanceETH90d, "ETH/USDT", 3*1440)
	s := openStore(t, Options{})
	half := len(d.Candles) / 2
	mustNil(t, s.AddCandles(d.Candles[:half]))
	mustNil(t, s.AddFeatures(d.Rows[:half]))
	mustNil(t, s.Flush(t.Context()))
	for rev := 1; rev <= 3; rev++ {
		var cs []market.Candle
		var rs []market.FeatureRow
		for i := 0; i < half; i += 7 {
			c, r := d.Candles[i], d.Rows[i]
			c.Close, c.Revision = c.Close+float64(rev), rev
			r.Close, r.Revision = r.Close+float64(rev), rev
			cs, rs = append(cs, c), append(rs, r)
		}
		mustNil(t, s.AddCandles(cs))
		mustNil(t, s.AddFeatures(rs))
		if rev == 2 { // new rows between corrections
			mustNil(t, s.AddCandles(d.Candles[half:]))
			mustNil(t, s.AddFeatures(d.Rows[half:]))
		}
		mustNil(t, s.Flush(t.Context()))
	}
	candles, err := ReadCandles(s.Root(), "", time.Time{}, time.Time{})
	mustNil(t, err)
	rows, err := ReadFeatures(s.Root(), "", time.Time{}, time.Time{})
	mustNil(t, err)
	if len(candles) != len(d.Candles) || len(rows) != len(d.Rows) {
		t.Fatalf("%d candles, %d rows stored; want %d each, one per key", len(candles), len(rows), len(d.Candles))
	}
	for i := range candles {
		want, wantRow := d.Candles[i], d.Rows[i]
		if i < half && i%7 == 0 {
			want.Close, want.Revision = want.Close+3, 3
			wantRow.Close, wantRow.Revision = wantRow.Close+3, 3
		}
		if candles[i] != want || rows[i].Close != wantRow.Close || rows[i].Revision != wantRow.Revision || !rows[i].TS.Equal(wantRow.TS) {
			t.Fatalf("row %d: candle %+v revision %d, row revision %d; want revision %d", i, candles[i], candles[i].Revision, rows[i].Revision, want.Revision)
		}
	}
}
