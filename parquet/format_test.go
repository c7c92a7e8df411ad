package parquet

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// TestFileFormat pins what readers rely on: column names, µs UTC-adjusted
// timestamps, zstd, required columns.
func TestFileFormat(t *testing.T) {
	s := openStore(t, Options{})
	mustNil(t, s.AddCandles(fixtureCandles()[:1]))
	mustNil(t, s.Flush(t.Context()))
	path := filepath.Join(PartitionDir(s.Root(), DatasetCandles, "BTC/USD", fixtureCandles()[0].Start), FileName)
	f, err := os.Open(path)
	mustNil(t, err)
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	mustNil(t, err)
	sc := pf.MetaData().Schema
	want := []string{"pair", "start", "end", "open", "high", "low", "close", "volume", "vwap", "trades",
		"buy_volume", "sell_volume", "first_trade_id", "last_trade_id", "complete", "repaired", "revision"}
	if sc.NumColumns() != len(want) {
		t.Fatalf("%d columns, want %d", sc.NumColumns(), len(want))
	}
	for i, name := range want {
		col := sc.Column(i)
		if col.Name() != name || col.MaxDefinitionLevel() != 0 {
			t.Errorf("column %d: %s (max def level %d), want required %s", i, col.Name(), col.MaxDefinitionLevel(), name)
		}
	}
	ts, ok := sc.Column(1).LogicalType().(schema.TimestampLogicalType)
	if !ok || !ts.IsAdjustedToUTC() || ts.TimeUnit() != schema.TimeUnitMicros {
		t.Errorf("start is %s, want TIMESTAMP(MICROS, UTC)", sc.Column(1).LogicalType())
	}
	cc, err := pf.MetaData().RowGroup(0).ColumnChunk(0)
	mustNil(t, err)
	if cc.Compression() != compress.Codecs.Zstd {
		t.Errorf("compression %s, want zstd", cc.Compression())
	}
}
