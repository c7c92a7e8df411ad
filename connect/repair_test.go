package connect

import (
	"context"
	"errors"
	"fmt"
	"github.com/tickcast/tickcast/internal/datadir"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

// TestLiveRepairFromREST is the evidence for gap-free live ingest: the fake
// Kraken replays the real trade file and drops the connection 5 times, each
// time publishing 120 trades the client never gets (the snapshot on
// reconnect brings back 50), and serves REST on the same listener. After the
// run the store must hold exactly the file: every trade once, every candle
// as grouped straight from the file, complete, repaired where trades were
// missed, and the feature rows of a run without faults.
func TestLiveRepairFromREST(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: fake Kraken WS + REST + pipeline + Parquet")
	}
	path := realdata.Path(t, realdata.KrakenTrades1h)
	file := readTradeFile(t, path)
	faults := fakekraken.Faults{DisconnectEvery: 400, Disconnects: 5, SkipOnDisconnect: 120}
	run := runLive(t, path, liveRun{faults: faults, repair: true})
	if run.fake.Drops != 5 {
		t.Fatalf("the fake dropped %d connections, want 5", run.fake.Drops)
	}
	dir := datadir.Parquet(run.dataDir)

	missed := readGaps(t, filepath.Join(run.dataDir, "gaps", "BTC-USD.jsonl"))
	if len(missed) != 5*(120-fakekraken.DefaultSnapshotSize) {
		t.Errorf("gaps report %d missed trades, want 5×70", len(missed))
	}
	checkStoredTrades(t, dir, file, missed)
	checkRepairedCandles(t, dir, file, missed)
	if run.rest.Requests == 0 {
		t.Error("no REST request reached the fake")
	}

	clean := runLive(t, path, liveRun{repair: true})
	checkSameFeatures(t, datadir.Parquet(clean.dataDir), dir)
	t.Logf("%d trades missed over 5 disconnects, repaired with %d REST requests", len(missed), run.rest.Requests)
}

