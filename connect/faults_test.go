package connect

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// liveFault is one scenario of the fault matrix: the real trade hour
// replayed by the fake Kraken at Speed× with its clock running, through
// live.yaml at the same clock speed, with the exchange's faults.
type liveFault struct {
	name   string
	speed  float64
	faults fakekraken.Faults
	rest   fakekraken.RESTFaults
}

// faultMatrix: drops every 15..400 trades (the exchange clock runs while
// the client reconnects) and outages of 1..10 s of wall time (both APIs
// refusing while the exchange clock runs: at 60× a 10 s outage is 10
// minutes of market, far more than the 50-trade snapshot, so REST must
// repair), frames before the subscribe ack, REST rate limits and failures.
// The fake's SkipOnDisconnect is not used: it publishes trades at once,
// ahead of the exchange's own clock, which no exchange does.
func faultMatrix() []liveFault {
	return []liveFault{
		{"drops every 15, outages of 1s", 60, fakekraken.Faults{
			DisconnectEvery: 15, OutageEvery: 900, OutageFor: time.Second}, fakekraken.RESTFaults{}},
		{"drops every 50, outages of 3s", 120, fakekraken.Faults{
			DisconnectEvery: 50, OutageEvery: 800, OutageFor: 3 * time.Second}, fakekraken.RESTFaults{}},
		{"drops every 400, outages of 10s, trades before the ack", 120, fakekraken.Faults{
			DisconnectEvery: 400, OutageEvery: 1000, OutageFor: 10 * time.Second, Outages: 1,
			TradesBeforeAck: true}, fakekraken.RESTFaults{}},
		{"drops every 100, outages of 5s, REST rate-limited and failing", 60, fakekraken.Faults{
			DisconnectEvery: 100, OutageEvery: 700, OutageFor: 5 * time.Second, Outages: 2,
			TradesBeforeAck: true}, fakekraken.RESTFaults{RateLimitPerSecond: 20, RateLimitWith: fakekraken.ErrRateLimit, FailEvery: 7}},
	}
}

// TestFaultMatrixNoTradeLost is the evidence that the live path loses no
// trade when the exchange misbehaves: after each scenario the store holds
// every trade of the file exactly once, every candle equals the file's
// minute and is complete, nothing went to late/ or the dead letters, and
// every gap the input recorded was closed or repaired.
func TestFaultMatrixNoTradeLost(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: fake Kraken with faults at 60-120x + pipeline + Parquet (about 60 s)")
	}
	path := realdata.Path(t, realdata.KrakenTrades1h)
	file := readTradeFile(t, path)
	for _, sc := range faultMatrix() {
		t.Run(fmt.Sprintf("%gx, %s", sc.speed, sc.name), func(t *testing.T) {
			t.Parallel()
			r := runFaulty(t, path, sc)
			dir := datadir.Parquet(r.dataDir)
			checkStoredTrades(t, dir, file, repairedIDs(t, dir))
			checkFileCandles(t, dir, file)
			checkNothingAside(t, r.dataDir)
			checkGapsClosed(t, r.dataDir)
			t.Logf("fake: %+v; REST: %+v", r.fake, r.rest)
		})
	}
}

// TestFaultMatrixRealTime is the fault matrix with the exchange at 1×: the
// whole hour in real time (about an hour; `make bench-faults`, not CI).
func TestFaultMatrixRealTime(t *testing.T) {
	if os.Getenv("TICKCAST_BENCH_REALTIME") == "" {
		t.Skip("an hour of real time: make bench-faults")
	}
	path := realdata.Path(t, realdata.KrakenTrades1h)
	file := readTradeFile(t, path)
	for _, sc := range faultMatrix() {
		sc.speed = 1
		t.Run("1x, "+sc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			r := runFaultyFor(t, path, sc, 75*time.Minute)
			dir := datadir.Parquet(r.dataDir)
			checkStoredTrades(t, dir, file, repairedIDs(t, dir))
			checkFileCandles(t, dir, file)
			checkNothingAside(t, r.dataDir)
			checkGapsClosed(t, r.dataDir)
			t.Logf("%s: %s; fake: %+v; REST: %+v", sc.name, time.Since(start).Round(time.Second), r.fake, r.rest)
		})
	}
}

