package archive

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Format is the layout of an archive file.
type Format string

// The formats ReadCandles and ReadTrades understand.
const (
	// BinanceKlines: Binance klines, with a header naming open_time_ms (or
	// open_time), open, high, low, close, volume and optionally trades and
	// taker_buy_volume, as in shared/data/binance; or headerless with
	// Binance's 12 columns, as data.binance.vision publishes them.
	BinanceKlines Format = "binance-klines"
	// KrakenOHLCVT: Kraken's downloadable candles, headerless
	// unix_seconds,open,high,low,close,volume,trades; bars without trades are
	// absent. The file name <ALTNAME>_<minutes>... gives the interval.
	KrakenOHLCVT Format = "kraken-ohlcvt"
	// KrakenTrades: trades with a header (time_ms,timestamp_utc,price,volume,side).
	KrakenTrades Format = "kraken-trades"
	// KrakenTimeAndSales: Kraken's headerless trade archive
	// unix_seconds,price,volume (no side, no trade id).
	KrakenTimeAndSales Format = "kraken-time-and-sales"
)

// Formats returns every format.
func Formats() []Format {
	return []Format{BinanceKlines, KrakenOHLCVT, KrakenTrades, KrakenTimeAndSales}
}

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	if f := Format(s); slices.Contains(Formats(), f) {
		return f, nil
	}
	return "", fmt.Errorf("archive: format %q: want one of %v: %w", s, Formats(), market.ErrInvalid)
}

// Exchange is the exchange whose data the format holds: "binance" or "kraken".
func (f Format) Exchange() string {
	if f == BinanceKlines {
		return "binance"
	}
	return "kraken"
}

// HasCandles reports whether the format holds candles rather than trades.
func (f Format) HasCandles() bool { return f == BinanceKlines || f == KrakenOHLCVT }

// binanceColumns is the number of columns of a headerless Binance kline file.
const binanceColumns = 12

// Detect tells the format of the file at path from its first line (a .gz
// file is read through gzip).
func Detect(path string) (Format, error) {
	rc, err := Open(path)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	line, err := bufio.NewReader(io.LimitReader(rc, 1<<16)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("archive: detect %s: %w", path, err)
	}
	f, err := detectLine(line)
	if err != nil {
		return "", fmt.Errorf("archive: detect %s: %w", path, err)
	}
	return f, nil
}

func detectLine(line string) (Format, error) {
	line = strings.TrimSpace(strings.TrimPrefix(line, "\ufeff"))
	if line == "" {
		return "", errors.New("empty file")
	}
	rec := strings.Split(line, ",")
	if isHeader(rec) {
		return detectHeader(rec)
	}
	switch len(rec) {
	case 7:
		return KrakenOHLCVT, nil
	case 3, 4:
		return KrakenTimeAndSales, nil
	case binanceColumns:
		return BinanceKlines, nil
	}
	return "", fmt.Errorf("line 1: %d columns fit no known format", len(rec)) // never quote the file
}

func detectHeader(rec []string) (Format, error) {
	names := make([]string, len(rec))
	for i, n := range rec {
		names[i] = strings.ToLower(strings.TrimSpace(n))
	}
	has := func(n string) bool { return slices.Contains(names, n) }
	switch {
	case (has("open_time_ms") || has("open_time")) && has("open") && has("close"):
		return BinanceKlines, nil
	case has("price") && !has("open"):
		return KrakenTrades, nil
	}
	return "", errors.New("line 1: a header without the columns of a known format (open_time_ms, open, close; or time_ms, price, volume)")
}

// Open opens the file at path for reading, through gzip when it is
// gzip-compressed (told by its first bytes, whatever its name).
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	rc, err := decompress(f, f)
	if err != nil {
		return nil, fmt.Errorf("archive: %s: %w", path, err)
	}
	return rc, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// decompress returns r, gunzipped when it starts with gzip's magic bytes;
// closing the result closes c, also when decompress fails.
func decompress(r io.Reader, c io.Closer) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return readCloser{br, c.Close}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return readCloser{zr, func() error { return errors.Join(zr.Close(), c.Close()) }}, nil
}

// DefaultPair is the pair a file name starts with, before the first "_" or
// ".": BTCUSDT_1m_... → BTC/USDT, XBTUSD_1.2023-... → BTC/USD.
func DefaultPair(path string) (string, error) {
	name := filepath.Base(path)
	if i := strings.IndexAny(name, "_."); i >= 0 {
		name = name[:i]
	}
	p, err := market.NormalizePair(name)
	if err != nil {
		return "", fmt.Errorf("archive: no pair in file name %s: %w", filepath.Base(path), err)
	}
	return p, nil
}

// pairFor is pair normalized, or DefaultPair(path) when pair is "".
func pairFor(path, pair string) (string, error) {
	if pair == "" {
		return DefaultPair(path)
	}
	p, err := market.NormalizePair(pair)
	if err != nil {
		return "", fmt.Errorf("archive: %s: %w", path, err)
	}
	return p, nil
}

// NameInterval is the bar interval a file name gives in its second
// "_"-separated part: Kraken's minutes (XBTUSD_15.2023-...) or Binance's
// 1m, 4h, 1d... (BTCUSDT_1m_...). ok is false when the name gives none.
func NameInterval(path string) (iv time.Duration, ok bool) {
	parts := strings.Split(filepath.Base(path), "_")
	if len(parts) < 2 {
		return 0, false
	}
	s, _, _ := strings.Cut(parts[1], ".")
	if s == "" {
		return 0, false
	}
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}
	unit, digits := time.Minute, s
	if u, known := units[s[len(s)-1]]; known {
		unit, digits = u, s[:len(s)-1]
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 || n > 1<<20 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}
