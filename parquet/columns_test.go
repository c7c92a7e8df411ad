package parquet

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// A NullFloat64Column writes NaN as null and reads null as NaN; a
// Float64Column reads another tool's nulls as NaN too.
func TestNaNIsNull(t *testing.T) {
	type row struct{ known, maybe float64 }
	nullable := NewFormat("rows",
		Float64Column("known", func(r *row) float64 { return r.known }, func(r *row, v float64) { r.known = v }),
		NullFloat64Column("maybe", func(r *row) float64 { return r.maybe }, func(r *row, v float64) { r.maybe = v }))
	rows := []row{{1, 2}, {3, math.NaN()}, {math.NaN(), 4}}
	var buf bytes.Buffer
	mustNil(t, nullable.Write(&buf, rows))
	path := filepath.Join(t.TempDir(), "rows.parquet")
	mustNil(t, os.WriteFile(path, buf.Bytes(), 0o644))

	if nulls := nullCounts(t, buf.Bytes()); nulls["known"] != 0 || nulls["maybe"] != 1 {
		t.Errorf("null counts %v, want known 0 (NaN stays NaN), maybe 1", nulls)
	}
	got, err := nullable.Read(context.Background(), path)
	mustNil(t, err)
	// Read the nullable column as a plain Float64Column: its null is NaN.
	plain := NewFormat("rows",
		Float64Column("maybe", func(r *row) float64 { return r.maybe }, func(r *row, v float64) { r.maybe = v }))
	other, err := plain.Read(context.Background(), path)
	mustNil(t, err)
	same(t, got, rows)
	same(t, other, []row{{maybe: 2}, {maybe: math.NaN()}, {maybe: 4}})
}

func nullCounts(t *testing.T, data []byte) map[string]int {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	mustNil(t, err)
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	mustNil(t, err)
	tbl, err := fr.ReadTable(context.Background())
	mustNil(t, err)
	defer tbl.Release()
	out := map[string]int{}
	for i := range int(tbl.NumCols()) {
		out[tbl.Schema().Field(i).Name] = tbl.Column(i).NullN()
	}
	return out
}
