package activities

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/memo"
	"github.com/tickcast/tickcast/market"
)

// fileCache keeps the last few parsed archive files of a worker: every chunk
// of a file is a separate activity, and parsing a 90-day gzip CSV per chunk
// would dominate an import. Keyed by the file's size and mtime too, so a
// changed file is read again; failed and oversized files are not kept.
type fileCache struct {
	init sync.Once // sets the memo's bounds: the zero value is ready
	memo memo.Cache[fileKey, *fileEntry]
}

const (
	cacheFiles   = 4
	cacheMaxRows = 2_000_000 // bigger files are parsed per chunk, not kept
)

type fileKey struct {
	path    string
	format  archive.Format
	pair    string
	firstID int64
	size    int64
	mtime   time.Time
}

type fileEntry struct {
	key     fileKey
	candles []market.Candle
	trades  []market.Trade
	src     archive.Source
	err     error
}

// read returns the parsed file, parsing it once however many activities ask
// at the same time.
func (c *fileCache) read(path string, f archive.Format, pair string, firstID int64) (*fileEntry, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, invalidf("archive file %s: %v", path, err)
	}
	c.init.Do(func() {
		c.memo.Size = cacheFiles
		c.memo.Keep = func(e *fileEntry, err error) bool {
			return err == nil && len(e.candles)+len(e.trades) <= cacheMaxRows
		}
	})
	key := fileKey{path, f, pair, firstID, fi.Size(), fi.ModTime()}
	return c.memo.Get(key, func() (*fileEntry, error) {
		e := &fileEntry{key: key}
		e.load()
		return e, e.err
	})
}

func (e *fileEntry) load() {
	k := e.key
	if k.format.HasCandles() {
		e.candles, e.src, e.err = archive.ReadCandles(k.path, k.format, k.pair)
	} else if e.trades, e.err = archive.ReadTrades(k.path, k.format, k.pair, k.firstID); e.err == nil {
		e.src, e.err = archive.FileSource(k.path, k.format, len(e.trades))
	}
	if e.err != nil {
		e.err = invalidf("read %s (%s): %v", k.path, k.format, e.err)
	}
	// Chunks are cut by binary search: keep rows in time order.
	byStart := func(a, b market.Candle) int { return a.Start.Compare(b.Start) }
	if !slices.IsSortedFunc(e.candles, byStart) {
		slices.SortStableFunc(e.candles, byStart)
	}
	byTS := func(a, b market.Trade) int { return a.TS.Compare(b.TS) }
	if !slices.IsSortedFunc(e.trades, byTS) {
		slices.SortStableFunc(e.trades, byTS)
	}
}

// span is the first and last time of the rows, the rows' count and, for
// candles, the bar length.
func (e *fileEntry) span() (first, last time.Time, rows int, interval time.Duration, err error) {
	switch {
	case len(e.candles) > 0:
		c0, cn := e.candles[0], e.candles[len(e.candles)-1]
		return c0.Start, cn.Start, len(e.candles), c0.End.Sub(c0.Start), nil
	case len(e.trades) > 0:
		return e.trades[0].TS, e.trades[len(e.trades)-1].TS, len(e.trades), 0, nil
	}
	return first, last, 0, 0, invalidf("archive file %s holds no rows", e.key.path)
}

func describe(path string, e *fileEntry) (ArchiveFile, error) {
	first, last, rows, iv, err := e.span()
	if err != nil {
		return ArchiveFile{}, err
	}
	af := ArchiveFile{Path: path, Format: string(e.key.format), Exchange: e.key.format.Exchange(),
		Pair: e.key.pair, Rows: rows, First: first.UTC(), Last: last.UTC(), Kind: KindTrades}
	if e.key.format.HasCandles() {
		af.Kind, af.Interval = KindCandles, iv.String()
	}
	if iv < 0 {
		return af, fmt.Errorf("archive file %s: bad bar length %v", path, iv)
	}
	return af, nil
}
