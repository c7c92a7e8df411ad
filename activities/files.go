package activities

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/market"
)

// fileCache keeps the last few parsed archive files of a worker: every chunk
// of a file is a separate activity, and parsing a 90-day gzip CSV per chunk
// would dominate an import. Keyed by the file's size and mtime too, so a
// changed file is read again.
type fileCache struct {
	mu      sync.Mutex
	entries []*fileEntry // most recently used last
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
	ready   chan struct{} // closed once loaded
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
	key := fileKey{path, f, pair, firstID, fi.Size(), fi.ModTime()}
	e, load := c.entry(key)
	if load {
		e.load()
		close(e.ready)
		c.settle(e)
	}
	<-e.ready
	return e, e.err
}

func (c *fileCache) entry(key fileKey) (*fileEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.key == key {
			c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
			return e, false
		}
	}
	e := &fileEntry{key: key, ready: make(chan struct{})}
	c.entries = append(c.entries, e)
	if len(c.entries) > cacheFiles {
		c.entries = c.entries[1:]
	}
	return e, true
}

// settle forgets failed and oversized entries once their readers have them.
func (c *fileCache) settle(e *fileEntry) {
	if e.err == nil && len(e.candles)+len(e.trades) <= cacheMaxRows {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.entries {
		if x == e {
			c.entries = append(c.entries[:i:i], c.entries[i+1:]...)
			return
		}
	}
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
