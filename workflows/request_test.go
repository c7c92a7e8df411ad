package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/activities"
)

func TestNormalizeDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   BackfillRequest
		want BackfillRequest
	}{
		{"kraken", BackfillRequest{Pairs: []string{"xbtusd", "ETH-USD,BTC/USD"}},
			BackfillRequest{Pairs: []string{"BTC/USD", "ETH/USD"}, Source: SourceKraken, ChunkDays: 1, Concurrency: 4}},
		{"archive by files", BackfillRequest{Files: []string{"/b/x.csv", "/a/../a/y.csv", "/b/x.csv"}, Interval: "60s", DataDir: "/data/"},
			BackfillRequest{Files: []string{"/a/y.csv", "/b/x.csv"}, Source: SourceArchive, Interval: "1m0s", DataDir: "/data", ChunkDays: 7, Concurrency: 4}},
		{"explicit", BackfillRequest{Pairs: []string{"ETH/USDT"}, Source: " Archive ", Files: []string{"/f.csv"}, ChunkDays: 3, Concurrency: 9},
			BackfillRequest{Pairs: []string{"ETH/USDT"}, Source: SourceArchive, Files: []string{"/f.csv"}, ChunkDays: 3, Concurrency: 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.Normalize()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Pairs, ",") != strings.Join(tc.want.Pairs, ",") || strings.Join(got.Files, ",") != strings.Join(tc.want.Files, ",") ||
				got.Source != tc.want.Source || got.Interval != tc.want.Interval || got.DataDir != tc.want.DataDir ||
				got.ChunkDays != tc.want.ChunkDays || got.Concurrency != tc.want.Concurrency {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestBackfillIDIsStableAndDiscriminates(t *testing.T) {
	base := BackfillRequest{Pairs: []string{"ETH/USD", "BTC/USD"}, Source: SourceKraken, DataDir: "/data",
		From: date("2025-05-01T00:00:00Z"), To: date("2025-06-01T00:00:00Z")}
	id := BackfillID(base)
	// A golden value: changing the rule would let a running backfill be
	// started a second time under a new ID.
	if id != "backfill-kraken-BTC-USD_ETH-USD-84aef720315d9086" {
		t.Errorf("id = %s", id)
	}
	same := base
	same.Pairs = []string{"XBTUSD,eth-usd"}
	same.From = date("2025-05-01T02:00:00+02:00")
	same.ChunkDays, same.Concurrency, same.Source = 3, 16, "KRAKEN"
	if got := BackfillID(same); got != id {
		t.Errorf("same backfill, other spelling: %s != %s", got, id)
	}
	for name, change := range map[string]func(*BackfillRequest){
		"pairs":    func(r *BackfillRequest) { r.Pairs = []string{"BTC/USD"} },
		"from":     func(r *BackfillRequest) { r.From = r.From.Add(time.Hour) },
		"to":       func(r *BackfillRequest) { r.To = time.Time{} },
		"data dir": func(r *BackfillRequest) { r.DataDir = "/other" },
		"interval": func(r *BackfillRequest) { r.Interval = "5m" },
		"source":   func(r *BackfillRequest) { r.Source, r.Files = SourceArchive, []string{"/f.csv"} },
	} {
		r := base
		change(&r)
		if BackfillID(r) == id {
			t.Errorf("%s changed, ID did not", name)
		}
	}
	many := base
	many.Pairs = []string{"BTC/USD", "ETH/USD", "SOL/USD", "XRP/USD"}
	if got := BackfillID(many); !strings.HasPrefix(got, "backfill-kraken-4pairs-") {
		t.Errorf("id with many pairs = %s", got)
	}
}

func TestArchivePlan(t *testing.T) {
	eth := activities.ArchiveFile{Path: "/d/ETHUSDT_1m.csv.gz", Pair: "ETH/USDT", Kind: activities.KindCandles, Interval: "1m0s",
		Rows: 1440, First: date("2025-05-20T00:00:00Z"), Last: date("2025-05-20T23:59:00Z")}
	noName := activities.ArchiveFile{Path: "/d/trades.csv", Kind: activities.KindTrades, Rows: 100,
		First: date("2019-07-01T00:00:03Z"), Last: date("2019-07-01T00:59:51Z")}
	noName2 := noName
	noName2.Path, noName2.First, noName2.Last = "/d/trades0.csv", date("2019-06-30T23:00:00Z"), date("2019-06-30T23:59:00Z")
	hourly := eth
	hourly.Path, hourly.Interval = "/d/ETHUSDT_1h.csv", "1h0m0s"

	plan, err := archivePlan(BackfillRequest{}, []activities.ArchiveFile{eth})
	if err != nil || len(plan) != 1 || plan[0].Pair != "ETH/USDT" || plan[0].Interval != "1m0s" ||
		!plan[0].From.Equal(eth.First) || !plan[0].To.Equal(date("2025-05-21T00:00:00Z")) {
		t.Errorf("one named file: %+v, %v", plan, err)
	}
	// Unnamed trade files go to the one pair, numbered consecutively in time order.
	plan, err = archivePlan(BackfillRequest{Pairs: []string{"BTC/USD"}}, []activities.ArchiveFile{noName, noName2})
	if err != nil || len(plan) != 1 || plan[0].Files[0].Path != "/d/trades0.csv" || plan[0].Files[0].FirstID != 1 || plan[0].Files[1].FirstID != 101 ||
		plan[0].Interval != "1m0s" || !plan[0].To.Equal(date("2019-07-01T01:00:00Z")) {
		t.Errorf("unnamed trade files: %+v, %v", plan, err)
	}
	for name, tc := range map[string]struct {
		req   BackfillRequest
		files []activities.ArchiveFile
	}{
		"unnamed, no pair":    {BackfillRequest{}, []activities.ArchiveFile{noName}},
		"named another pair":  {BackfillRequest{Pairs: []string{"ETH/USD"}}, []activities.ArchiveFile{eth}},
		"pair without a file": {BackfillRequest{Pairs: []string{"ETH/USDT", "BTC/USDT"}}, []activities.ArchiveFile{eth}},
		"mixed bar lengths":   {BackfillRequest{}, []activities.ArchiveFile{eth, hourly}},
		"interval vs file":    {BackfillRequest{Interval: "5m0s"}, []activities.ArchiveFile{eth}},
		"range outside files": {BackfillRequest{From: date("2026-01-01T00:00:00Z")}, []activities.ArchiveFile{eth}},
	} {
		if _, err := archivePlan(tc.req, tc.files); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
