package connect

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"github.com/tickcast/tickcast/internal/datadir"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/parquet"
)

// fileMinute is a one-minute candle computed directly from the CSV rows,
// independently of the aggregator.
type fileMinute struct {
	open, high, low, close, volume, buy, sell float64
	trades                                    int64
}

// fileTrade is one row of the real trade file with its 1-based row number,
// which the fake Kraken uses as trade_id.
type fileTrade struct {
	id    int64
	ts    time.Time
	price float64
	qty   float64
	isBuy bool
}

func readTradeFile(t *testing.T, path string) []fileTrade {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []fileTrade
	for i, r := range rows[1:] { // header: time_ms,timestamp_utc,price,volume,side
		ms, _ := strconv.ParseInt(r[0], 10, 64)
		price, _ := strconv.ParseFloat(r[2], 64)
		qty, _ := strconv.ParseFloat(r[3], 64)
		out = append(out, fileTrade{int64(i + 1), time.UnixMilli(ms).UTC(), price, qty, r[4] == "buy"})
	}
	return out
}

func minutesOf(trades []fileTrade) map[time.Time]*fileMinute {
	m := map[time.Time]*fileMinute{}
	for _, tr := range trades {
		k := tr.ts.Truncate(time.Minute)
		c, ok := m[k]
		if !ok {
			c = &fileMinute{open: tr.price, high: tr.price, low: tr.price}
			m[k] = c
		}
		c.high, c.low, c.close = max(c.high, tr.price), min(c.low, tr.price), tr.price
		c.volume += tr.qty
		c.trades++
		if tr.isBuy {
			c.buy += tr.qty
		} else {
			c.sell += tr.qty
		}
	}
	return m
}

// runLivePipeline runs connect/pipelines/live.yaml against a fake Kraken
// replaying path at max speed until the last trade, like `tickcast run --replay`,
// with gap repair from the fake's REST API.
func runLivePipeline(t *testing.T, path string, faults fakekraken.Faults) (dataDir string, last time.Time) {
	t.Helper()
	r := runLive(t, path, liveRun{faults: faults, repair: true})
	return r.dataDir, r.last
}

// liveRun is how runLive runs live.yaml: the fake's faults and whether
// gaps are repaired from REST (always the fake's: never the real API).
type liveRun struct {
	faults    fakekraken.Faults
	repair    bool
	warmStart string // TICKCAST_WARM_START: a data directory, or "" to start cold
}

type liveResult struct {
	dataDir string
	last    time.Time
	fake    fakekraken.Stats
	rest    fakekraken.RESTStats
}

func runLive(t *testing.T, path string, run liveRun) liveResult {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	trades, err := fakekraken.LoadTradesCSV(f, "BTC/USD", 1)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	return runLiveTrades(t, trades, run)
}

// runLiveTrades is runLive for trades already loaded (of one pair).
func runLiveTrades(t *testing.T, trades []market.Trade, run liveRun) liveResult {
	t.Helper()
	pair := trades[0].Pair
	srv, err := fakekraken.New(fakekraken.Config{Trades: map[string][]market.Trade{pair: trades}, Faults: run.faults})
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := liveResult{dataDir: t.TempDir(), last: trades[len(trades)-1].TS}
	vars := map[string]string{
		"TICKCAST_KRAKEN_WS_URL":   url,
		"TICKCAST_KRAKEN_REST_URL": fakekraken.RESTURL(url),
		"TICKCAST_REPAIR":          strconv.FormatBool(run.repair),
		"TICKCAST_REST_RATE":       "-1", // the fake has no rate limit unless asked
		"TICKCAST_PAIRS":           pair,
		"TICKCAST_CLOCK_SPEED":     "0",
		"TICKCAST_STOP_AT":         r.last.Format(time.RFC3339Nano),
		"TICKCAST_DATA_DIR":        r.dataDir,
		"TICKCAST_BACKOFF_MIN":     "20ms",
		"TICKCAST_WARM_START":      run.warmStart,
	}
	runPipelineFile(t, "pipelines/live.yaml", vars)
	r.fake, r.rest = srv.Stats(), srv.RESTStats()
	return r
}

func runPipelineFile(t *testing.T, file string, vars map[string]string) {
	t.Helper()
	runPipelineFileFor(t, file, vars, 90*time.Second)
}

