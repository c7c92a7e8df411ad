package activities_test

import (
	"errors"
	"github.com/tickcast/tickcast/internal/datadir"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/history"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

const binanceETH = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func newEnv(a *activities.Activities) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return env
}

func run[T any](t *testing.T, env *testsuite.TestActivityEnvironment, fn any, in any) T {
	t.Helper()
	v, err := env.ExecuteActivity(fn, in)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := v.Get(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The real Binance ETH/USDT file: inspected, two days imported and built;
// the stored candles are the file's, and its source is recorded.
func TestArchiveInspectImportBuild(t *testing.T) {
	path := realdata.Path(t, binanceETH)
	dir := t.TempDir()
	a := &activities.Activities{DataDir: dir, ArchiveRoots: []string{filepath.Dir(path)}}
	env := newEnv(a)
	files := run[[]activities.ArchiveFile](t, env, a.InspectArchive, activities.InspectInput{Files: []string{path}})
	want := activities.ArchiveFile{Path: path, Format: "binance-klines", Exchange: "binance", Pair: "ETH/USDT",
		Kind: activities.KindCandles, Interval: "1m0s", Rows: 130708,
		First: date("2025-05-20T00:00:00Z"), Last: date("2025-08-18T18:27:00Z")}
	if len(files) != 1 || files[0] != want {
		t.Fatalf("inspect = %+v\nwant %+v", files, want)
	}
	for _, day := range []string{"2025-05-20", "2025-05-21"} {
		c := activities.Chunk{Pair: "ETH/USDT", From: date(day + "T00:00:00Z")}
		c.To = c.From.Add(24 * time.Hour)
		st := run[activities.ChunkStats](t, env, a.ImportArchiveChunk, activities.ImportInput{Chunk: c, Files: files})
		if st.Candles != 1440 || !st.First.Equal(c.From) {
			t.Errorf("import %s: %+v", day, st)
		}
	}
	for _, day := range []string{"2025-05-20", "2025-05-21"} {
		c := activities.Chunk{Pair: "ETH/USDT", From: date(day + "T00:00:00Z")}
		c.To = c.From.Add(24 * time.Hour)
		st := run[activities.ChunkStats](t, env, a.BuildChunk, activities.BuildInput{Chunk: c, Kind: activities.KindCandles, Interval: "1m0s"})
		if st.Candles != 1440 || st.Features != 1440 || st.Empty != 0 {
			t.Errorf("build %s: %+v", day, st)
		}
	}
	src, _, err := archive.ReadCandles(path, archive.BinanceKlines, "ETH/USDT")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquet.ReadCandles(datadir.Parquet(dir), "ETH/USDT", date("2025-05-20T00:00:00Z"), date("2025-05-22T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2880 {
		t.Fatalf("%d candles stored, want 2880", len(got))
	}
	for i, c := range got {
		s := src[i]
		if !c.Start.Equal(s.Start) || c.Open != s.Open || c.High != s.High || c.Low != s.Low || c.Close != s.Close || c.Volume != s.Volume {
			t.Fatalf("candle %d = %+v, file has %+v", i, c, s)
		}
	}
	if _, err := os.Stat(history.SourcesPath(dir, parquet.DatasetCandles, "ETH/USDT")); err != nil {
		t.Errorf("source not recorded: %v", err)
	}
}

func TestBadInputIsNotRetryable(t *testing.T) {
	dir := t.TempDir()
	notCSV := filepath.Join(dir, "ETHUSD_1.csv")
	if err := os.WriteFile(notCSV, []byte("hello\n"), 0o644); err != nil { // hand-written: not market data
		t.Fatal(err)
	}
	a := &activities.Activities{DataDir: dir, Roots: []string{filepath.Join(dir, "allowed")}}
	env := newEnv(a)
	chunk := activities.Chunk{Pair: "ETH/USD", From: date("2025-05-20T00:00:00Z"), To: date("2025-05-21T00:00:00Z")}
	tests := map[string]struct {
		fn any
		in any
	}{
		"missing file":     {a.InspectArchive, activities.InspectInput{Files: []string{filepath.Join(dir, "nope.csv")}}},
		"not an archive":   {a.InspectArchive, activities.InspectInput{Files: []string{notCSV}}},
		"outside roots":    {a.BuildChunk, activities.BuildInput{Chunk: chunk, Kind: activities.KindTrades, Interval: "1m"}},
		"bad interval":     {a.BuildChunk, activities.BuildInput{Chunk: withDir(chunk, filepath.Join(dir, "allowed")), Kind: activities.KindTrades, Interval: "soon"}},
		"bad kind":         {a.BuildChunk, activities.BuildInput{Chunk: withDir(chunk, filepath.Join(dir, "allowed")), Kind: "quotes", Interval: "1m"}},
		"no REST client":   {a.FetchTradesChunk, withDir(chunk, filepath.Join(dir, "allowed"))},
		"bad archive kind": {a.ImportArchiveChunk, activities.ImportInput{Chunk: withDir(chunk, filepath.Join(dir, "allowed")), Files: []activities.ArchiveFile{{Path: notCSV, Format: "pdf", First: chunk.From, Last: chunk.To}}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := env.ExecuteActivity(tc.fn, tc.in)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != market.CodeInvalid {
				t.Fatalf("err = %v, want a non-retryable %s", err, market.CodeInvalid)
			}
		})
	}
}

func withDir(c activities.Chunk, dir string) activities.Chunk {
	c.DataDir = dir
	return c
}

// realTrades is the real Kraken trade file: 2,672 BTC/USD trades of
// 2019-07-01 00:00–01:00, ids 1…2672.
func realTrades(t *testing.T) []market.Trade {
	t.Helper()
	trades, err := archive.ReadTrades(realdata.Path(t, realdata.KrakenTrades1h), archive.KrakenTrades, "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	return trades
}

func fakeREST(t *testing.T, trades []market.Trade) (*fakekraken.Server, *kraken.REST) {
	t.Helper()
	srv, err := fakekraken.New(fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}})
	if err != nil {
		t.Fatal(err)
	}
	wsURL, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	rest, err := kraken.NewREST(kraken.RESTConfig{BaseURL: fakekraken.RESTURL(wsURL), RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, rest
}

var hour = activities.Chunk{Pair: "BTC/USD", From: date("2019-07-01T00:00:00Z"), To: date("2019-07-02T00:00:00Z")}

// heartbeats counts an activity's heartbeats.
type heartbeats struct {
	mu sync.Mutex
	n  int
}

func (h *heartbeats) listen(env *testsuite.TestActivityEnvironment) {
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var p activities.FetchProgress
		if d.Get(&p) == nil {
			h.mu.Lock()
			h.n++
			h.mu.Unlock()
		}
	})
}

func (h *heartbeats) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func TestFetchTradesChunk(t *testing.T) {
	trades := realTrades(t)
	srv, rest := fakeREST(t, trades)
	dir := t.TempDir()
	a := &activities.Activities{REST: rest, DataDir: dir}
	env := newEnv(a)
	var hb heartbeats
	hb.listen(env)
	st := run[activities.ChunkStats](t, env, a.FetchTradesChunk, hour)
	if st.Trades != 2672 || st.Pages != 3 || !st.Last.Equal(trades[2671].TS) {
		t.Errorf("stats = %+v, want 2672 trades in 3 pages", st)
	}
	// The SDK throttles heartbeats (to 80% of the heartbeat timeout), so
	// only the first is sure to get through here.
	if hb.count() == 0 {
		t.Error("no heartbeat")
	}
	got, err := parquet.ReadTrades(datadir.Parquet(dir), "BTC/USD", hour.From, hour.To)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2672 || got[0].TradeID != 1 || got[2671].TradeID != 2672 {
		t.Fatalf("%d trades stored", len(got))
	}
	if n := srv.RESTStats().Requests; n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// A retried attempt starts from its predecessor's last heartbeat: the
// trades it had saved are not fetched again, and the store ends complete.
func TestFetchTradesChunkResumesFromHeartbeat(t *testing.T) {
	trades := realTrades(t)
	srv, rest := fakeREST(t, trades)
	dir := t.TempDir()
	// The lost attempt had saved the first 1,500 trades.
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddTrades(trades[:1500]); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	a := &activities.Activities{REST: rest, DataDir: dir}
	env := newEnv(a)
	env.SetHeartbeatDetails(activities.FetchProgress{Pages: 2, Trades: 2000, LastTS: trades[1999].TS,
		SavedID: 1500, SavedTS: trades[1499].TS, Saved: 1500})
	out := run[activities.ChunkStats](t, env, a.FetchTradesChunk, hour)
	if out.Trades != 2672 || out.Pages != 4 {
		t.Errorf("stats = %+v, want 2672 trades (1500 saved before), pages 2 + 2", out)
	}
	if n := srv.RESTStats().Requests; n != 2 {
		t.Errorf("%d requests, want 2 (from trade 1500 on)", n)
	}
	got, err := parquet.ReadTrades(datadir.Parquet(dir), "BTC/USD", hour.From, hour.To)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2672 {
		t.Fatalf("%d trades stored, want 2672", len(got))
	}
	for i, tr := range got {
		if tr.TradeID != int64(i+1) {
			t.Fatalf("trade %d has id %d: gap or duplicate", i, tr.TradeID)
		}
	}
}
