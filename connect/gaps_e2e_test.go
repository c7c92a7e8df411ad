package connect

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/online"
)

// TestLiveGapState runs live.yaml against the fake Kraken replaying the real
// hour of BTC/USD trades with dropped connections and outages, with
// Deps.Gaps as `tickcast run` wires it: the pair's gap state must be open
// at some point (the outages, the stream start) and closed at the end, once
// every gap was repaired.
func TestLiveGapState(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: fake Kraken with outages + pipeline (about 30 s)")
	}
	path := realdata.Path(t, realdata.KrakenTrades1h)
	src, err := archive.OpenTrades(path, "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := fakekraken.New(fakekraken.Config{Sources: map[string]fakekraken.TradeSource{"BTC/USD": src}, Speed: 120,
		Faults: fakekraken.Faults{DisconnectEvery: 50, OutageEvery: 800, OutageFor: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	file := readTradeFile(t, path)
	vars := map[string]string{
		"TICKCAST_KRAKEN_WS_URL":   url,
		"TICKCAST_KRAKEN_REST_URL": fakekraken.RESTURL(url),
		"TICKCAST_REST_RATE":       "-1",
		"TICKCAST_PAIRS":           "BTC/USD",
		"TICKCAST_CLOCK_SPEED":     "120",
		"TICKCAST_STOP_AT":         file[len(file)-1].ts.Format(time.RFC3339Nano),
		"TICKCAST_DATA_DIR":        t.TempDir(),
		"TICKCAST_BACKOFF_MIN":     "20ms",
		"TICKCAST_FLUSH_INTERVAL":  "1s",
	}
	gaps := &online.Gaps{}
	stop, done := make(chan struct{}), make(chan bool)
	go func() { // sample the state as the API would, request by request
		for {
			select {
			case <-stop:
				done <- false
				return
			case <-time.After(time.Millisecond):
				if gaps.Open("BTC-USD") {
					<-stop
					done <- true
					return
				}
			}
		}
	}()
	runWithDeps(t, "pipelines/live.yaml", vars, Deps{Latest: &online.Latest{}, Gaps: gaps}, 3*time.Minute)
	close(stop)
	if !<-done {
		t.Error("the gap state never opened, through a stream start and outages")
	}
	if gaps.Open("BTC/USD") {
		t.Error("a gap is still open at the end, after every gap was repaired")
	}
	t.Logf("fake: %+v", srv.Stats())
}

// runWithDeps runs a pipeline file to its end with deps.
func runWithDeps(t *testing.T, file string, vars map[string]string, deps Deps, timeout time.Duration) {
	t.Helper()
	yaml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env, err := NewEnvironment(deps)
	if err != nil {
		t.Fatal(err)
	}
	b := env.NewStreamBuilder()
	b.SetEnvVarLookupFunc(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err := b.SetYAML(string(yaml)); err != nil {
		t.Fatal(err)
	}
	stream, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := stream.Run(ctx); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
}
