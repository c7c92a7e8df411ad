package archive_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/archive"
)

// secret stands for what a file named by mistake holds (a key, a password
// line): no error may carry it, or any part of it, anywhere.
const secret = "AKIAsecretHunter2"

// hostileFiles put the secret where each error path of the readers looks:
// not an archive at all, headers, every kind of column, quoting, gzip.
var hostileFiles = map[string]string{
	"passwd":              "root:x:0:0:" + secret + ":/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n",
	"key":                 "-----BEGIN OPENSSH PRIVATE KEY-----\n" + secret + "\n",
	"one field":           secret + "\n",
	"header":              "when," + secret + ",what\n1,2,3\n",
	"trades header":       "time_ms,timestamp_utc," + secret + ",volume\n",
	"trades price":        "time_ms,timestamp_utc,price,volume,side\n1561939203172,x,10749.4,0.004,sell\n1561939203173,x," + secret + ",0.004,sell\n",
	"trades volume":       "time_ms,timestamp_utc,price,volume,side\n1561939203172,x,10749.4," + secret + ",sell\n",
	"trades side":         "time_ms,timestamp_utc,price,volume,side\n1561939203172,x,10749.4,0.004," + secret + "\n",
	"trades time_ms":      "time_ms,timestamp_utc,price,volume,side\n" + secret + ",x,10749.4,0.004,sell\n",
	"trades timestamp":    "timestamp,price,volume\n" + secret + ",1,1\n",
	"trades 1e999":        "time_ms,price,volume\n1561939203172,1e999,1\n",
	"trades header lacks": "time_ms,price," + secret + "\n1561939203172,1,1\n",
	"klines header lacks": "open_time_ms,open,close," + secret + "\n1747699200000,1,1,1\n",
	"time and sales":      "1561939203," + secret + ",1\n",
	"time and sales 2":    "1561939203,1,1\n" + secret + ",1,1\n",
	"ohlcvt trades":       "1677628800,1,1,1,1,1," + secret + "\n",
	"ohlcvt time":         "1677628800,1,1,1,1,1,1\n" + secret + ",1,1,1,1,1,1\n",
	"ohlcvt close":        "1677628800,1,1,1," + secret + ",1,1\n",
	"ohlcvt short row":    "1677628800,1,1,1,1,1,1\n1677628860," + secret + "\n",
	"ohlcvt quote":        "1677628800,1,1,1,1,1,1\n1677628860,\"" + secret + "\n",
	"ohlcvt bare quote":   "1677628800,1,1,1,1,1,1\n1677628860,1" + secret + "\"x,1,1,1,1,1\n",
	"klines header":       "open_time_ms,open,high,low," + secret + "\n",
	"klines open":         "open_time_ms,open,high,low,close,volume\n1747699200000," + secret + ",1,1,1,1\n",
	"klines time":         "open_time,open,high,low,close,volume\n" + secret + ",1,1,1,1,1\n",
	"klines headerless":   "1747699200000,1,1,1,1,1,0,0,1," + secret + ",0,0\n",
	"klines headerless2":  "1747699200000,1,1,1,1,1,0,0," + secret + ",1,0,0\n",
}

func TestHostileFilesErrorsHoldNoContent(t *testing.T) {
	dir := t.TempDir()
	for name, body := range hostileFiles {
		logged := false
		for _, gz := range []bool{false, true} {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+map[bool]string{false: ".csv", true: ".csv.gz"}[gz])
			writeHostile(t, path, body, gz)
			errs := readAllWays(path)
			if len(errs) == 0 {
				t.Errorf("%s: read without an error", name)
			}
			for _, err := range errs {
				msg := err.Error()
				if !logged {
					t.Logf("%-18s %s", name, msg)
					logged = true
				}
				if strings.Contains(msg, secret) || strings.Contains(msg, "Hunter2") || strings.Contains(msg, "root:x") {
					t.Errorf("%s: the error quotes the file: %s", name, msg)
				}
				if !strings.Contains(msg, path) {
					t.Errorf("%s: the error does not name the file: %s", name, msg)
				}
			}
		}
	}
}

// A bad row's error says where: line and column.
func TestParseErrorPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hostile.csv")
	writeHostile(t, path, hostileFiles["trades price"], false)
	_, err := archive.ReadTrades(path, archive.KrakenTrades, "BTC/USD", 1)
	var pe *archive.ParseError
	if !errors.As(err, &pe) || pe.Line != 3 || pe.Column != 3 || pe.Field != "price" {
		t.Fatalf("err = %v (%#v), want line 3, column 3 (price)", err, pe)
	}
}

// readAllWays reads path with every reader the backfill and replays use and
// returns their errors.
func readAllWays(path string) []error {
	var errs []error
	f, err := archive.Detect(path)
	if err != nil {
		return []error{err}
	}
	if f.HasCandles() {
		_, _, err = archive.ReadCandles(path, f, "BTC/USD")
	} else {
		_, err = archive.ReadTrades(path, f, "BTC/USD", 1)
	}
	if err != nil {
		errs = append(errs, err)
	}
	src, err := archive.OpenTrades(path, "BTC/USD", 1)
	if err != nil {
		return append(errs, err)
	}
	defer src.Close()
	for {
		if _, err := src.Next(); err != nil {
			if !errors.Is(err, io.EOF) {
				errs = append(errs, err)
			}
			return errs
		}
	}
}

func writeHostile(t *testing.T, path, body string, gz bool) {
	t.Helper()
	b := []byte(body)
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		b = buf.Bytes()
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
