package parquet

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// column maps one field of a row type T to one Parquet column, both ways.
// Declaring a dataset as a list of columns keeps its schema, encoder and
// decoder from drifting apart.
type column[T any] struct {
	field  arrow.Field
	encode func(b array.Builder, rows []T)
	decode func(a arrow.Array, rows []T) error
	// absent fills rows when a file lacks the column; nil makes it required.
	absent func(row *T)
}

// timestampType is TIMESTAMP(MICROS, isAdjustedToUTC=true) in Parquet.
func timestampType() arrow.DataType {
	return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
}

func strCol[T any](name string, get func(*T) string, set func(*T, string)) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.BinaryTypes.String},
		encode: func(b array.Builder, rows []T) {
			sb := b.(*array.StringBuilder)
			size := 0
			for i := range rows {
				size += len(get(&rows[i]))
			}
			sb.Reserve(len(rows)) // exact sizes: no doubling of arrow's buffers
			sb.ReserveData(size)
			for i := range rows {
				sb.Append(get(&rows[i]))
			}
		},
		decode: func(a arrow.Array, rows []T) error {
			sa, ok := a.(*array.String)
			if !ok {
				return typeError(name, a)
			}
			// Value aliases arrow's buffer, which may be reused after
			// Release: copy each distinct value once (they are few).
			seen := make(map[string]string)
			for i := range rows {
				v := sa.Value(i)
				own, ok := seen[v]
				if !ok {
					own = strings.Clone(v)
					seen[own] = own
				}
				set(&rows[i], own)
			}
			return nil
		},
	}
}

func i64Col[T any](name string, get func(*T) int64, set func(*T, int64)) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64},
		encode: func(b array.Builder, rows []T) {
			ib := b.(*array.Int64Builder)
			ib.Reserve(len(rows))
			for i := range rows {
				ib.UnsafeAppend(get(&rows[i]))
			}
		},
		decode: func(a arrow.Array, rows []T) error {
			ia, ok := a.(*array.Int64)
			if !ok {
				return typeError(name, a)
			}
			for i := range rows {
				set(&rows[i], ia.Value(i))
			}
			return nil
		},
	}
}

// f64Col reads nulls (written by other tools) as NaN.
func f64Col[T any](name string, get func(*T) float64, set func(*T, float64)) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64},
		encode: func(b array.Builder, rows []T) {
			fb := b.(*array.Float64Builder)
			fb.Reserve(len(rows))
			for i := range rows {
				fb.UnsafeAppend(get(&rows[i]))
			}
		},
		decode: func(a arrow.Array, rows []T) error {
			fa, ok := a.(*array.Float64)
			if !ok {
				return typeError(name, a)
			}
			for i := range rows {
				v := fa.Value(i)
				if fa.IsNull(i) {
					v = math.NaN()
				}
				set(&rows[i], v)
			}
			return nil
		},
	}
}

func boolCol[T any](name string, get func(*T) bool, set func(*T, bool)) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.FixedWidthTypes.Boolean},
		encode: func(b array.Builder, rows []T) {
			bb := b.(*array.BooleanBuilder)
			for i := range rows {
				bb.Append(get(&rows[i]))
			}
		},
		decode: func(a arrow.Array, rows []T) error {
			ba, ok := a.(*array.Boolean)
			if !ok {
				return typeError(name, a)
			}
			for i := range rows {
				set(&rows[i], ba.Value(i))
			}
			return nil
		},
	}
}

// tsCol stores UTC microseconds; decoding honours any unit a file declares.
func tsCol[T any](name string, get func(*T) time.Time, set func(*T, time.Time)) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: timestampType()},
		encode: func(b array.Builder, rows []T) {
			tb := b.(*array.TimestampBuilder)
			tb.Reserve(len(rows))
			for i := range rows {
				tb.UnsafeAppend(arrow.Timestamp(get(&rows[i]).UnixMicro()))
			}
		},
		decode: func(a arrow.Array, rows []T) error {
			ta, ok := a.(*array.Timestamp)
			if !ok {
				return typeError(name, a)
			}
			unit := ta.DataType().(*arrow.TimestampType).Unit
			for i := range rows {
				set(&rows[i], ta.Value(i).ToTime(unit))
			}
			return nil
		},
	}
}

func typeError(name string, a arrow.Array) error {
	return fmt.Errorf("column %s: unexpected type %s", name, a.DataType())
}

// schemaOf builds the Arrow schema of a column list; every field is
// required because the store never writes nulls.
func schemaOf[T any](cols []column[T]) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.field
	}
	return arrow.NewSchema(fields, nil)
}
