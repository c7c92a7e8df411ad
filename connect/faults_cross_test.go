package connect

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

// crossPairs are the two real pairs of the cross-pair fault test, as in
// TestBackfillStreamingParityCrossPair.
var crossPairs = []string{"BTC/USDT", "ETH/USDT"}

// crossSpeed is the exchange's and the pipeline's clock speed: 8 hours of
// market in about 40 s. A second of wall time is 12 minutes of market, far
// beyond cross_grace (one candle) and within the correction horizon (120).
const crossSpeed = 720

// crossFault is the cross-pair scenario over byPair's trades (tape index i
// is trade id i+1): the faults of the matrix on both pairs together — drops
// every 150 update trades, two outages of 1.5 s (18 minutes of market: more
// than a snapshot, so REST repairs both pairs), frames before the subscribe
// ack, REST failing every 9th request — and the faults that hit one pair
// while the other flows (fakekraken.PairStall): ETH/USDT's feed starts 2 s
// (24 minutes) late and stalls 3 s (36 minutes) at the 4th hour, those
// trades never sent on the WebSocket (REST repairs them); BTC/USDT's feed
// stalls 2.5 s (30 minutes) at the 6th hour, its trades then coming late in
// a burst; hostile ETH/USDT trades, one of each kind (negative, zero, huge
// and ×1000 prices, timestamps in 2100, a day ahead, a day behind), and a
// negative price among the trades of the lost stretch, which REST serves.
func crossFault(byPair map[string][]market.Trade) liveFault {
	btc, eth := byPair["BTC/USDT"], byPair["ETH/USDT"]
	lost := indexAt(eth, 4*time.Hour) // ETH/USDT's trades from here are repaired from REST
	// A negative price among the lost trades: REST serves it too.
	hostile := []fakekraken.HostileTrade{{Pair: "ETH/USDT", At: lost + 5, Kind: fakekraken.HostileNegative}}
	for _, h := range fakekraken.RandomHostile(20250520, len(fakekraken.HostileKinds()), 300, len(eth)-300) {
		if h.At != lost+5 {
			hostile = append(hostile, fakekraken.HostileTrade{Pair: "ETH/USDT", At: h.At, Kind: h.Kind})
		}
	}
	return liveFault{name: "cross-pair", speed: crossSpeed, faults: fakekraken.Faults{
		DisconnectEvery: 150, Disconnects: 8, OutageEvery: 1500, OutageFor: 1500 * time.Millisecond, Outages: 2,
		TradesBeforeAck: true, Hostile: hostile,
		Stalls: []fakekraken.PairStall{
			{Pair: "ETH/USDT", After: 0, For: 2 * time.Second},
			{Pair: "ETH/USDT", After: lost, For: 3 * time.Second, Lose: true},
			{Pair: "BTC/USDT", After: indexAt(btc, 6*time.Hour), For: 2500 * time.Millisecond},
		}}, rest: fakekraken.RESTFaults{FailEvery: 9}}
}

// indexAt is the tape index of the first trade d after the first one.
func indexAt(trades []market.Trade, d time.Duration) int {
	at := trades[0].TS.Add(d)
	i, _ := slices.BinarySearchFunc(trades, at, func(t market.Trade, ts time.Time) int { return t.TS.Compare(ts) })
	return i
}