// runPipelineFileFor runs a pipeline file to its end, failing after timeout.
func runPipelineFileFor(t *testing.T, file string, vars map[string]string, timeout time.Duration) {
	t.Helper()
	deps := Deps{Latest: &online.Latest{}}
	if os.Getenv("TICKCAST_TEST_LOG") != "" { // the plugins' log, to debug a pipeline test
		deps.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	runWithDeps(t, file, vars, deps, timeout)
}

func TestReplayThroughFakeKrakenMatchesFile(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: fake Kraken + pipeline + Parquet")
	}
	path := realdata.Path(t, realdata.KrakenTrades1h)
	want := minutesOf(readTradeFile(t, path))
	dataDir, _ := runLivePipeline(t, path, fakekraken.Faults{})

	stored, err := parquet.ReadTrades(datadir.Parquet(dataDir), "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2672 {
		t.Errorf("stored %d trades, want 2672", len(stored))
	}
	candles, err := parquet.ReadCandles(datadir.Parquet(dataDir), "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(candles) != 60 || len(want) != 60 {
		t.Fatalf("got %d candles, file has %d minutes; want 60", len(candles), len(want))
	}
	for _, c := range candles {
		w := want[c.Start]
		if w == nil {
			t.Fatalf("candle %v not in the file", c.Start)
		}
		got := fileMinute{c.Open, c.High, c.Low, c.Close, c.Volume, c.BuyVolume, c.SellVolume, c.Trades}
		if got != *w {
			t.Errorf("candle %v = %+v, file says %+v", c.Start.Format("15:04"), got, *w)
		}
		if !c.Complete || c.End.Sub(c.Start) != time.Minute {
			t.Errorf("candle %v: complete=%v span=%v", c.Start, c.Complete, c.End.Sub(c.Start))
		}
	}
	features, err := parquet.ReadFeatures(datadir.Parquet(dataDir), "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(features) != 60 {
		t.Errorf("got %d feature rows, want 60", len(features))
	}
}

func TestReplayWithDisconnectsDetectsEveryMissedTrade(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: fake Kraken + pipeline + Parquet")
	}
	path := realdata.Path(t, realdata.KrakenTrades1h)
	file := readTradeFile(t, path)
	faults := fakekraken.Faults{DisconnectEvery: 400, Disconnects: 5, SkipOnDisconnect: 120}
	run := runLive(t, path, liveRun{faults: faults, repair: false}) // detection alone
	dataDir := run.dataDir
	if run.rest.Requests != 0 {
		t.Errorf("repair off, yet %d REST requests", run.rest.Requests)
	}

	stored, err := parquet.ReadTrades(datadir.Parquet(dataDir), "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]bool{}
	for _, tr := range stored {
		if got[tr.TradeID] {
			t.Errorf("duplicate trade %d in the store", tr.TradeID)
		}
		got[tr.TradeID] = true
	}
	gapIDs := readGaps(t, filepath.Join(dataDir, "gaps", "BTC-USD.jsonl"))
	var missed []fileTrade
	for _, tr := range file {
		if !got[tr.id] {
			missed = append(missed, tr)
			if !gapIDs[tr.id] {
				t.Errorf("trade %d was never received and not reported in a gap", tr.id)
			}
		}
	}
	if len(missed) == 0 {
		t.Fatal("the faults made no trade go missing: the test proves nothing")
	}
	if len(gapIDs) != len(missed) {
		t.Errorf("gaps report %d trades, %d were missed", len(gapIDs), len(missed))
	}
	t.Logf("%d trades received, %d missed across 5 disconnects, all in gaps", len(got), len(missed))

	candles, err := parquet.ReadCandles(datadir.Parquet(dataDir), "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	incomplete := map[time.Time]bool{}
	for _, c := range candles {
		incomplete[c.Start] = !c.Complete
	}
	for _, tr := range missed {
		if !incomplete[tr.ts.Truncate(time.Minute)] {
			t.Errorf("missed trade %d at %v: its candle is not marked complete=false", tr.id, tr.ts)
		}
	}
	want := minutesOf(file)
	for _, c := range candles {
		if c.Complete && c.Trades != want[c.Start].trades {
			t.Errorf("candle %v complete=true with %d trades, file has %d", c.Start, c.Trades, want[c.Start].trades)
		}
	}
}

func readGaps(t *testing.T, path string) map[int64]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("gaps file: %v", err)
	}
	defer f.Close()
	ids := map[int64]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var g GapRecord
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatalf("gap line %q: %v", sc.Text(), err)
		}
		if g.Kind != GapIDs || g.State != GapOpen {
			continue
		}
		for id := g.FromID; id <= g.ToID; id++ {
			ids[id] = true
		}
	}
	return ids
}

// The file replay input and the WebSocket path through the fake Kraken must
// give identical candles and features: one feature code path, whatever the
// source.
func TestReplayInputMatchesFakeKrakenPath(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: two pipelines + Parquet")
	}
	path := realdata.Path(t, realdata.KrakenTrades1h)
	wsDir, _ := runLivePipeline(t, path, fakekraken.Faults{})
	fileDir := t.TempDir()
	runPipelineFile(t, "pipelines/replay.yaml", map[string]string{
		"TICKCAST_REPLAY_FILE": path,
		"TICKCAST_PAIR":        "BTC/USD",
		"TICKCAST_DATA_DIR":    fileDir,
	})
	for _, ds := range []string{"candles", "features"} {
		a, b := readPairJSON(t, wsDir, ds, "BTC/USD"), readPairJSON(t, fileDir, ds, "BTC/USD")
		if len(a) != 60 || len(a) != len(b) {
			t.Fatalf("%s: %d rows via WebSocket, %d via file", ds, len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s row %d differs:\nws:   %s\nfile: %s", ds, i, a[i], b[i])
			}
		}
	}
}
