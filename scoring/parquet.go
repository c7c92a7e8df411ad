package scoring

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// column maps one field of Scored to one Parquet column, both ways, so that
// the schema, the writer and the reader cannot drift apart.
type column struct {
	field  arrow.Field
	encode func(b array.Builder, r *Scored)
	decode func(a arrow.Array, i int, r *Scored) error
}

// columns is the file layout; the realized columns are null while unscored
// (an expired prediction).
var columns = []column{
	strCol("pair", func(r *Scored) *string { return &r.Pair }),
	tsCol("as_of", func(r *Scored) *time.Time { return &r.AsOf }),
	intCol("horizon", func(r *Scored) *int { return &r.Horizon }),
	tsCol("target_time", func(r *Scored) *time.Time { return &r.TargetTime }),
	f64Col("predicted_return", func(r *Scored) *float64 { return &r.PredictedReturn }),
	f64Col("predicted_price", func(r *Scored) *float64 { return &r.PredictedPrice }),
	f64Col("last_price", func(r *Scored) *float64 { return &r.LastPrice }),
	strCol("model_name", func(r *Scored) *string { return &r.Model.Name }),
	intCol("model_version", func(r *Scored) *int { return &r.Model.Version }),
	i64Col("feature_age_ms", func(r *Scored) *int64 { return &r.FeatureAgeMS }),
	boolCol("cached", func(r *Scored) *bool { return &r.Cached }),
	boolCol("stale", func(r *Scored) *bool { return &r.Stale }),
	intCol("served", func(r *Scored) *int { return &r.Served }),
	optCol("realized_price", func(r *Scored) **float64 { return &r.RealizedPrice }),
	optCol("realized_return", func(r *Scored) **float64 { return &r.RealizedReturn }),
	optCol("abs_error", func(r *Scored) **float64 { return &r.AbsError }),
	optCol("baseline_abs_error", func(r *Scored) **float64 { return &r.BaselineAbsError }),
}

var schema = func() *arrow.Schema {
	fields := make([]arrow.Field, len(columns))
	for i, c := range columns {
		fields[i] = c.field
	}
	return arrow.NewSchema(fields, nil)
}()

func strCol(name string, at func(*Scored) *string) column {
	return column{
		field:  arrow.Field{Name: name, Type: arrow.BinaryTypes.String},
		encode: func(b array.Builder, r *Scored) { b.(*array.StringBuilder).Append(*at(r)) },
		decode: func(a arrow.Array, i int, r *Scored) error {
			sa, ok := a.(*array.String)
			if !ok {
				return typeError(name, a)
			}
			*at(r) = strings.Clone(sa.Value(i)) // Value aliases a buffer that is released
			return nil
		},
	}
}

func i64Col(name string, at func(*Scored) *int64) column {
	return column{
		field:  arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64},
		encode: func(b array.Builder, r *Scored) { b.(*array.Int64Builder).Append(*at(r)) },
		decode: func(a arrow.Array, i int, r *Scored) error {
			ia, ok := a.(*array.Int64)
			if !ok {
				return typeError(name, a)
			}
			*at(r) = ia.Value(i)
			return nil
		},
	}
}

func intCol(name string, at func(*Scored) *int) column {
	c := i64Col(name, nil)
	c.encode = func(b array.Builder, r *Scored) { b.(*array.Int64Builder).Append(int64(*at(r))) }
	c.decode = func(a arrow.Array, i int, r *Scored) error {
		ia, ok := a.(*array.Int64)
		if !ok {
			return typeError(name, a)
		}
		*at(r) = int(ia.Value(i))
		return nil
	}
	return c
}

func f64Col(name string, at func(*Scored) *float64) column {
	return column{
		field:  arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64},
		encode: func(b array.Builder, r *Scored) { b.(*array.Float64Builder).Append(*at(r)) },
		decode: func(a arrow.Array, i int, r *Scored) error {
			fa, ok := a.(*array.Float64)
			if !ok {
				return typeError(name, a)
			}
			*at(r) = fa.Value(i)
			return nil
		},
	}
}