func runFaulty(t *testing.T, path string, sc liveFault) liveResult {
	t.Helper()
	return runFaultyFor(t, path, sc, 4*time.Minute)
}

func runFaultyFor(t *testing.T, path string, sc liveFault, timeout time.Duration) liveResult {
	t.Helper()
	src, err := archive.OpenTrades(path, "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := fakekraken.New(fakekraken.Config{Sources: map[string]fakekraken.TradeSource{"BTC/USD": src},
		Speed: sc.speed, Faults: sc.faults, REST: sc.rest})
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	file := readTradeFile(t, path)
	r := liveResult{dataDir: t.TempDir(), last: file[len(file)-1].ts}
	vars := map[string]string{
		"TICKCAST_KRAKEN_WS_URL":   url,
		"TICKCAST_KRAKEN_REST_URL": fakekraken.RESTURL(url),
		"TICKCAST_REST_RATE":       "-1",
		"TICKCAST_PAIRS":           "BTC/USD",
		"TICKCAST_CLOCK_SPEED":     strconv.FormatFloat(sc.speed, 'g', -1, 64),
		"TICKCAST_STOP_AT":         r.last.Format(time.RFC3339Nano),
		"TICKCAST_DATA_DIR":        r.dataDir,
		"TICKCAST_BACKOFF_MIN":     "20ms",
		"TICKCAST_FLUSH_INTERVAL":  "1s",
	}
	runPipelineFileFor(t, "pipelines/live.yaml", vars, timeout)
	r.fake, r.rest = srv.Stats(), srv.RESTStats()
	return r
}

// repairedIDs are the ids of the stored trades that came from REST.
func repairedIDs(t *testing.T, dir string) map[int64]bool {
	t.Helper()
	stored, err := parquet.ReadTrades(dir, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int64]bool{}
	for _, tr := range stored {
		if tr.Source == market.SourceKrakenREST {
			ids[tr.TradeID] = true
		}
	}
	return ids
}

// checkFileCandles: the stored candles are the file's minutes, all complete.
func checkFileCandles(t *testing.T, dir string, file []fileTrade) {
	t.Helper()
	want := minutesOf(file)
	candles, err := parquet.ReadCandles(dir, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	end := file[len(file)-1].ts.Truncate(time.Minute).Add(time.Minute)
	n := 0
	for _, c := range candles {
		w := want[c.Start]
		if w == nil && c.Trades == 0 && !c.Start.Before(end) {
			continue // the exchange clock ran past the hour during an outage: empty minutes
		}
		if w == nil {
			t.Fatalf("candle %v not in the file", c.Start)
		}
		n++
		exact := c.Open == w.open && c.High == w.high && c.Low == w.low && c.Close == w.close && c.Trades == w.trades
		sums := closeTo(c.Volume, w.volume) && closeTo(c.BuyVolume, w.buy) && closeTo(c.SellVolume, w.sell)
		if !exact || !sums || !c.Complete {
			t.Errorf("candle %s rev %d: O=%v H=%v L=%v C=%v V=%v N=%d complete=%v; file %+v", c.Start.Format("15:04"), c.Revision,
				c.Open, c.High, c.Low, c.Close, c.Volume, c.Trades, c.Complete, *w)
		}
	}
	if n != len(want) {
		t.Fatalf("%d of the file's %d minutes have a candle", n, len(want))
	}
}

// checkNothingAside: no trade went to late/ or the dead letters.
func checkNothingAside(t *testing.T, dataDir string) {
	t.Helper()
	for _, sub := range []string{"late", "deadletter"} {
		entries, _ := os.ReadDir(filepath.Join(dataDir, sub))
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(dataDir, sub, e.Name()))
			if len(b) > 0 {
				t.Errorf("%s/%s is not empty: %.300s", sub, e.Name(), b)
			}
		}
	}
}