// checkStoredTrades: every trade of the file exactly once, the missed ones
// from REST and the others from the WebSocket, with the file's values.
func checkStoredTrades(t *testing.T, dir string, file []fileTrade, missed map[int64]bool) {
	t.Helper()
	stored, err := parquet.ReadTrades(dir, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(file) || len(file) != 2672 {
		t.Errorf("stored %d trades, the file has %d (want 2672)", len(stored), len(file))
	}
	seen := map[int64]bool{}
	for _, tr := range stored {
		if seen[tr.TradeID] || tr.TradeID < 1 || tr.TradeID > int64(len(file)) {
			t.Fatalf("trade %d stored twice or not in the file", tr.TradeID)
		}
		seen[tr.TradeID] = true
		f := file[tr.TradeID-1]
		if tr.Price != f.price || tr.Qty != f.qty || !tr.TS.Equal(f.ts) || (tr.Side == market.SideBuy) != f.isBuy {
			t.Errorf("trade %d = %+v, file says %+v", tr.TradeID, tr, f)
		}
		wantSource := market.SourceKrakenWS
		if missed[tr.TradeID] {
			wantSource = market.SourceKrakenREST
		}
		if tr.Source != wantSource {
			t.Errorf("trade %d: source %q, want %q", tr.TradeID, tr.Source, wantSource)
		}
	}
}

// checkRepairedCandles: the 60 candles equal the file's minutes (OHLC and
// counts exact; volume sums to 1e-12 relative, as repaired trades are added
// in another order), all complete, repaired exactly where trades were missed.
func checkRepairedCandles(t *testing.T, dir string, file []fileTrade, missed map[int64]bool) {
	t.Helper()
	want := minutesOf(file)
	hadGap := map[time.Time]bool{}
	for id := range missed {
		hadGap[file[id-1].ts.Truncate(time.Minute)] = true
	}
	candles, err := parquet.ReadCandles(dir, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(candles) != 60 || len(want) != 60 {
		t.Fatalf("%d candles, the file has %d minutes; want 60", len(candles), len(want))
	}
	for _, c := range candles {
		w := want[c.Start]
		if w == nil {
			t.Fatalf("candle %v not in the file", c.Start)
		}
		exact := c.Open == w.open && c.High == w.high && c.Low == w.low && c.Close == w.close && c.Trades == w.trades
		sums := closeTo(c.Volume, w.volume) && closeTo(c.BuyVolume, w.buy) && closeTo(c.SellVolume, w.sell)
		if !exact || !sums {
			t.Errorf("candle %s: O=%v H=%v L=%v C=%v V=%v N=%d B=%v S=%v; file %+v", c.Start.Format("15:04"),
				c.Open, c.High, c.Low, c.Close, c.Volume, c.Trades, c.BuyVolume, c.SellVolume, *w)
		}
		if !c.Complete || c.Repaired != hadGap[c.Start] {
			t.Errorf("candle %s: complete=%v repaired=%v; trades missed in it: %v", c.Start.Format("15:04"), c.Complete, c.Repaired, hadGap[c.Start])
		}
	}
	if len(hadGap) == 0 {
		t.Fatal("no candle had a gap: the test proves nothing")
	}
}

func closeTo(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// checkSameFeatures: the feature rows of the repaired run equal those of
// the run without faults. Features of volume sums (volume z-score, VWAP
// deviation, imbalance) may differ in the last bits, as the sums were added
// in another order: 1e-9 relative; every other value is bit-identical.
func checkSameFeatures(t *testing.T, cleanDir, repairedDir string) {
	t.Helper()
	want, err := parquet.ReadFeatures(cleanDir, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquet.ReadFeatures(repairedDir, "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 60 || len(want) != 60 {
		t.Fatalf("%d feature rows, %d without faults; want 60", len(got), len(want))
	}
	inexact := 0
	for i := range got {
		g, w := got[i], want[i]
		if !g.TS.Equal(w.TS) || g.Warm != w.Warm || g.Close != w.Close || g.SchemaVersion != w.SchemaVersion {
			t.Fatalf("row %d: %v warm=%v close=%v, want %v warm=%v close=%v", i, g.TS, g.Warm, g.Close, w.TS, w.Warm, w.Close)
		}
		for f := range g.Values {
			x, y := g.Values[f], w.Values[f]
			switch {
			case x == y || (math.IsNaN(x) && math.IsNaN(y)):
			case volumeFeature(f) && math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)):
				inexact++
			default:
				t.Errorf("row %d (%s) %s = %v, without faults %v", i, g.TS.Format("15:04"), market.FeatureNames[f], x, y)
			}
		}
	}
	t.Logf("feature values equal to the fault-free run; %d volume-sum values within 1e-9, not bit-identical", inexact)
}

func volumeFeature(f int) bool {
	switch f {
	case market.FVolumeZ20, market.FVWAPDev20, market.FImbalance, market.FImbalance5:
		return true
	}
	return false
}

// TestKrakenInputRepairsGap drives the input's repair directly with a gap
// event, as the client emits it when trade ids jump without a disconnect
// (the fake has no fault for that), against the fake's REST API serving the
// real trade file, with every other REST request failing.
func TestKrakenInputRepairsGap(t *testing.T) {
	trades := loadFileTrades(t)
	srv, err := fakekraken.New(fakekraken.Config{
		Trades: map[string][]market.Trade{"BTC/USD": trades},
		REST:   fakekraken.RESTFaults{FailEvery: 2, FailWith: "EService:Unavailable"},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler()) // REST only: the whole history is served
	defer hs.Close()
	in := newTestInput(t, hs.URL, 3, "")
	// The fake counts requests across the cases: requests 2, 4, 6... fail
	// and the REST client retries them.
	tests := []struct {
		name     string
		gap      kraken.Gap
		wantIDs  [2]int64 // repaired ids, inclusive; {0, -1}: none
		requests int64    // served by the fake for the gap
	}{
		{"a gap inside the history", gapOf(trades, 1001, 1070), [2]int64{1001, 1070}, 1},
		{"a gap of one trade, after a failed request", gapOf(trades, 2000, 2000), [2]int64{2000, 2000}, 2},
		{"ids REST does not have: 3 attempts, then the gap stays", gapBeyond(trades, 5000, 5010), [2]int64{0, -1}, 3 * 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.RESTStats().Requests
			batch := in.eventBatch(kraken.Event{Kind: kraken.EventGap, Gap: tt.gap})
			if len(batch) != 1 || kindOf(batch[0]) != KindGap {
				t.Fatalf("the gap event gave %d messages, want the gap message", len(batch))
			}
			if in.repairs != 0 {
				t.Fatal("repair queued before the trades after the gap went out")
			}
			next := trades[min(tt.gap.ToID, int64(len(trades))-1)] // the trade that revealed the gap
			in.eventBatch(kraken.Event{Kind: kraken.EventTrades, Trades: []market.Trade{next}})
			got := drainRepairs(t, in)
			checkRepairTrades(t, got, trades, tt.wantIDs)
			if n := srv.RESTStats().Requests - before; n != tt.requests {
				t.Errorf("%d REST requests, want %d", n, tt.requests)
			}
		})
	}
}

// TestKrakenInputRepairsGapWithCorruptRows: REST serves corrupt copies of
// two trades of a gap, as the exchange serves its hostile trades on both
// APIs (a negative price inside it, a zero price as its last id). The
// other trades of the gap are repaired, each corrupt row goes to the dead
// letters once with its error, and the gap is repaired (every id accounted
// for) at the first request. REST Trades used to fail the whole page on one
// bad row, so every attempt failed and the gap's good trades were lost.
func TestKrakenInputRepairsGapWithCorruptRows(t *testing.T) {
	trades := loadFileTrades(t)
	srv, err := fakekraken.New(fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades},
		Faults: fakekraken.Faults{Hostile: []fakekraken.HostileTrade{{At: 1019, Kind: fakekraken.HostileNegative}, {At: 1069, Kind: fakekraken.HostileZeroPrice}}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	in := newTestInput(t, hs.URL, 3, "")
	in.eventBatch(kraken.Event{Kind: kraken.EventGap, Gap: gapOf(trades, 1001, 1070)})
	in.eventBatch(kraken.Event{Kind: kraken.EventTrades, Trades: []market.Trade{trades[1070]}})
	var ids []int64
	var rejected []string
	var gaps []GapRecord
	for _, m := range drainRepairs(t, in) {
		switch kindOf(m) {
		case KindTrade:
			tr, err := decode(m, wire.DecodeTrade)
			if err != nil || m.GetError() != nil {
				t.Fatalf("repaired trade: %v %v", err, m.GetError())
			}
			ids = append(ids, tr.TradeID)
		case KindRejectedTrade:
			b, _ := m.AsBytes()
			repair, _ := m.MetaGet(MetaRepair)
			if m.GetError() == nil || repair != "true" {
				t.Errorf("dead letter %s: error %v, %s=%q", b, m.GetError(), MetaRepair, repair)
			}
			rejected = append(rejected, string(b))
		case KindGap:
			g, err := decodeGap(m)
			if err != nil {
				t.Fatal(err)
			}
			gaps = append(gaps, g)
		}
	}
	if len(ids) != 68 || ids[0] != 1001 || ids[67] != 1069 || slices.Contains(ids, 1020) {
		t.Errorf("repaired %d trades %v..., want 1001..1069 less 1020", len(ids), ids[:min(len(ids), 5)])
	}
	if len(rejected) != 2 || !strings.HasSuffix(rejected[0], ",1020]") || !strings.HasSuffix(rejected[1], ",1070]") {
		t.Errorf("dead letters %q, want the rows of 1020 and 1070 as served", rejected)
	}
	if len(gaps) != 1 || gaps[0].State != GapRepaired {
		t.Errorf("gap records %+v, want the gap repaired", gaps)
	}
	if n := srv.RESTStats().Requests; n != 1 {
		t.Errorf("%d REST requests, want 1", n)
	}
}

// TestKrakenInputWaitsForRepairsAtStop: a replay that reaches stop_at with
// a repair in flight emits the repaired trades before its final flush tick.
func TestKrakenInputWaitsForRepairsAtStop(t *testing.T) {
	trades := loadFileTrades(t)
	srv, err := fakekraken.New(fakekraken.Config{Trades: map[string][]market.Trade{"BTC/USD": trades}})
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-gate // REST answers only when the test says so
		srv.Handler().ServeHTTP(w, r)
	}))
	defer hs.Close()
	last := trades[len(trades)-1]
	in := newTestInput(t, hs.URL, 3, fmt.Sprintf("stop_at: %q\n", last.TS.Format(time.RFC3339Nano)))

	in.eventBatch(kraken.Event{Kind: kraken.EventGap, Gap: gapOf(trades, 2601, 2671)})
	batch := in.eventBatch(kraken.Event{Kind: kraken.EventTrades, Trades: []market.Trade{last}})
	if len(batch) != 1 || !in.stopping || in.stopped {
		t.Fatalf("stop_at reached with a repair in flight: %d messages, stopping=%v stopped=%v; want the trade alone", len(batch), in.stopping, in.stopped)
	}
	ctx := context.Background()
	type read struct {
		batch service.MessageBatch
		err   error
	}
	got := make(chan read, 1)
	go func() { b, _, err := in.ReadBatch(ctx); got <- read{b, err} }()
	select {
	case r := <-got:
		t.Fatalf("ReadBatch returned %d messages (%v) before the repair", len(r.batch), r.err)
	case <-time.After(200 * time.Millisecond):
	}
	close(gate)
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	checkRepairTrades(t, r.batch, trades, [2]int64{2601, 2671})
	b, _, err := in.ReadBatch(ctx)
	if err != nil || len(b) != 1 || kindOf(b[0]) != KindTick {
		t.Fatalf("after the repair: %d messages, %v; want the flush tick", len(b), err)
	}
	if _, flush, _ := tickOf(b[0]); !flush {
		t.Error("the last tick does not flush")
	}
	if _, _, err := in.ReadBatch(ctx); !errors.Is(err, service.ErrEndOfInput) {
		t.Errorf("after the flush: %v, want end of input", err)
	}
}