func optCol(name string, at func(*Scored) **float64) column {
	return column{
		field: arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		encode: func(b array.Builder, r *Scored) {
			if v := *at(r); v != nil {
				b.(*array.Float64Builder).Append(*v)
			} else {
				b.AppendNull()
			}
		},
		decode: func(a arrow.Array, i int, r *Scored) error {
			fa, ok := a.(*array.Float64)
			if !ok {
				return typeError(name, a)
			}
			if fa.IsValid(i) {
				v := fa.Value(i)
				*at(r) = &v
			}
			return nil
		},
	}
}

func boolCol(name string, at func(*Scored) *bool) column {
	return column{
		field:  arrow.Field{Name: name, Type: arrow.FixedWidthTypes.Boolean},
		encode: func(b array.Builder, r *Scored) { b.(*array.BooleanBuilder).Append(*at(r)) },
		decode: func(a arrow.Array, i int, r *Scored) error {
			ba, ok := a.(*array.Boolean)
			if !ok {
				return typeError(name, a)
			}
			*at(r) = ba.Value(i)
			return nil
		},
	}
}

// tsCol stores UTC microseconds; reading honours any unit a file declares.
func tsCol(name string, at func(*Scored) *time.Time) column {
	return column{
		field: arrow.Field{Name: name, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		encode: func(b array.Builder, r *Scored) {
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(at(r).UnixMicro()))
		},
		decode: func(a arrow.Array, i int, r *Scored) error {
			ta, ok := a.(*array.Timestamp)
			if !ok {
				return typeError(name, a)
			}
			*at(r) = ta.Value(i).ToTime(ta.DataType().(*arrow.TimestampType).Unit)
			return nil
		},
	}
}

func typeError(name string, a arrow.Array) error {
	return fmt.Errorf("column %s: unexpected type %s", name, a.DataType())
}

// encode writes rows as one Parquet file with a single row group: a flush
// holds minutes of predictions, not millions.
func encode(w io.Writer, rows []Scored) error {
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor("pair", true),
		parquet.WithDictionaryFor("model_name", true),
		parquet.WithCreatedBy("tickcast"),
	)
	fw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return fmt.Errorf("new predictions writer: %w", err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range rows {
		for j, c := range columns {
			c.encode(b.Field(j), &rows[i])
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return fmt.Errorf("write predictions: %w", err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("close predictions writer: %w", err)
	}
	return nil
}

// ReadScored reads back every row Flush wrote under dir, sorted by as_of,
// pair, horizon and model version. A prediction written more than once (re-
// scored after a correction) is returned as last written. A missing dir
// holds no rows.
func ReadScored(dir string) ([]Scored, error) {
	paths, err := parquetFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("read predictions %s: %w", dir, err)
	}
	latest := make(map[key]Scored)
	for _, p := range paths {
		rows, err := readFile(p)
		if err != nil {
			return nil, fmt.Errorf("read predictions %s: %w", p, err)
		}
		for _, r := range rows {
			latest[key{r.Pair, r.Horizon, r.AsOf.UnixNano(), r.Model.Version}] = r
		}
	}
	out := make([]Scored, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Scored) int {
		return cmp.Or(a.AsOf.Compare(b.AsOf), cmp.Compare(a.Pair, b.Pair),
			cmp.Compare(a.Horizon, b.Horizon), cmp.Compare(a.Model.Version, b.Model.Version))
	})
	return out, nil
}

// parquetFiles lists dir's Parquet files in write order: a row's day never
// changes, so order across days does not matter and names order each day.
func parquetFiles(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			paths = append(paths, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	slices.Sort(paths)
	return paths, err
}

func readFile(path string) ([]Scored, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	rows := make([]Scored, 0, pf.NumRows())
	for rr.Next() {
		if rows, err = decodeBatch(rows, rr.RecordBatch()); err != nil {
			return nil, err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return rows, nil
}

// decodeBatch finds columns by name, so files may order them differently.
func decodeBatch(rows []Scored, rec arrow.RecordBatch) ([]Scored, error) {
	start := len(rows)
	rows = append(rows, make([]Scored, rec.NumRows())...)
	for _, c := range columns {
		idx := rec.Schema().FieldIndices(c.field.Name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("missing column %s", c.field.Name)
		}
		a := rec.Column(idx[0])
		for i := range a.Len() {
			if err := c.decode(a, i, &rows[start+i]); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}
