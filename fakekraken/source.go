package fakekraken

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/market"
)

// TradeSource yields one pair's trades in time order with increasing trade
// ids, one at a time, so that a replay never holds its whole file
// (Config.Sources). Next returns io.EOF after the last trade. A source that
// is also an io.Closer is closed by the Server when drained or closed.
type TradeSource interface {
	Next() (market.Trade, error)
}

// SliceSource serves trades from memory (tests, small replays).
type SliceSource struct {
	trades []market.Trade
	i      int
}

// NewSliceSource returns a source over trades; the slice is not copied.
func NewSliceSource(trades []market.Trade) *SliceSource { return &SliceSource{trades: trades} }

// Next implements TradeSource.
func (s *SliceSource) Next() (market.Trade, error) {
	if s.i >= len(s.trades) {
		return market.Trade{}, io.EOF
	}
	s.i++
	return s.trades[s.i-1], nil
}

// csvChunkLines is how many rows CSVSource parses at a time: its memory.
const csvChunkLines = 4096

// CSVSource reads a trade CSV incrementally, chunk by chunk, with the
// parser of LoadTradesCSV (archive.ReadTradesCSV, fed one chunk of lines at
// a time behind the file's header), so a replay holds csvChunkLines trades
// of the file at most, whatever its size. Rows spanning lines (quoted
// newlines) are not supported: trade files have none.
type CSVSource struct {
	r      *bufio.Reader
	closer io.Closer
	pair   string
	nextID int64
	header []byte // the header line, "" for headerless Time and Sales
	line   int    // lines consumed
	chunk  int    // rows per chunk
	buf    []market.Trade
	eof    bool
}

// NewCSVSource reads trades of pair from r, numbered from firstID, in the
// formats of LoadTradesCSV.
func NewCSVSource(r io.Reader, pair string, firstID int64) (*CSVSource, error) {
	p, err := market.NormalizePair(pair)
	if err != nil {
		return nil, fmt.Errorf("fakekraken: csv source: %w", err)
	}
	if firstID < 0 {
		return nil, fmt.Errorf("fakekraken: csv source %s: negative first trade_id %d", p, firstID)
	}
	return &CSVSource{r: bufio.NewReaderSize(r, 1<<16), pair: p, nextID: firstID, chunk: csvChunkLines}, nil
}

// OpenCSVSource opens the trade file at path (.gz read transparently by
// archive.Open); the Server closes it when drained, or call Close.
func OpenCSVSource(path, pair string, firstID int64) (*CSVSource, error) {
	rc, err := archive.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fakekraken: open %s: %w", path, err)
	}
	s, err := NewCSVSource(rc, pair, firstID)
	if err != nil {
		rc.Close()
		return nil, err
	}
	s.closer = rc
	return s, nil
}

// Close closes the file OpenCSVSource opened.
func (s *CSVSource) Close() error {
	if s.closer == nil {
		return nil
	}
	c := s.closer
	s.closer = nil
	return c.Close()
}

// Next implements TradeSource.
func (s *CSVSource) Next() (market.Trade, error) {
	for len(s.buf) == 0 {
		if s.eof {
			return market.Trade{}, io.EOF
		}
		if err := s.readChunk(); err != nil {
			return market.Trade{}, err
		}
	}
	t := s.buf[0]
	s.buf = s.buf[1:]
	return t, nil
}

// readChunk parses up to csvChunkLines more rows.
func (s *CSVSource) readChunk() error {
	var chunk bytes.Buffer
	first := s.line + 1
	for rows := 0; rows < s.chunk; {
		b, err := s.r.ReadBytes('\n')
		if len(b) > 0 {
			s.line++
			rows += s.take(&chunk, b)
		}
		if errors.Is(err, io.EOF) {
			s.eof = true
			break
		}
		if err != nil {
			return fmt.Errorf("fakekraken: read trades %s: %w", s.pair, err)
		}
	}
	if chunk.Len() == 0 {
		return nil
	}
	ts, err := archive.ReadTradesCSV(io.MultiReader(bytes.NewReader(s.header), &chunk), s.pair, s.nextID)
	if err != nil {
		return fmt.Errorf("fakekraken: trades %s, chunk from line %d: %w", s.pair, first, err)
	}
	s.nextID += int64(len(ts))
	s.buf = append(s.buf[:0], ts...)
	return nil
}

// take adds a line to chunk, or keeps it as the header (the first line when
// its first field is not a number, archive's rule); it returns the rows added.
func (s *CSVSource) take(chunk *bytes.Buffer, line []byte) int {
	if len(bytes.TrimSpace(line)) == 0 {
		return 0
	}
	if s.line == 1 && isHeaderLine(line) {
		s.header = append(bytes.TrimRight(line, "\r\n"), '\n')
		return 0
	}
	chunk.Write(line)
	if line[len(line)-1] != '\n' {
		chunk.WriteByte('\n')
	}
	return 1
}

func isHeaderLine(line []byte) bool {
	first, _, _ := bytes.Cut(bytes.TrimPrefix(line, []byte("\ufeff")), []byte(","))
	_, err := strconv.ParseFloat(string(bytes.TrimSpace(first)), 64)
	return err != nil
}
