package market

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
)

// krakenCSVHeader is the header of the real Kraken trade files in shared/data.
var krakenCSVHeader = [...]string{"time_ms", "timestamp_utc", "price", "volume", "side"}

// loadKrakenTrades reads the real Kraken BTC/USD trade file of
// 2019-07-01 00:00–01:00 UTC (skipping tb when it is absent). Trade ids are
// the row numbers 1..N, so the stream is a gap-free per-pair sequence.
func loadKrakenTrades(tb testing.TB) []Trade {
	tb.Helper()
	f, err := os.Open(realdata.Path(tb, realdata.KrakenTrades1h))
	if err != nil {
		tb.Fatalf("open kraken trades: %v", err)
	}
	defer f.Close()
	trades, err := readKrakenTrades(f)
	if err != nil {
		tb.Fatalf("read kraken trades: %v", err)
	}
	return trades
}

func readKrakenTrades(r io.Reader) ([]Trade, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(krakenCSVHeader)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if [5]string(header) != krakenCSVHeader {
		return nil, fmt.Errorf("header %v, want %v", header, krakenCSVHeader)
	}
	var trades []Trade
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return trades, nil
		}
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", len(trades)+1, err)
		}
		t, err := krakenRow(rec, int64(len(trades)+1))
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", len(trades)+1, err)
		}
		trades = append(trades, t)
	}
}

func krakenRow(rec []string, id int64) (Trade, error) {
	ms, err := strconv.ParseInt(rec[0], 10, 64)
	if err != nil {
		return Trade{}, fmt.Errorf("time_ms: %w", err)
	}
	price, err := strconv.ParseFloat(rec[2], 64)
	if err != nil {
		return Trade{}, fmt.Errorf("price: %w", err)
	}
	qty, err := strconv.ParseFloat(rec[3], 64)
	if err != nil {
		return Trade{}, fmt.Errorf("volume: %w", err)
	}
	side, err := ParseSide(rec[4])
	if err != nil {
		return Trade{}, err
	}
	t := Trade{
		Pair: "BTC/USD", TradeID: id, Price: price, Qty: qty, Side: side,
		TS: time.UnixMilli(ms).UTC(), Source: SourceReplay,
	}
	return t, t.Validate()
}
