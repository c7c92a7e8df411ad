package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// realETHStore stores the real 90 days of Binance ETH/USDT minute candles
// (130,708, 2025-05-20 to 2025-08-17) under a new data directory.
func realETHStore(t *testing.T) (dataDir string, candles int) {
	t.Helper()
	cs, _, err := archive.ReadCandles(realdata.Path(t, realdata.BinanceETH90d), archive.BinanceKlines, "ETH/USDT")
	mustOK(t, err)
	dataDir = t.TempDir()
	st, err := parquet.Open(datadir.Parquet(dataDir), parquet.Options{FlushRows: 1 << 20})
	mustOK(t, err)
	mustOK(t, st.AddCandles(cs))
	mustOK(t, st.Close(t.Context()))
	return dataDir, len(cs)
}

func runCapture(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = run(ctx, args, func(string) string { return "" }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestExportAroundACorruptDay is the acceptance test of a corrupt day: one
// day of the real store truncated or with flipped bytes; export names the
// file without --skip-corrupt and exports the other 89 days with it;
// store check finds it.
func TestExportAroundACorruptDay(t *testing.T) {
	damages := []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)/3] }},
		{"bytes flipped", func(b []byte) []byte {
			for i := len(b) / 5; i < len(b); i += 97 {
				b[i] ^= 0x5a
			}
			return b
		}},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			dataDir, n := realETHStore(t)
			day := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
			bad := filepath.Join(parquet.PartitionDir(datadir.Parquet(dataDir), parquet.DatasetCandles, "ETH/USDT", day), parquet.FileName)
			dayRows, err := parquet.ReadCandles(datadir.Parquet(dataDir), "ETH/USDT", day, day.Add(24*time.Hour))
			mustOK(t, err)
			b, err := os.ReadFile(bad)
			mustOK(t, err)
			mustOK(t, os.WriteFile(bad, d.damage(b), 0o644))

			_, _, err = runCapture(t, "export", "candles", "--data-dir", dataDir, "--pair", "ETH-USDT")
			if err == nil || !strings.Contains(err.Error(), bad) {
				t.Fatalf("export without --skip-corrupt: %v, want an error naming %s", err, bad)
			}
			out, logs, err := runCapture(t, "export", "candles", "--data-dir", dataDir, "--pair", "ETH-USDT", "--skip-corrupt")
			mustOK(t, err)
			if lines := strings.Count(out, "\n"); lines != 1+n-len(dayRows) {
				t.Fatalf("exported %d lines, want header + %d candles", lines, n-len(dayRows))
			}
			if strings.Contains(out, "ETH/USDT,2025-07-01T") || !strings.Contains(out, "ETH/USDT,2025-06-30T23:59:00Z") ||
				!strings.Contains(out, "ETH/USDT,2025-07-02T00:00:00Z") {
				t.Fatal("export holds the corrupt day or misses its neighbours")
			}
			if !strings.Contains(logs, bad) || !strings.Contains(logs, "count=1") {
				t.Fatalf("logs do not report the skipped file:\n%s", logs)
			}
			out, _, err = runCapture(t, "store", "check", "--data-dir", dataDir)
			if err == nil || !strings.Contains(out, "corrupt "+bad) || !strings.Contains(out, "1 corrupt") {
				t.Fatalf("store check: %v\n%s", err, out)
			}
		})
	}
}

func TestStoreCheckHealthy(t *testing.T) {
	dataDir, _ := realETHStore(t)
	out, _, err := runCapture(t, "store", "check", "--data-dir", dataDir)
	if err != nil || !strings.Contains(out, "checked 91 Parquet files") || !strings.Contains(out, ": 0 corrupt") {
		t.Fatalf("store check: %v\n%s", err, out)
	}
	if _, _, err := runCapture(t, "store", "check", "--data-dir", filepath.Join(t.TempDir(), "none")); err != nil {
		t.Fatalf("store check of a missing store: %v", err)
	}
}

