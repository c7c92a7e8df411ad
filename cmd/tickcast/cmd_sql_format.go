package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// resultWriter prints the results of sql statements in one format.
type resultWriter interface {
	header(w io.Writer, cols []string) error
	row(w io.Writer, vals []any) error
	end(w io.Writer) error
	separate(w io.Writer) error // between two statements' results
}

func newResultWriter(format string) (resultWriter, bool) {
	switch format {
	case "table":
		return &tableWriter{}, true
	case "csv":
		return &csvWriter{}, true
	case "json":
		return &jsonWriter{}, true
	}
	return nil, false
}

// cellText is a value as text: times in RFC 3339 (UTC), floats in the
// shortest form that reads back, maps and lists as JSON; NULL as null.
func cellText(v any, null string) string {
	switch v := v.(type) {
	case nil:
		return null
	case string:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case map[string]any, []any:
		b, err := json.Marshal(jsonValue(v))
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

// jsonValue is v ready for encoding/json: times as RFC 3339 strings,
// NaN and ±Inf as null (as export's JSON lines), nested values likewise.
func jsonValue(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
	case float32:
		return jsonValue(float64(v))
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = jsonValue(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonValue(x)
		}
		return out
	}
	return v
}

// tableWriter aligns columns, so it holds a statement's rows until its end.
type tableWriter struct {
	cols []string
	rows [][]string
}

func (t *tableWriter) header(_ io.Writer, cols []string) error {
	t.cols, t.rows = cols, nil
	return nil
}

func (t *tableWriter) row(_ io.Writer, vals []any) error {
	r := make([]string, len(vals))
	for i, v := range vals {
		r[i] = strings.ReplaceAll(cellText(v, "NULL"), "\n", `\n`)
	}
	t.rows = append(t.rows, r)
	return nil
}

func (t *tableWriter) end(w io.Writer) error {
	width := make([]int, len(t.cols))
	for i, c := range t.cols {
		width[i] = utf8.RuneCountInString(c)
		for _, r := range t.rows {
			width[i] = max(width[i], utf8.RuneCountInString(r[i]))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(t.cols)
	rule := make([]string, len(t.cols))
	for i := range rule {
		rule[i] = strings.Repeat("-", width[i])
	}
	line(rule)
	for _, r := range t.rows {
		line(r)
	}
	_, err := fmt.Fprintf(w, "(%d %s)\n", len(t.rows), plural(len(t.rows), "row"))
	return err
}

func (t *tableWriter) separate(w io.Writer) error {
	_, err := fmt.Fprintln(w)
	return err
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// csvWriter writes a header line, then a record per row; NULL is empty.
type csvWriter struct {
	csv *csv.Writer
	rec []string
}

func (c *csvWriter) header(w io.Writer, cols []string) error {
	c.csv = csv.NewWriter(w)
	return c.csv.Write(cols)
}

func (c *csvWriter) row(_ io.Writer, vals []any) error {
	c.rec = c.rec[:0]
	for _, v := range vals {
		c.rec = append(c.rec, cellText(v, ""))
	}
	return c.csv.Write(c.rec)
}

func (c *csvWriter) end(io.Writer) error {
	c.csv.Flush()
	return c.csv.Error()
}

func (c *csvWriter) separate(w io.Writer) error {
	_, err := fmt.Fprintln(w)
	return err
}

// jsonWriter writes one JSON object per row, its keys in column order.
type jsonWriter struct {
	keys [][]byte
	buf  []byte
}

func (j *jsonWriter) header(_ io.Writer, cols []string) error {
	j.keys = make([][]byte, len(cols))
	for i, c := range cols {
		k, err := json.Marshal(c)
		if err != nil {
			return err
		}
		j.keys[i] = k
	}
	return nil
}

func (j *jsonWriter) row(w io.Writer, vals []any) error {
	j.buf = append(j.buf[:0], '{')
	for i, v := range vals {
		if i > 0 {
			j.buf = append(j.buf, ',')
		}
		b, err := json.Marshal(jsonValue(v))
		if err != nil {
			return fmt.Errorf("column %s: %w", j.keys[i], err)
		}
		j.buf = append(append(append(j.buf, j.keys[i]...), ':'), b...)
	}
	_, err := w.Write(append(j.buf, '}', '\n'))
	return err
}

func (j *jsonWriter) end(io.Writer) error { return nil }

func (j *jsonWriter) separate(io.Writer) error { return nil }