func loadFileTrades(t *testing.T) []market.Trade {
	t.Helper()
	f, err := os.Open(realdata.Path(t, realdata.KrakenTrades1h))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	trades, err := fakekraken.LoadTradesCSV(f, "BTC/USD", 1)
	if err != nil {
		t.Fatal(err)
	}
	return trades
}

// gapOf is the gap the client reports when ids from..to of trades are missed.
func gapOf(trades []market.Trade, from, to int64) kraken.Gap {
	return kraken.Gap{Pair: "BTC/USD", FromID: from, ToID: to, FromTS: trades[from-2].TS, ToTS: trades[to].TS}
}

// gapBeyond is a gap of ids after the history's last trade.
func gapBeyond(trades []market.Trade, from, to int64) kraken.Gap {
	last := trades[len(trades)-1]
	return kraken.Gap{Pair: "BTC/USD", FromID: from, ToID: to, FromTS: last.TS, ToTS: last.TS.Add(time.Minute)}
}

// newTestInput builds a kraken_trades input from YAML with repair from
// restURL and starts its repairer, as Connect does, without a WebSocket.
func newTestInput(t *testing.T, restURL string, attempts int, extraYAML string) *krakenInput {
	t.Helper()
	// clock_speed 0: the test's trades jump ahead without the wall clock moving.
	yaml := fmt.Sprintf("pairs: [BTC/USD]\nclock_speed: 0\nrest_url: %q\nrest_rate: -1\nrepair_attempts: %d\nbackoff_min: 5ms\nbackoff_max: 20ms\n%s", restURL, attempts, extraYAML)
	conf, err := krakenTradesInputSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	bi, err := newKrakenTradesInput(slog.New(slog.DiscardHandler))(conf, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	in := bi.(*krakenInput)
	ctx, cancel := context.WithCancel(context.Background())
	in.jobs, in.repaired = make(chan *repairJob, maxQueuedGaps), make(chan repairResult)
	done := make(chan struct{})
	go func() { in.repair.run(ctx, in.jobs, in.repaired); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return in
}

// drainRepairs reads the repair results until none is in flight, as
// ReadBatch does.
func drainRepairs(t *testing.T, in *krakenInput) service.MessageBatch {
	t.Helper()
	var out service.MessageBatch
	timeout := time.After(30 * time.Second)
	for in.repairs > 0 {
		select {
		case res := <-in.repaired:
			out = append(out, in.repairBatch(res)...)
		case <-timeout:
			t.Fatalf("repairs still in flight after 30s")
		}
	}
	return out
}

// checkRepairTrades: the messages are the trades ids[0]..ids[1] of the
// file, each once, in id order, marked as REST repairs.
func checkRepairTrades(t *testing.T, all service.MessageBatch, trades []market.Trade, ids [2]int64) {
	t.Helper()
	var msgs service.MessageBatch
	for _, m := range all {
		if kindOf(m) == KindTrade {
			msgs = append(msgs, m)
		}
	}
	if want := ids[1] - ids[0] + 1; int64(len(msgs)) != want {
		t.Fatalf("%d repaired trades, want %d", len(msgs), want)
	}
	for i, m := range msgs {
		tr, err := decode(m, wire.DecodeTrade)
		if err != nil {
			t.Fatal(err)
		}
		want := trades[ids[0]-1+int64(i)]
		if tr.TradeID != want.TradeID || tr.Price != want.Price || tr.Qty != want.Qty || !tr.TS.Equal(want.TS) {
			t.Errorf("repaired trade %d = %+v, want %+v", i, tr, want)
		}
		if kindOf(m) != KindTrade || tr.Source != market.SourceKrakenREST || tr.Pair != "BTC/USD" {
			t.Errorf("repaired trade %d: kind %q source %q pair %q", tr.TradeID, kindOf(m), tr.Source, tr.Pair)
		}
		if v, _ := m.MetaGet(MetaRepair); v != "true" {
			t.Errorf("repaired trade %d: %s=%q", tr.TradeID, MetaRepair, v)
		}
	}
}

// TestProcessorsApplyRepairs runs the candles and features processors on
// the real trade file in batches of 100 with a tick after each, as an input
// delivers them, minus two outages of 120 trades whose trades come back as
// repairs: the first 500 trades later in a batch of its own (its windows
// closed long ago: corrected candles re-emitted, feature rows recomputed),
// the second inside the batch that resumes the stream (a candle emitted and
// corrected in one batch: replaced in place). Folded by key, latest wins, as
// the store does, the output equals that of the uninterrupted stream.
func TestProcessorsApplyRepairs(t *testing.T) {
	trades := loadFileTrades(t)
	clean := runProcessors(t, tradeBatches(trades, nil))
	outages := []repairPlan{{from: 400, to: 520, delay: 500}, {from: 1500, to: 1620, delay: 0}}
	got := runProcessors(t, tradeBatches(trades, outages))

	if got.emitted[KindCandle] <= 60 {
		t.Errorf("%d candle messages: no closed candle was corrected", got.emitted[KindCandle])
	}
	if got.emitted[KindFeature] <= 60 {
		t.Errorf("%d feature messages: no row was recomputed", got.emitted[KindFeature])
	}
	if len(got.candles) != 60 || len(clean.candles) != 60 {
		t.Fatalf("%d candles, %d without outages; want 60", len(got.candles), len(clean.candles))
	}
	repairedMinutes := map[time.Time]bool{}
	for _, o := range outages {
		for _, tr := range trades[o.from:o.to] {
			repairedMinutes[tr.TS.Truncate(time.Minute)] = true
		}
	}
	for start, w := range clean.candles {
		c := got.candles[start]
		same := c.Open == w.Open && c.High == w.High && c.Low == w.Low && c.Close == w.Close && c.Trades == w.Trades &&
			c.FirstTradeID == w.FirstTradeID && c.LastTradeID == w.LastTradeID &&
			closeTo(c.Volume, w.Volume) && closeTo(c.VWAP, w.VWAP) && closeTo(c.BuyVolume, w.BuyVolume) && closeTo(c.SellVolume, w.SellVolume)
		if !same || !c.Complete || c.Repaired != repairedMinutes[start] {
			t.Errorf("candle %s:\n got %s\nwant %s", start.Format("15:04"), wire.AppendJSON(nil, c), wire.AppendJSON(nil, w))
		}
	}
	for ts, w := range clean.features {
		g, ok := got.features[ts]
		if !ok {
			t.Fatalf("no feature row at %v", ts)
		}
		for f := range g.Values {
			x, y := g.Values[f], w.Values[f]
			if x != y && !(math.IsNaN(x) && math.IsNaN(y)) && !(volumeFeature(f) && math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y))) {
				t.Errorf("row %s %s = %v, without outages %v", ts.Format("15:04"), market.FeatureNames[f], x, y)
			}
		}
	}
	t.Logf("messages with outages: %v; without: %v", got.emitted, clean.emitted)
}

