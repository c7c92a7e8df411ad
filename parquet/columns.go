package parquet

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Column maps one field of a row type T to one Parquet column, both ways.
// Declaring a file as a list of columns (a Format) keeps its schema,
// encoder and decoder from drifting apart. The store's datasets and the
// scored predictions (package scoring) are declared this way.
type Column[T any] struct {
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

// StringColumn is a UTF-8 string column.
func StringColumn[T any](name string, get func(*T) string, set func(*T, string)) Column[T] {
	return Column[T]{
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

// Int64Column is an INT64 column.
func Int64Column[T any](name string, get func(*T) int64, set func(*T, int64)) Column[T] {
	return Column[T]{
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

// Float64Column is a required DOUBLE column; it reads nulls (written by
// other tools) as NaN.
func Float64Column[T any](name string, get func(*T) float64, set func(*T, float64)) Column[T] {
	return Column[T]{
		field: arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64},
		encode: func(b array.Builder, rows []T) {
			fb := b.(*array.Float64Builder)
			fb.Reserve(len(rows))
			for i := range rows {
				fb.UnsafeAppend(get(&rows[i]))
			}
		},
		decode: decodeFloat64(name, set),
	}
}

// NullFloat64Column is a nullable DOUBLE column where NaN is null: NaN is
// written as null and null read as NaN (a value not known, such as a
// prediction not scored yet).
func NullFloat64Column[T any](name string, get func(*T) float64, set func(*T, float64)) Column[T] {
	return Column[T]{
		field: arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		encode: func(b array.Builder, rows []T) {
			fb := b.(*array.Float64Builder)
			fb.Reserve(len(rows))
			for i := range rows {
				if v := get(&rows[i]); math.IsNaN(v) {
					fb.AppendNull()
				} else {
					fb.UnsafeAppend(v)
				}
			}
		},
		decode: decodeFloat64(name, set),
	}
}

// decodeFloat64 reads a DOUBLE column, nulls as NaN.
func decodeFloat64[T any](name string, set func(*T, float64)) func(a arrow.Array, rows []T) error {
	return func(a arrow.Array, rows []T) error {
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
	}
}

// BoolColumn is a BOOLEAN column.
func BoolColumn[T any](name string, get func(*T) bool, set func(*T, bool)) Column[T] {
	return Column[T]{
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

// TimestampColumn stores UTC microseconds; decoding honours any unit a
// file declares.
func TimestampColumn[T any](name string, get func(*T) time.Time, set func(*T, time.Time)) Column[T] {
	return Column[T]{
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

// Format is the Parquet file format of a row type: its columns, in order,
// and their Arrow schema. Write and Read turn rows into files and back.
type Format[T any] struct {
	name   string // what the rows are, for errors: "trades", "predictions"
	cols   []Column[T]
	schema *arrow.Schema
}

// NewFormat declares a file of the columns cols, holding name.
func NewFormat[T any](name string, cols ...Column[T]) Format[T] {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.field
	}
	return Format[T]{name: name, cols: cols, schema: arrow.NewSchema(fields, nil)}
}

// Optional makes a column added after files were written readable from
// them: rows of a file without it keep the zero value.
func Optional[T any](c Column[T]) Column[T] {
	c.absent = func(*T) {}
	return c
}
