package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// rowGroupRows bounds a row group: large enough for good compression and
// DuckDB's parallel scan, small enough to keep encoding memory modest.
const rowGroupRows = 128 * 1024

// readBatchRows is the batch size of the arrow reader.
const readBatchRows = 64 * 1024

// writerProps picks encodings by column type: dictionaries only for the
// repetitive strings (pair, side, ...), where they pay; delta encoding for
// the sorted timestamps and ids, where hashing unique values into a
// dictionary would cost most of the write time for nothing.
func writerProps(sc *arrow.Schema) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(rowGroupRows),
		parquet.WithDictionaryDefault(false),
		// A fixed creator string keeps equal input byte-identical across builds.
		parquet.WithCreatedBy("tickcast"),
	}
	for _, f := range sc.Fields() {
		switch f.Type.ID() {
		case arrow.STRING:
			opts = append(opts, parquet.WithDictionaryFor(f.Name, true))
		case arrow.INT64, arrow.TIMESTAMP:
			opts = append(opts, parquet.WithEncodingFor(f.Name, parquet.Encodings.DeltaBinaryPacked))
		}
	}
	return parquet.NewWriterProperties(opts...)
}

// encodeRows is how many rows are turned into arrow arrays at a time: the
// writer buffers a row group's encoded, compressed pages (small) rather
// than a whole row group of arrow arrays (tens of MB for a day of trades).
const encodeRows = 16 * 1024

// Write encodes the rows of the chunks, in order, as one Parquet file
// (zstd, a row group per 128Ki rows), unbuffered.
func (c *Format[T]) Write(w io.Writer, chunks ...[]T) error {
	fw, err := pqarrow.NewFileWriter(c.schema, w, writerProps(c.schema), pqarrow.DefaultWriterProps())
	if err != nil {
		return fmt.Errorf("new %s writer: %w", c.name, err)
	}
	for _, rows := range chunks {
		for start := 0; start < len(rows); start += encodeRows {
			chunk := rows[start:min(start+encodeRows, len(rows))]
			if err := c.writeChunk(fw, chunk); err != nil {
				fw.Close()
				return err
			}
		}
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("close %s writer: %w", c.name, err)
	}
	return nil
}

// writeChunk appends rows to the current row group, which the writer
// closes at rowGroupRows (a multiple of encodeRows) and starts the next.
func (c *Format[T]) writeChunk(fw *pqarrow.FileWriter, rows []T) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, c.schema)
	defer b.Release()
	for i, col := range c.cols {
		col.encode(b.Field(i), rows)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := fw.WriteBuffered(rec); err != nil {
		return fmt.Errorf("write %s rows: %w", c.name, err)
	}
	return nil
}

// Read decodes every row of a file; a missing file has no rows, a file
// that cannot be decoded is a *CorruptError.
func (c *Format[T]) Read(ctx context.Context, path string) ([]T, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	rows, err := decodeSafely(func() ([]T, error) { return c.decodeFile(ctx, f) })
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read %s: %w", path, ctx.Err())
		}
		return nil, &CorruptError{Path: path, Err: err}
	}
	return rows, nil
}

func (c *Format[T]) decodeFile(ctx context.Context, f *os.File) ([]T, error) {
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, err
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: readBatchRows}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	rows := make([]T, 0, pf.NumRows())
	for rr.Next() {
		batch, err := c.decodeBatch(rr.RecordBatch())
		if err != nil {
			return nil, err
		}
		rows = append(rows, batch...)
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return rows, nil
}

// decodeBatch finds columns by name, so files may order them differently.
func (c *Format[T]) decodeBatch(rec arrow.RecordBatch) ([]T, error) {
	rows := make([]T, rec.NumRows())
	for _, col := range c.cols {
		idx := rec.Schema().FieldIndices(col.field.Name)
		switch {
		case len(idx) > 0:
			if err := col.decode(rec.Column(idx[0]), rows); err != nil {
				return nil, err
			}
		case col.absent != nil:
			for i := range rows {
				col.absent(&rows[i])
			}
		default:
			return nil, fmt.Errorf("missing column %s", col.field.Name)
		}
	}
	return rows, nil
}