// repairPlan: trades [from, to) are missed and come back as repairs delay
// trades after the stream resumed.
type repairPlan struct{ from, to, delay int }

// tradeBatches cuts trades into the batches an input would emit: 100 trades
// and a tick (the clock at the newest trade), repairs marked as such, and a
// final flush tick.
func tradeBatches(trades []market.Trade, plans []repairPlan) []service.MessageBatch {
	missed := map[int]bool{}
	due := map[int][]market.Trade{} // index of the trade after which repairs come
	for _, p := range plans {
		for i := p.from; i < p.to; i++ {
			missed[i] = true
		}
		due[p.to+p.delay] = trades[p.from:p.to]
	}
	var batches []service.MessageBatch
	var cur service.MessageBatch
	var clock time.Time
	for i, tr := range trades {
		if !missed[i] {
			cur = append(cur, newRecord(KindTrade, tr.Pair, wire.AppendJSON(nil, tr), tr))
			clock = tr.TS
		}
		for _, r := range due[i] {
			r.Source = market.SourceKrakenREST
			m := newRecord(KindTrade, r.Pair, wire.AppendJSON(nil, r), r)
			m.MetaSetMut(MetaRepair, "true")
			cur = append(cur, m)
		}
		if len(cur) >= 100 || i == len(trades)-1 {
			batches = append(batches, append(cur, newTick(clock, false)))
			cur = nil
		}
	}
	return append(batches, service.MessageBatch{newTick(clock, true)})
}