// TestStoreCompact runs the command over hand-written files; the rules
// are tested in internal/retention.
func TestStoreCompact(t *testing.T) {
	dataDir := t.TempDir()
	old := time.Now().Add(-40 * 24 * time.Hour)
	for _, f := range []string{"deadletter/2025-01-01.jsonl", "late/BTC-USD.jsonl", "gaps/BTC-USD.jsonl"} {
		p := filepath.Join(dataDir, f)
		mustOK(t, os.MkdirAll(filepath.Dir(p), 0o755))
		mustOK(t, os.WriteFile(p, []byte("{}\n"), 0o644))
	}
	mustOK(t, os.Chtimes(filepath.Join(dataDir, "deadletter/2025-01-01.jsonl"), old, old))
	out, _, err := runCapture(t, "store", "compact", "--data-dir", dataDir, "--keep-days", "30")
	mustOK(t, err)
	if !strings.Contains(out, "deleted deadletter/2025-01-01.jsonl") || !strings.Contains(out, "rotated 0, deleted 1 (3 bytes), kept 2 files") {
		t.Fatalf("store compact:\n%s", out)
	}
	if _, _, err := runCapture(t, "store", "compact", "--keep-days", "0"); err == nil {
		t.Fatal("--keep-days 0 accepted")
	}
	if _, _, err := runCapture(t, "store", "vacuum"); err == nil {
		t.Fatal("unknown action accepted")
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestStoreRebuildFeatures computes the feature rows of a store holding
// only candles (what an older schema's rows are replaced by): one row per
// real candle, of the current schema.
func TestStoreRebuildFeatures(t *testing.T) {
	if testing.Short() {
		t.Skip("90 days of features: not in -short")
	}
	dataDir, n := realETHStore(t)
	out, _, err := runCapture(t, "store", "rebuild-features", "--data-dir", dataDir)
	mustOK(t, err)
	if want := fmt.Sprintf("ETH/USDT: %d feature rows of schema %d", n, market.FeatureSchemaVersion); !strings.Contains(out, want) {
		t.Fatalf("output %q, want %q", out, want)
	}
	rows, err := parquet.ReadFeatures(datadir.Parquet(dataDir), "ETH/USDT", time.Time{}, time.Time{})
	mustOK(t, err)
	if len(rows) != n || rows[len(rows)-1].SchemaVersion != market.FeatureSchemaVersion || !rows[len(rows)-1].Warm {
		t.Fatalf("%d rows (last %+v), want %d warm rows of schema %d", len(rows), rows[len(rows)-1], n, market.FeatureSchemaVersion)
	}
	if _, _, err := runCapture(t, "store", "rebuild-features", "--data-dir", t.TempDir()); err == nil {
		t.Error("an empty store was rebuilt without an error")
	}
}

// TestStoreRebuildFeaturesCrossesPairs rebuilds a store of two real pairs
// (3 days of Binance BTC/USDT and ETH/USDT candles): every row gets the
// other pair's features as its xp_*, as a backfill of both writes them.
func TestStoreRebuildFeaturesCrossesPairs(t *testing.T) {
	dataDir := t.TempDir()
	st, err := parquet.Open(datadir.Parquet(dataDir), parquet.Options{})
	mustOK(t, err)
	for rel, pair := range map[string]string{realdata.BinanceBTC90d: "BTC/USDT", realdata.BinanceETH90d: "ETH/USDT"} {
		mustOK(t, st.AddCandles(realfeatures.BinanceKlines(t, rel, pair, 3*1440).Candles))
	}
	mustOK(t, st.Close(t.Context()))

	out, _, err := runCapture(t, "store", "rebuild-features", "--data-dir", dataDir)
	mustOK(t, err)
	if !strings.Contains(out, "cross-pair features over 2 pairs: ") {
		t.Fatalf("output %q: no cross-pair line", out)
	}
	root := datadir.Parquet(dataDir)
	btc, err := parquet.ReadFeatures(root, "BTC/USDT", time.Time{}, time.Time{})
	mustOK(t, err)
	eth, err := parquet.ReadFeatures(root, "ETH/USDT", time.Time{}, time.Time{})
	mustOK(t, err)
	ethAt := map[time.Time]market.FeatureRow{}
	for _, r := range eth {
		ethAt[r.TS] = r
	}
	crossed := 0
	for _, b := range btc {
		e, ok := ethAt[b.TS]
		if !ok {
			continue
		}
		crossed++
		if b.Revision != 1 || e.Revision != 1 || !sameFloat(b.Values[market.FXRet1], e.Values[market.FRet1]) ||
			!sameFloat(e.Values[market.FXRVol60], b.Values[market.FRVol60]) {
			t.Fatalf("rows at %s: BTC/USDT %+v\nETH/USDT %+v\nwant each other's ret_1 and rvol_60 as xp_*, revision 1", b.TS, b, e)
		}
	}
	if crossed < 3*1440-60 {
		t.Errorf("%d rows of BTC/USDT with an ETH/USDT row at their ts, want about 3 days", crossed)
	}
}

func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
