package online

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
)

// row is a hand-written feature row: values i/10, with NaN and ±Inf.
func row(pair string, ts string, close float64) market.FeatureRow {
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		panic(err)
	}
	r := market.FeatureRow{Pair: pair, TS: t.UTC(), SchemaVersion: market.FeatureSchemaVersion, Warm: true, Close: close}
	for i := range r.Values {
		r.Values[i] = float64(i) / 10
	}
	r.Values[market.FRet60] = math.NaN()
	r.Values[market.FVolumeZ20] = math.Inf(1)
	r.Values[market.FImbalance] = math.Inf(-1)
	return r
}

func same(t *testing.T, got, want any) {
	t.Helper()
	if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
		t.Fatalf("\n got %s\nwant %s", g, w)
	}
}

func TestPutKeepsNewest(t *testing.T) {
	old, mid, corrected := row("BTC/USD", "2024-03-10T00:00:00Z", 1), row("BTC/USD", "2024-03-10T00:01:00Z", 2), row("BTC/USD", "2024-03-10T00:01:00Z", 3)
	tests := []struct {
		name string
		puts []market.FeatureRow
		want market.FeatureRow
	}{
		{"newer replaces", []market.FeatureRow{old, mid}, mid},
		{"older is ignored", []market.FeatureRow{mid, old}, mid},
		{"equal ts: the later put wins", []market.FeatureRow{old, mid, corrected}, corrected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Latest
			for _, r := range tt.puts {
				l.Put(r)
			}
			got, ok := l.Get("BTC/USD")
			if !ok {
				t.Fatal("no row")
			}
			same(t, got, tt.want)
		})
	}
}

func TestGetAnySpelling(t *testing.T) {
	var l Latest
	l.Put(row("XBTUSD", "2024-03-10T00:00:00Z", 1))
	l.Put(row("not a pair", "2024-03-10T00:00:00Z", 2))
	for _, p := range []string{"BTC/USD", "btc-usd", "XXBTZUSD", "not a pair"} {
		if _, ok := l.Get(p); !ok {
			t.Errorf("Get(%q) found nothing", p)
		}
	}
	if _, ok := l.Get("ETH/USD"); ok {
		t.Error("Get(ETH/USD) found a row")
	}
	if r, _ := l.Get("BTC/USD"); r.Pair != "BTC/USD" {
		t.Errorf("stored pair %q, want the v2 name", r.Pair)
	}
}

func TestAllSortedByPair(t *testing.T) {
	var l Latest
	if got := l.All(); len(got) != 0 {
		t.Fatalf("empty store: %v", got)
	}
	l.Put(row("SOL/USD", "2024-03-10T00:00:00Z", 1))
	l.Put(row("BTC/USD", "2024-03-10T00:00:00Z", 2))
	l.Put(row("ETH/USD", "2024-03-10T00:00:00Z", 3))
	var pairs []string
	for _, r := range l.All() {
		pairs = append(pairs, r.Pair)
	}
	same(t, pairs, []string{"BTC/USD", "ETH/USD", "SOL/USD"})
}

func TestSaveLoad(t *testing.T) {
	var l Latest
	l.Put(row("BTC/USD", "2024-03-10T00:01:00Z", 68000.5))
	cold := row("ETH/USD", "2024-03-10T00:01:00Z", 3500)
	cold.Warm = false
	for i := range cold.Values {
		cold.Values[i] = math.NaN()
	}
	l.Put(cold)
	path := filepath.Join(t.TempDir(), "latest.json")
	if err := l.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadLatest(path)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got.All(), l.All())
	if left, _ := filepath.Glob(path + ".tmp-*"); len(left) > 0 {
		t.Fatalf("temporary files left: %q", left)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		path string
		is   error
	}{
		{"missing file", filepath.Join(dir, "none.json"), fs.ErrNotExist},
		{"other version", write("v2.json", `{"version":2,"rows":[]}`), market.ErrInvalid},
		{"bad value", write("bad.json", `{"version":1,"rows":[{"pair":"BTC/USD","ts":"2024-03-10T00:00:00Z","features":{"ret_1":"x"}}]}`), market.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadLatest(tt.path); !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
		})
	}
	if _, err := LoadLatest(write("junk.json", "{")); err == nil {
		t.Fatal("truncated JSON loaded")
	}
}

func TestLoadToleratesSchemaDrift(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latest.json")
	body := `{"version":1,"rows":[{"pair":"BTC/USD","ts":"2024-03-10T00:00:00Z","schema_version":0,"warm":true,"close":1,"features":{"ret_1":0.5,"gone_feature":7}}]}`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := LoadLatest(path)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := l.Get("BTC/USD")
	if r.Values[market.FRet1] != 0.5 || !math.IsNaN(r.Values[market.FRet5]) || r.SchemaVersion != 0 {
		t.Fatalf("row %+v", r)
	}
}

// TestConcurrentUse puts, gets, lists and saves from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	var l Latest
	path := filepath.Join(t.TempDir(), "latest.json")
	base := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				r := row([]string{"BTC/USD", "ETH/USD"}[w%2], "2024-03-10T00:00:00Z", float64(i))
				r.TS = base.Add(time.Duration(i) * time.Minute)
				l.Put(r)
				l.Get(r.Pair)
				if i%50 == 0 {
					l.All()
					if err := l.Save(path); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	for _, r := range l.All() {
		if want := base.Add(199 * time.Minute); !r.TS.Equal(want) {
			t.Errorf("%s at %s, want %s", r.Pair, r.TS, want)
		}
	}
}