// TestFaultMatrixCrossPairs runs two real pairs (8 hours of real Binance
// BTC/USDT and ETH/USDT minutes rebuilt into trades) through one fake
// Kraken and one live.yaml, on one market clock, with the faults of
// crossFault, and checks the cross-pair features after the repairs.
//
// What happens to the cross-pair features, from the code: live.yaml has one
// input and one stream clock, and every clock tick closes the windows of
// every pair the candles processor has seen (market.Aggregator.Advance). So
// while one pair's feed stalls, its windows still close on time as empty
// candles (at the last close; complete, as nothing tells the input that
// the silent pair misses trades) and its placeholder rows reach the
// aligner with the other pair's: the stall itself never makes a row wait
// or go out without xp_*, however long it is. When the trades come (a
// burst of late trades, or the REST repair of the trade_id gap a lost
// stretch leaves), the candles are corrected, market.Features.Correct
// recomputes the rows from the first corrected candle on, and market.Cross
// re-emits the other pair's rows at those times, xp_* recomputed, revision
// higher. cross_grace releases a row without the other pair's in two cases
// here: a feed that starts late (until its first row the pair is unknown to
// the aligner, as live.yaml leaves `pairs` unset: the other pair's rows go
// out without xp_*; the late pair's rows join their released times, kept
// 2 × FeatureWindow candles, and re-emit them filled), and a tick that
// closes two or more candles at once (Advance emits pair by pair, so the
// aligner gets the first pair's rows of those times before the other's,
// and those more than cross_grace ahead go out without xp_*, re-emitted
// filled a few rows later: the same batch). See checkUnfilled.
//
// Asserted: the store reduced to the latest row per (pair, ts) — the store
// keeps the row written last — equals the batch path (import, build, then
// history.CrossFeatures, as the parity test runs it) over the trades less
// the hostile ones (the exchange's only data the door refuses): no row
// lost, none made up (rows after the data's last minute, from the clock
// running past it before the input stops, must be of empty candles and are
// not compared), same warm, complete and close, every value equal (volume
// sums within 1e-9: repairs add them in another order), revisions never
// below the backfill's; the row written last for a (pair, ts) is the
// highest revision emitted for it (what revision-keyed consumers keep); the
// stored trades are those of the batch, each once; every hostile trade is
// dead-lettered; nothing went to late/.
//
// Two defects this found, fixed: REST Trades failed the whole page on one
// corrupt row (the negative price of the lost stretch), so the repair gave
// up and lost the stretch's good trades (kraken.TradesPage.Rejected); and a
// kept candle the clock closed before the trade showing a gap came stayed
// complete though a trade of it was missing, where the batch marks it
// incomplete (market.Aggregator.markGap).
func TestFaultMatrixCrossPairs(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: two real pairs through a fake Kraken with faults at 720x + live.yaml + backfill (about 45 s)")
	}
	const n = 8 * 60
	byPair := map[string][]market.Trade{}
	for i, rel := range []string{realdata.BinanceBTC90d, realdata.BinanceETH90d} {
		byPair[crossPairs[i]] = fakekraken.ReconstructTrades(realfeatures.BinanceKlines(t, rel, crossPairs[i], n).Candles, 1)
	}
	sc := crossFault(byPair)
	start := time.Now()
	r := runCrossFaulty(t, byPair, sc)
	t.Logf("live run %s; fake: %+v; REST: %+v", time.Since(start).Round(time.Second), r.fake, r.rest)
	if r.fake.Stalls != 3 || r.fake.Outages != 2 || r.fake.Drops == 0 {
		t.Errorf("fake %+v: want 3 stalls, 2 outages and drops", r.fake)
	}
	clean, bad := withoutHostile(byPair, sc.faults.Hostile)
	want := backfillMulti(t, clean, 24*time.Hour)
	emitted := readEmitted(t, r.dataDir)
	dir := datadir.Parquet(r.dataDir)
	for _, pair := range crossPairs {
		checkPairTrades(t, dir, pair, clean[pair])
		got, err := parquet.ReadFeatures(dir, pair, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := parquet.ReadFeatures(datadir.Parquet(want), pair, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got = withoutTrailingEmpty(t, dir, pair, got, ref)
		checkCrossRows(t, pair, got, ref)
		checkUnfilled(t, pair, checkEmitted(t, pair, got, ref, emitted[pair]), got[0].TS.Add(time.Hour))
	}
	reasons := deadLettered(t, r.dataDir)
	for id := range bad["ETH/USDT"] {
		if len(reasons[id]) == 0 {
			t.Errorf("hostile ETH/USDT trade %d not dead-lettered", id)
		}
	}
	t.Logf("dead letters: %v", reasons)
	checkLateEmpty(t, r.dataDir)
	t.Logf("gaps: %v", gapStates(t, r.dataDir))
}

// runCrossFaulty streams every pair of byPair through one fake Kraken (one
// market clock, each pair's snapshot its trades up to the common start, as
// `tickcast run` groups replays) and one live.yaml whose feature rows are
// also tapped to emitted/features.jsonl, every version in order.
func runCrossFaulty(t *testing.T, byPair map[string][]market.Trade, sc liveFault) liveResult {
	t.Helper()
	cfg := fakekraken.Config{Sources: map[string]fakekraken.TradeSource{}, SnapshotSizes: commonStart(byPair),
		Speed: sc.speed, Faults: sc.faults, REST: sc.rest}
	var stop time.Time
	for pair, trades := range byPair {
		cfg.Sources[pair] = fakekraken.NewSliceSource(trades)
		if last := trades[len(trades)-1].TS; stop.IsZero() || last.Before(stop) {
			stop = last // the input ends once every pair reached it
		}
	}
	srv, err := fakekraken.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := liveResult{dataDir: t.TempDir(), last: stop}
	vars := map[string]string{
		"TICKCAST_KRAKEN_WS_URL":   url,
		"TICKCAST_KRAKEN_REST_URL": fakekraken.RESTURL(url),
		"TICKCAST_REST_RATE":       "-1",
		"TICKCAST_PAIRS":           strings.Join(crossPairs, ","),
		"TICKCAST_CLOCK_SPEED":     strconv.FormatFloat(sc.speed, 'g', -1, 64),
		"TICKCAST_STOP_AT":         stop.Format(time.RFC3339Nano),
		"TICKCAST_DATA_DIR":        r.dataDir,
		"TICKCAST_BACKOFF_MIN":     "20ms",
		"TICKCAST_FLUSH_INTERVAL":  "1s",
	}
	runPipelineFileFor(t, tapFeatures(t, "pipelines/live.yaml"), vars, 3*time.Minute)
	r.fake, r.rest = srv.Stats(), srv.RESTStats()
	return r
}

// commonStart is each pair's snapshot size: its trades up to the latest of
// the pairs' 50th trades, so that every pair starts at that market time
// (replay.Group.SnapshotSizes).
func commonStart(byPair map[string][]market.Trade) map[string]int {
	var start time.Time
	for _, trades := range byPair {
		if ts := trades[min(fakekraken.DefaultSnapshotSize, len(trades))-1].TS; ts.After(start) {
			start = ts
		}
	}
	sizes := map[string]int{}
	for pair, trades := range byPair {
		sizes[pair] = indexAt(trades, start.Sub(trades[0].TS)+time.Nanosecond)
	}
	return sizes
}

// tapFeatures writes a copy of the pipeline file whose output also appends
// every feature row it gets to DATA_DIR/emitted/features.jsonl (a switch
// case that continues to the others), and returns its path.
func tapFeatures(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	const cases = "  switch:\n    cases:\n"
	const tap = `      - check: '@tickcast_kind == "feature"'
        continue: true
        output:
          file:
            path: '${TICKCAST_DATA_DIR}/emitted/features.jsonl'
            codec: lines
`
	y := string(b)
	if strings.Count(y, cases) != 1 {
		t.Fatalf("%s: no single output switch to tap", file)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(file))
	if err := os.WriteFile(path, []byte(strings.Replace(y, cases, cases+tap, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// emittedRow is a feature row as tapped, with its place among all rows emitted.
type emittedRow struct {
	at  int
	row market.FeatureRow
}

// readEmitted reads the tapped feature rows per pair, in emission order.
func readEmitted(t *testing.T, dataDir string) map[string][]emittedRow {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, "emitted", "features.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]emittedRow{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		row, err := wire.DecodeFeatureRow(sc.Bytes())
		if err != nil {
			t.Fatalf("emitted row %q: %v", sc.Text(), err)
		}
		out[row.Pair] = append(out[row.Pair], emittedRow{i, row})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutHostile returns byPair less the hostile trades, and their ids per pair.
func withoutHostile(byPair map[string][]market.Trade, hostile []fakekraken.HostileTrade) (map[string][]market.Trade, map[string]map[int64]bool) {
	bad := map[string]map[int64]bool{}
	for _, h := range hostile {
		if bad[h.Pair] == nil {
			bad[h.Pair] = map[int64]bool{}
		}
		bad[h.Pair][int64(h.At)+1] = true // ids count from 1
	}
	clean := map[string][]market.Trade{}
	for pair, trades := range byPair {
		clean[pair] = slices.DeleteFunc(slices.Clone(trades), func(tr market.Trade) bool { return bad[pair][tr.TradeID] })
	}
	return clean, bad
}

// checkPairTrades: the store holds every trade of want once, as it is.
func checkPairTrades(t *testing.T, dir, pair string, want []market.Trade) {
	t.Helper()
	stored, err := parquet.ReadTrades(dir, pair, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]market.Trade{}
	for _, tr := range stored {
		if _, dup := byID[tr.TradeID]; dup {
			t.Errorf("%s trade %d stored twice", pair, tr.TradeID)
		}
		byID[tr.TradeID] = tr
	}
	rest := 0
	for _, w := range want {
		g, ok := byID[w.TradeID]
		if !ok || g.Price != w.Price || g.Qty != w.Qty || !g.TS.Equal(w.TS) {
			t.Errorf("%s trade %d: stored %+v (%v), want %+v", pair, w.TradeID, g, ok, w)
		}
		if g.Source == market.SourceKrakenREST {
			rest++
		}
	}
	if len(stored) != len(want) {
		t.Errorf("%s: %d trades stored, want %d", pair, len(stored), len(want))
	}
	t.Logf("%s: %d trades stored, %d of them repaired from REST", pair, len(stored), rest)
}

// withoutTrailingEmpty returns the stored rows up to the batch path's last:
// the stream clock may run past the data's last minute before the input
// stops (every pair must reach stop_at), closing empty windows; their rows
// are dropped here, after checking that they are that.
func withoutTrailingEmpty(t *testing.T, dir, pair string, got, want []market.FeatureRow) []market.FeatureRow {
	t.Helper()
	if len(want) == 0 {
		return got
	}
	end := want[len(want)-1].TS
	i := slices.IndexFunc(got, func(r market.FeatureRow) bool { return r.TS.After(end) })
	if i < 0 {
		return got
	}
	candles, err := parquet.ReadCandles(dir, pair, end, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range candles {
		if c.Trades != 0 {
			t.Errorf("%s: candle %s after the data has %d trades", pair, c.Start.Format("15:04"), c.Trades)
		}
	}
	t.Logf("%s: %d rows after the data's end (the clock ran past it: empty candles) not compared", pair, len(got)-i)
	return got[:i]
}

// checkCrossRows: the stored rows of pair are the batch path's, row for
// row, values equal (volume sums within 1e-9), revisions not lower.
func checkCrossRows(t *testing.T, pair string, got, want []market.FeatureRow) {
	t.Helper()
	if len(got) != len(want) || len(want) < 8*60-1 {
		t.Errorf("%s: %d rows stored, the batch path has %d", pair, len(got), len(want))
	}
	diff, inexact, crossed := 0, 0, 0
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if !g.TS.Equal(w.TS) {
			t.Fatalf("%s row %d at %s, the batch path's at %s: a row lost or made up", pair, i, g.TS, w.TS)
		}
		ok := g.Warm == w.Warm && g.Complete == w.Complete && g.Close == w.Close && g.SchemaVersion == w.SchemaVersion && g.Revision >= w.Revision
		for f := range g.Values {
			x, y := g.Values[f], w.Values[f]
			switch {
			case x == y || (math.IsNaN(x) && math.IsNaN(y)):
			case volumeFeature(f) && math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)):
				inexact++
			default:
				ok = false
			}
		}
		if !math.IsNaN(w.Values[market.FXRet1]) {
			crossed++
		}
		if !ok {
			if diff++; diff <= 5 {
				t.Errorf("%s row %s differs:\nstream:   %s\nbackfill: %s", pair, g.TS.Format("15:04"), wire.AppendJSON(nil, g), wire.AppendJSON(nil, w))
			}
		}
	}
	if diff > 0 {
		t.Errorf("%s: %d of %d stored rows differ from the batch path", pair, diff, len(want))
	}
	t.Logf("%s: %d rows equal to the batch path (%d with xp_ret_1); %d volume-sum values within 1e-9, not bit-identical", pair, len(want)-diff, crossed, inexact)
}

// unfilled is a row first emitted without xp_* where the batch path has
// them, and how many rows (of any pair) were emitted before its filled
// version.
type unfilled struct {
	ts    time.Time
	after int
}

// checkEmitted: for every (pair, ts) the row the store kept was emitted
// last and has the highest revision of the versions emitted; a row first
// emitted without xp_* (the other pair's row was not there) is emitted again
// filled, with a higher revision. It measures the versions: re-emits, those
// that changed only the xp_* (the other pair's row at that time came or
// changed), and returns the rows first emitted without xp_*.
func checkEmitted(t *testing.T, pair string, stored, want []market.FeatureRow, emitted []emittedRow) (late []unfilled) {
	t.Helper()
	byTS := map[time.Time][]emittedRow{}
	for _, e := range emitted {
		byTS[e.row.TS] = append(byTS[e.row.TS], e)
	}
	wantXP := map[time.Time]bool{}
	for _, w := range want {
		wantXP[w.TS] = !math.IsNaN(w.Values[market.FXRet1])
	}
	var reemitted, xpOnly, maxVersions, maxRev int
	for _, s := range stored {
		vs := byTS[s.TS]
		if len(vs) == 0 {
			t.Errorf("%s %s stored, never emitted", pair, s.TS)
			continue
		}
		last := vs[len(vs)-1].row
		top := slices.MaxFunc(vs, func(a, b emittedRow) int { return a.row.Revision - b.row.Revision }).row
		if string(wire.AppendJSON(nil, last)) != string(wire.AppendJSON(nil, s)) || top.Revision != last.Revision {
			t.Errorf("%s %s: stored rev %d, emitted last rev %d, highest rev %d", pair, s.TS.Format("15:04"), s.Revision, last.Revision, top.Revision)
		}
		if len(vs) > 1 {
			reemitted++
		}
		for i := 1; i < len(vs); i++ {
			if sameBase(vs[i-1].row, vs[i].row) && !sameXP(vs[i-1].row, vs[i].row) {
				xpOnly++
			}
		}
		if first := vs[0]; math.IsNaN(first.row.Values[market.FXRet1]) && wantXP[s.TS] {
			i := slices.IndexFunc(vs, func(e emittedRow) bool { return !math.IsNaN(e.row.Values[market.FXRet1]) })
			if i < 0 || vs[i].row.Revision <= first.row.Revision {
				t.Errorf("%s %s: first emitted without xp_* (rev %d), never filled with a higher revision", pair, s.TS.Format("15:04"), first.row.Revision)
				continue
			}
			late = append(late, unfilled{s.TS, vs[i].at - first.at})
		}
		maxVersions, maxRev = max(maxVersions, len(vs)), max(maxRev, s.Revision)
	}
	t.Logf("%s: %d versions emitted for %d rows; %d rows re-emitted (up to %d versions, revision up to %d), %d re-emits changing only xp_*",
		pair, len(emitted), len(stored), reemitted, maxVersions, maxRev, xpOnly)
	if xpOnly == 0 {
		t.Errorf("%s: no row re-emitted for the other pair's row: the scenario proves nothing", pair)
	}
	return late
}

// checkUnfilled checks and logs the rows of pair first emitted without
// xp_* (each was re-emitted filled, checkEmitted). Before the other pair's
// first row the aligner does not know it: BTC/USDT's rows until ETH/USDT's
// late feed starts go out so (at least one, all before early). Later a
// stall never causes it, but a tick that closes two or more candles at
// once does (the stream clock jumping: at 720× a pause of 85 ms, or a
// reconnect): logged and measured, not failed, as how often depends on
// the machine's load.
func checkUnfilled(t *testing.T, pair string, late []unfilled, early time.Time) {
	t.Helper()
	var atStart, mid []unfilled
	for _, u := range late {
		if u.ts.Before(early) {
			atStart = append(atStart, u)
		} else {
			mid = append(mid, u)
		}
	}
	if pair == "BTC/USDT" && len(atStart) == 0 {
		t.Error("BTC/USDT: no row emitted without xp_* before ETH/USDT's late start")
	}
	most := 0
	for _, u := range mid {
		most = max(most, u.after)
	}
	t.Logf("%s: %d rows first emitted without xp_* before the other pair's first row, %d later (filled at most %d rows on)", pair, len(atStart), len(mid), most)
}

func sameBase(a, b market.FeatureRow) bool {
	for f := range a.Values {
		if isCross(f) {
			continue
		}
		if x, y := a.Values[f], b.Values[f]; x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
			return false
		}
	}
	return a.Close == b.Close
}

func sameXP(a, b market.FeatureRow) bool {
	for f := range a.Values {
		if x, y := a.Values[f], b.Values[f]; isCross(f) && x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
			return false
		}
	}
	return true
}

func isCross(f int) bool { return f >= market.FXRet1 && f <= market.FXRVol60 }

// deadLettered reads the dead letters: trade id → reasons, for trades as
// the WebSocket sent them (objects) and REST rows (arrays, the id last).
func deadLettered(t *testing.T, dataDir string) map[int64][]string {
	t.Helper()
	out := map[int64][]string{}
	entries, _ := os.ReadDir(filepath.Join(dataDir, "deadletter"))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dataDir, "deadletter", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var rec struct{ Content, Error string }
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("dead letter %q: %v", line, err)
			}
			var tr struct {
				TradeID int64 `json:"trade_id"`
			}
			var row []json.RawMessage
			if json.Unmarshal([]byte(rec.Content), &row) == nil && len(row) > 0 {
				_ = json.Unmarshal(row[len(row)-1], &tr.TradeID)
			} else {
				_ = json.Unmarshal([]byte(rec.Content), &tr)
			}
			out[tr.TradeID] = append(out[tr.TradeID], rec.Error)
		}
	}
	return out
}

// checkLateEmpty: no trade went to late/ (older than the correction horizon).
func checkLateEmpty(t *testing.T, dataDir string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(dataDir, "late"))
	for _, e := range entries {
		if b, _ := os.ReadFile(filepath.Join(dataDir, "late", e.Name())); len(b) > 0 {
			t.Errorf("late/%s is not empty: %.300s", e.Name(), b)
		}
	}
}

// gapStates counts the gap records per pair, kind and state.
func gapStates(t *testing.T, dataDir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	entries, _ := os.ReadDir(filepath.Join(dataDir, "gaps"))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dataDir, "gaps", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var g GapRecord
			if err := json.Unmarshal([]byte(line), &g); err != nil {
				t.Fatalf("gap %q: %v", line, err)
			}
			out[fmt.Sprintf("%s %s %s", g.Pair, g.Kind, g.State)]++
		}
	}
	return out
}