// processed is the processors' output folded by key, latest wins.
type processed struct {
	candles  map[time.Time]market.Candle
	features map[time.Time]market.FeatureRow
	emitted  map[string]int // messages per kind
}

func runProcessors(t *testing.T, batches []service.MessageBatch) processed {
	t.Helper()
	res := service.MockResources()
	cp, err := newCandlesProcessor(mustParse(t, candlesProcessorSpec(), "interval: 1m\ngrace: 2s"), res)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := newFeaturesProcessor(nil, nil)(nil, res)
	if err != nil {
		t.Fatal(err)
	}
	out := processed{candles: map[time.Time]market.Candle{}, features: map[time.Time]market.FeatureRow{}, emitted: map[string]int{}}
	ctx := context.Background()
	for _, b := range batches {
		mid, err := cp.ProcessBatch(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, mb := range mid {
			final, err := fp.ProcessBatch(ctx, mb)
			if err != nil {
				t.Fatal(err)
			}
			for _, fb := range final {
				out.add(t, fb)
			}
		}
	}
	return out
}

// add folds one output batch, checking that no candle appears twice in it.
func (p processed) add(t *testing.T, batch service.MessageBatch) {
	t.Helper()
	inBatch := map[time.Time]bool{}
	for _, m := range batch {
		if err := m.GetError(); err != nil {
			t.Fatalf("flagged message: %v", err)
		}
		kind := kindOf(m)
		p.emitted[kind]++
		switch kind {
		case KindCandle:
			c, err := decode(m, wire.DecodeCandle)
			if err != nil {
				t.Fatal(err)
			}
			if inBatch[c.Start] {
				t.Errorf("candle %v twice in one batch", c.Start)
			}
			inBatch[c.Start] = true
			p.candles[c.Start] = c
		case KindFeature:
			r, err := decode(m, wire.DecodeFeatureRow)
			if err != nil {
				t.Fatal(err)
			}
			p.features[r.TS] = r
		}
	}
}

// TestStoreKeepsCorrectedVersions: a candle and a feature row written again
// with the same key, in the same buffer or after a flush, replace the first
// versions in the store. Hand-written fixture values.
func TestStoreKeepsCorrectedVersions(t *testing.T) {
	dataDir := t.TempDir()
	o, err := storeOutputFromConfig(mustParse(t, storeOutputSpec(), fmt.Sprintf("data_dir: %q\nflush_interval: 1h", dataDir)), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := o.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
	candle := func(start time.Time, close float64, complete, repaired bool) *service.Message {
		c := market.Candle{Pair: "BTC/USD", Start: start, End: start.Add(time.Minute), Open: 100, High: max(100, close), Low: min(100, close),
			Close: close, VWAP: close, Volume: 1, Trades: 1, Complete: complete, Repaired: repaired}
		return newRecord(KindCandle, c.Pair, wire.AppendJSON(nil, c), c)
	}
	row := func(ts time.Time, close float64) *service.Message {
		r := market.FeatureRow{Pair: "BTC/USD", TS: ts, SchemaVersion: market.FeatureSchemaVersion, Close: close}
		return newRecord(KindFeature, r.Pair, wire.AppendJSON(nil, r), r)
	}
	next := start.Add(time.Minute)
	writes := []service.MessageBatch{
		{candle(start, 101, false, false), row(next, 101), candle(next, 102, false, false)},
		{candle(next, 103, true, true)}, // corrected in the same buffer
	}
	for _, b := range writes {
		if err := o.WriteBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.store.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Corrected after the first versions reached the file.
	if err := o.WriteBatch(ctx, service.MessageBatch{candle(start, 99, true, true), row(next, 99)}); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cs, err := parquet.ReadCandles(datadir.Parquet(dataDir), "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Close != 99 || cs[1].Close != 103 || !cs[0].Repaired || !cs[1].Complete {
		t.Errorf("candles %+v, want the corrected versions (close 99 and 103, complete, repaired)", cs)
	}
	rs, err := parquet.ReadFeatures(datadir.Parquet(dataDir), "BTC/USD", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Close != 99 {
		t.Errorf("feature rows %+v, want one with close 99", rs)
	}
}