// checkGapsClosed: every outage the input opened was closed, every ids
// and start gap repaired; returns nothing when the file has no gaps.
func checkGapsClosed(t *testing.T, dataDir string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, "gaps", "BTC-USD.jsonl"))
	if err != nil {
		t.Fatalf("gaps: %v", err)
	}
	defer f.Close()
	open := map[string]int{}
	outages := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var g GapRecord
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("%s/%d/%d", g.Kind, g.ID, g.FromID)
		switch g.State {
		case GapOpen:
			open[key]++
			if g.Kind == GapOutage {
				outages++
			}
		case GapClosed, GapRepaired:
			open[key]--
		case GapUnrepairable:
			t.Errorf("unrepairable gap: %s", sc.Text())
		}
	}
	for k, n := range open {
		if n > 0 {
			t.Errorf("gap %s never closed", k)
		}
	}
	if outages == 0 {
		t.Error("no outage recorded: the scenario proves nothing")
	}
}

// TestHostileTradesDeadLettered: the exchange serves corrupt copies of
// real trades (year 2100, a day ahead, a day behind, 1e308, negative, zero
// and ×1000 prices) on both APIs. Each reaches the dead letters with its
// reason; no candle is made up (the clock never jumps), no other trade is
// lost, and memory stays bounded.
func TestHostileTradesDeadLettered(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: fake Kraken with hostile trades at 120x + pipeline + Parquet (about 30 s)")
	}
	path := realdata.Path(t, realdata.KrakenTrades1h)
	file := readTradeFile(t, path)
	hostile := fakekraken.RandomHostile(20190701, len(fakekraken.HostileKinds()), 100, 2500)
	r := runFaulty(t, path, liveFault{name: "hostile", speed: 120, faults: fakekraken.Faults{Hostile: hostile}})
	dir := datadir.Parquet(r.dataDir)

	bad := map[int64]fakekraken.HostileKind{}
	for _, h := range hostile {
		bad[int64(h.At)+1] = h.Kind // ids count from 1
	}
	stored, err := parquet.ReadTrades(dir, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(file)-len(bad) {
		t.Errorf("stored %d trades, want the file's %d less the %d hostile", len(stored), len(file), len(bad))
	}
	for _, tr := range stored {
		if _, ok := bad[tr.TradeID]; ok {
			t.Errorf("hostile trade %d stored: %+v", tr.TradeID, tr)
		}
	}
	// Every hostile trade is dead-lettered with a reason, every time it came.
	reasons := deadLetterReasons(t, r.dataDir)
	for id, k := range bad {
		if len(reasons[id]) == 0 {
			t.Errorf("hostile trade %d (%s) not in the dead letters", id, k)
		}
	}
	// No candle is made up: the hour's 60 minutes, each within the file's
	// prices; those that lost a trade are incomplete.
	want := minutesOf(file)
	candles, err := parquet.ReadCandles(dir, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(candles) != len(want) {
		t.Fatalf("%d candles, the file has %d minutes", len(candles), len(want))
	}
	lost := map[time.Time]bool{}
	for id := range bad {
		lost[file[id-1].ts.Truncate(time.Minute)] = true
	}
	for _, c := range candles {
		w := want[c.Start]
		if w == nil || c.High > w.high || c.Low < w.low {
			t.Errorf("candle %s H=%v L=%v outside the file's minute %+v", c.Start.Format("15:04"), c.High, c.Low, w)
		}
		if c.Complete == lost[c.Start] {
			t.Errorf("candle %s complete=%v; a hostile trade in it: %v", c.Start.Format("15:04"), c.Complete, lost[c.Start])
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > 150<<20 {
		t.Errorf("heap in use %d MiB after the run", ms.HeapInuse>>20)
	}
	t.Logf("dead letters: %v", reasons)
}

// deadLetterReasons reads the dead-letter files: trade id → reasons.
func deadLetterReasons(t *testing.T, dataDir string) map[int64][]string {
	t.Helper()
	out := map[int64][]string{}
	entries, _ := os.ReadDir(filepath.Join(dataDir, "deadletter"))
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dataDir, "deadletter", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var rec struct{ Content, Error string }
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("dead letter %q: %v", sc.Text(), err)
			}
			var tr struct {
				TradeID int64 `json:"trade_id"`
			}
			_ = json.Unmarshal([]byte(rec.Content), &tr)
			out[tr.TradeID] = append(out[tr.TradeID], rec.Error)
		}
		f.Close()
	}
	return out
}
