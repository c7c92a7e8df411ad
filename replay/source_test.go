package replay

import (
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// Candle files split at --replay-from (default: a day before their end):
// before it is the backfill's, after it streams as reconstructed trades.
func TestLoadSplitsCandles(t *testing.T) {
	path := realdata.Path(t, realdata.KrakenXBT1m21d)
	src, err := Load(Item{"BTC/USD", []string{path}}, time.Time{}, DefaultSpan)
	if err != nil {
		t.Fatal(err)
	}
	// The file's last candle starts 2023-03-21T23:59Z.
	if want := time.Date(2023, 3, 21, 0, 0, 0, 0, time.UTC); !src.Candles || !src.Backfill || !src.Split.Equal(want) {
		t.Errorf("split %s backfill %v candles %v; want %s", src.Split, src.Backfill, src.Candles, want)
	}
	if src.First().Before(src.Split) || src.head[0].Source != market.SourceReconstructed {
		t.Errorf("first streamed trade %+v", src.head[0])
	}
	from := time.Date(2023, 3, 10, 12, 0, 30, 0, time.UTC) // inside a candle: the next one starts the stream
	src, err = Load(Item{"BTC/USD", []string{path}}, from, DefaultSpan)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2023, 3, 10, 12, 1, 0, 0, time.UTC); !src.Split.Equal(want) {
		t.Errorf("split %s, want %s", src.Split, want)
	}
	if _, err := Load(Item{"BTC/USD", []string{path}}, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 0); err == nil {
		t.Error("--replay-from after the file: want an error")
	}
	trades := realdata.Path(t, realdata.KrakenTrades1h)
	if _, err := Load(Item{"BTC/USD", []string{path, trades}}, time.Time{}, DefaultSpan); err == nil {
		t.Error("trade and candle files mixed: want an error")
	}
	src, err = Load(Item{"BTC/USD", []string{trades}}, time.Time{}, DefaultSpan)
	if err != nil || src.Candles || src.Backfill || src.Count != 2672 {
		t.Errorf("trade file: %v candles %v, %d trades", err, src.Candles, src.Count)
	}
}
