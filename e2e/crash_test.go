package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// The live pipeline (`tickcast connect run live.yaml`) is killed with
// SIGKILL mid-stream, the store holding only what it flushed, then started
// again while the exchange goes on: the restart resumes after the store's
// last trade and fetches everything since from REST, so the store ends
// with every trade of the real hour once and every minute's candle as the
// file's trades make it, complete.
func TestKillNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: the tickcast binary against the fake Kraken at 60x (about 70 s)")
	}
	bin := buildTickcast(t)
	path := realdata.Path(t, realdata.KrakenTrades1h)
	file := readTrades(t, path)
	src, err := archive.OpenTrades(path, "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	const speed = 60
	srv, err := fakekraken.New(fakekraken.Config{Sources: map[string]fakekraken.TradeSource{"BTC/USD": src}, Speed: speed})
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dataDir := t.TempDir()
	env := append(os.Environ(),
		"TICKCAST_KRAKEN_WS_URL="+url,
		"TICKCAST_KRAKEN_REST_URL="+fakekraken.RESTURL(url),
		"TICKCAST_REST_RATE=-1",
		"TICKCAST_PAIRS=BTC/USD",
		"TICKCAST_CLOCK_SPEED="+strconv.Itoa(speed),
		"TICKCAST_STOP_AT="+file[len(file)-1].TS.Format(time.RFC3339Nano),
		"TICKCAST_DATA_DIR="+dataDir,
		"TICKCAST_BACKOFF_MIN=20ms",
		"TICKCAST_FLUSH_INTERVAL=2s",
	)
	pipeline := filepath.Join(repoRoot(t), "connect", "pipelines", "live.yaml")
	store := filepath.Join(dataDir, "parquet")

	first := startPipeline(t, bin, pipeline, env)
	deadline := time.Now().Add(40 * time.Second)
	for storedTrades(store) < 600 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // trades the store has not flushed yet
	before := storedTrades(store)
	if before == 0 {
		t.Fatalf("nothing stored before the kill; pipeline log:\n%s", first.log.String())
	}
	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL: no flush, no goodbye
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	killedAt := srv.Now()
	t.Logf("killed with %d trades stored, the exchange at %s", before, killedAt.Format(time.TimeOnly))

	second := startPipeline(t, bin, pipeline, env)
	done := make(chan error, 1)
	go func() { done <- second.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("restarted pipeline: %v\n%s", err, second.log.String())
		}
	case <-time.After(3 * time.Minute):
		_ = second.cmd.Process.Kill()
		t.Fatalf("the restarted pipeline did not reach the end of the hour\n%s", second.log.String())
	}

	checkAllTrades(t, store, file)
	checkMinutes(t, store, file)
	if !strings.Contains(readFile(t, filepath.Join(dataDir, "gaps", "BTC-USD.jsonl")), `"kind":"start","state":"repaired","id":1,"pair":"BTC/USD","from_id":`) {
		t.Error("the restart did not resume after the stored trades (no repaired start gap with from_id)")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type pipelineProc struct {
	cmd *exec.Cmd
	log *syncBuffer
}

func startPipeline(t *testing.T, bin, pipeline string, env []string) pipelineProc {
	t.Helper()
	log := &syncBuffer{}
	cmd := exec.Command(bin, "connect", "run", pipeline)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return pipelineProc{cmd: cmd, log: log}
}

func storedTrades(store string) int {
	ts, err := parquet.ReadTrades(store, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		return 0
	}
	return len(ts)
}

func readTrades(t *testing.T, path string) []market.Trade {
	t.Helper()
	trades, err := archive.ReadTrades(path, archive.KrakenTrades, "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	return trades
}

// checkAllTrades: the store holds every trade of the file, once, as the file says.
func checkAllTrades(t *testing.T, store string, file []market.Trade) {
	t.Helper()
	stored, err := parquet.ReadTrades(store, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(file) {
		t.Errorf("stored %d trades, the file has %d", len(stored), len(file))
	}
	seen := map[int64]bool{}
	for _, tr := range stored {
		if seen[tr.TradeID] || tr.TradeID < 1 || tr.TradeID > int64(len(file)) {
			t.Fatalf("trade %d stored twice or not in the file", tr.TradeID)
		}
		seen[tr.TradeID] = true
		if f := file[tr.TradeID-1]; tr.Price != f.Price || tr.Qty != f.Qty || !tr.TS.Equal(f.TS) {
			t.Errorf("trade %d = %+v, the file says %+v", tr.TradeID, tr, f)
		}
	}
}

// checkMinutes: each stored candle equals the file's trades of its minute,
// grouped here independently of the aggregator, and is complete.
func checkMinutes(t *testing.T, store string, file []market.Trade) {
	t.Helper()
	type minute struct {
		open, high, low, close, volume float64
		n                              int64
	}
	want := map[time.Time]*minute{}
	for _, tr := range file { // in time order
		m := want[tr.TS.Truncate(time.Minute)]
		if m == nil {
			m = &minute{open: tr.Price, high: tr.Price, low: tr.Price}
			want[tr.TS.Truncate(time.Minute)] = m
		}
		m.high, m.low, m.close = max(m.high, tr.Price), min(m.low, tr.Price), tr.Price
		m.volume += tr.Qty
		m.n++
	}
	candles, err := parquet.ReadCandles(store, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(candles) != len(want) {
		t.Fatalf("%d candles, the file has %d minutes", len(candles), len(want))
	}
	for _, c := range candles {
		w := want[c.Start]
		if w == nil {
			t.Fatalf("candle %s not in the file", c.Start)
		}
		same := c.Open == w.open && c.High == w.high && c.Low == w.low && c.Close == w.close && c.Trades == w.n &&
			abs(c.Volume-w.volume) <= 1e-9*max(1, w.volume)
		if !same || !c.Complete {
			t.Errorf("candle %s rev %d: O=%v H=%v L=%v C=%v V=%v N=%d complete=%v; the file: %+v",
				c.Start.Format(time.TimeOnly), c.Revision, c.Open, c.High, c.Low, c.Close, c.Volume, c.Trades, c.Complete, *w)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
