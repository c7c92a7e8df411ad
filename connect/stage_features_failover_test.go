package connect

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/kafkatest"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

const featuresGroup = "tickcast-features"

// TestStageFeaturesFailover: two real pairs (trades reconstructed from the
// real Binance BTCUSDT and ETHUSDT minute klines of 2025-05-20 00:00–02:00)
// through stage-candles and two stage-features replicas on a real broker.
// With 2 partitions BTC/USDT lands on partition 0 and ETH/USDT on 1, so
// each replica owns one pair. One replica stops mid-stream; its pair moves
// to the survivor and its rows go on. At the end the store's candles and
// feature rows of both pairs equal live.yaml's over the same trades, the
// moved pair's fence holds a newer generation, and a write under the
// stopped replica's generation is refused and counted.
func TestStageFeaturesFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: Kafka broker + candles stage + two features replicas + live.yaml")
	}
	pairs := []string{"BTC/USDT", "ETH/USDT"}
	byPair := binanceTrades(t, pairs, 2*time.Hour)
	liveDir := runLiveMulti(t, byPair)

	seeds := kafkatest.Start(t)
	brokers := strings.Join(seeds, ",")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ApplyKafkaTopics(ctx, seeds, 2, 1); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	recs := pairRecords(byPair, pairs)

	dir := t.TempDir()
	root := datadir.Parquet(dir)
	vars := stageVars(brokers, dir)
	startStage(t, "pipelines/stage-candles.yaml", vars)
	stopA := startStage(t, "pipelines/stage-features.yaml", vars)
	memberA := waitGroupMember(t, adm, featuresGroup, nil)
	startStage(t, "pipelines/stage-features.yaml", vars)
	memberB := waitGroupMember(t, adm, featuresGroup, []string{memberA})
	owned := waitGroupAssignment(t, adm, featuresGroup, 2, 2)
	moved := pairsIn(pairs, owned[memberA], 2)
	if len(moved) != 1 || len(owned[memberB]) != 1 {
		t.Fatalf("assignment %v (A %s, B %s): want one pair per replica", owned, memberA, memberB)
	}
	t.Logf("replica A (%s) holds %v; B (%s) holds partition %v", memberA, moved, memberB, owned[memberB])

	want := map[string][]string{}
	for _, p := range pairs {
		want[p] = readPairJSON(t, liveDir, "features", p)
	}
	half := len(recs) / 2
	produceRaw(t, brokers, recs[:half]...)
	mid := recordTime(recs[half-1]).Add(-5 * time.Minute)
	waitStageFor(t, 60*time.Second, fmt.Sprintf("both pairs' rows up to %v", mid), func() bool {
		for _, p := range pairs {
			rs, err := parquet.ReadFeatures(root, p, time.Time{}, time.Time{})
			if err != nil || len(rs) == 0 || rs[len(rs)-1].TS.Before(mid) {
				return false
			}
		}
		return true
	})
	oldGen := fenceGen(t, root, moved[0])
	if oldGen < 0 {
		t.Fatalf("no fence for %s before the stop", moved[0])
	}
	stopA()
	stopped := time.Now()
	waitGroupAssignment(t, adm, featuresGroup, 1, 2)
	t.Logf("replica A stopped; B holds both partitions after %v", time.Since(stopped).Round(10*time.Millisecond))
	produceRaw(t, brokers, recs[half:]...)
	waitStageFor(t, 60*time.Second, "every pair's rows", func() bool {
		for _, p := range pairs {
			rs, err := parquet.ReadFeatures(root, p, time.Time{}, time.Time{})
			if err != nil || len(rs) < len(want[p]) {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // a later flush would still overwrite: let it land

	for _, p := range pairs {
		for _, ds := range []string{"candles", "features"} {
			got, want := readPairJSON(t, dir, ds, p), readPairJSON(t, liveDir, ds, p)
			if len(want) != 120 || len(got) != len(want) {
				t.Errorf("%s %s: %d rows from the stages, %d from live.yaml; want 120", p, ds, len(got), len(want))
				continue
			}
			diff := 0
			for i := range want {
				if got[i] != want[i] {
					if diff++; diff <= 2 {
						t.Errorf("%s %s row %d:\nstages: %s\nlive:   %s", p, ds, i, got[i], want[i])
					}
				}
			}
			if diff > 0 {
				t.Errorf("%s %s: %d of %d rows differ", p, ds, diff, len(want))
			}
		}
	}

	newGen := fenceGen(t, root, moved[0])
	if newGen <= oldGen {
		t.Fatalf("%s's fence at generation %d after the move, %d before: not advanced", moved[0], newGen, oldGen)
	}
	t.Logf("%s's fence: generation %d → %d", moved[0], oldGen, newGen)

	// A late write of the stopped replica's generation, through the output.
	rows, err := parquet.ReadFeatures(root, moved[0], time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	stale := rows[len(rows)-1]
	stale.Close *= 2
	refused := staleStoreWrite(t, dir, stale, oldGen)
	if refused != 1 {
		t.Errorf("tickcast_store_fenced_rows = %d after a stale generation-%d row, want 1", refused, oldGen)
	}
	after := readPairJSON(t, dir, "features", moved[0])
	if !slices.Equal(after, readPairJSON(t, liveDir, "features", moved[0])) {
		t.Error("the stale write changed the stored rows")
	}
	if g := fenceGen(t, root, moved[0]); g != newGen {
		t.Errorf("fence moved to %d by a stale write, want %d", g, newGen)
	}
}

// TestStageFeaturesKillNine: two stage-features replicas as processes
// (`tickcast connect run`, built from this repository) sharing one data dir,
// the fenced store, on a real broker. The real Binance BTCUSDT and ETHUSDT
// minute klines of 2025-05-20 00:00–08:00 go to `candles` as the candles
// stage writes them, a minute of both pairs every 30 ms; with 2 partitions
// each replica owns one pair. Mid-stream the owner of one pair is killed
// with SIGKILL: its rows not yet flushed or produced die with it, maybe in a
// flush. Once its session expires the survivor takes the pair (rewinding
// its candles) and emits the rows it held for it, the last 2 ×
// FeatureWindow; older ones exist only in the dead replica's files. At the
// end, for every (pair, ts), the store and the features topic (reduced to
// the latest revision) hold the row a features processor gives in process
// over the same candles, and the store every candle; the pair resumed
// within 10 s of the session expiry; its fence moved to the survivor's
// generation; and what a flush cut short by SIGKILL leaves (temporary
// files, planted beside the real kill's, which rarely lands in a flush) is
// never read and is gone after the survivor's writes.
func TestStageFeaturesKillNine(t *testing.T) {
	k := newFeaturesKill(t, 8*time.Hour)
	victim, survivor, moved := k.twoReplicas()
	fed := k.feed(30 * time.Millisecond)
	mid := k.candles[len(k.candles)*45/100].End
	waitStageFor(t, 60*time.Second, fmt.Sprintf("%s's rows up to %v in the store", moved[0], mid), func() bool {
		rs, err := parquet.ReadFeatures(k.root, moved[0], mid, time.Time{})
		return err == nil && len(rs) > 0
	})
	oldGen := fenceGen(t, k.root, moved[0])
	before := k.topic.mark()
	victim.kill()
	killed := time.Now()
	t.Logf("killed replica %s holding %s (member %s) at %v of the stream; survivor %s; %s's temporary files left by the kill: %q",
		victim.name, moved[0], victim.member, k.topic.newest(moved[0]).Format(time.TimeOnly), survivor.name, moved[0], tempFiles(t, k.root, moved[0]))
	checkUnread(t, k.root, plantDeadFlush(t, k.root, moved[0]))
	waitGroupAssignment(t, k.adm, featuresGroup, 1, 2)
	rebalanced := time.Since(killed)
	fed()
	k.waitRows()

	session := defaultSessionTimeout(t)
	first, fresh := k.topic.resumeAfter(killed, moved, before)
	t.Logf("failover of %s: kill → group rebalanced %v, survivor's first row %v, first row past the kill's %v; %v after the session expiry (session %v, goal ≤ 10 s)",
		moved[0], rebalanced.Round(10*time.Millisecond), first.Round(10*time.Millisecond), fresh.Round(10*time.Millisecond),
		(fresh - session).Round(10*time.Millisecond), session)
	if fresh < 0 || fresh > session+10*time.Second {
		t.Errorf("%s resumed %v after the kill, want within 10 s of the session expiry (%v)", moved[0], fresh, session)
	}
	k.check()
	if g := fenceGen(t, k.root, moved[0]); g <= oldGen {
		t.Errorf("%s's fence at generation %d after the kill, %d before: not advanced", moved[0], g, oldGen)
	}
	if left := tempFiles(t, k.root, moved[0]); len(left) > 0 {
		t.Errorf("temporary files of a dead flush left after the survivor's writes: %q", left)
	}
}

// TestStageFeaturesKillNineBacklog: the candles are all in the topic before
// the replicas start (a backlog), the store flushes on the shipped 1-minute
// timer, and the owner of one pair is killed once it has emitted most of
// the pair's rows, before its first timed flush: what it had not written
// is bounded (a pair's rows are written once fencedMaxPairRows wait) and the
// survivor's held rows (heldRows) cover it — nothing is lost. With 240 held
// rows and only the timed flush, the store kept 231 of the pair's 480 rows.
func TestStageFeaturesKillNineBacklog(t *testing.T) {
	k := newFeaturesKill(t, 16*time.Hour)
	k.vars = map[string]string{"TICKCAST_FLUSH_INTERVAL": "20s"}
	victim, survivor, moved := k.twoReplicas()
	k.feed(0)() // the whole backlog at once, then the replicas drain it
	mid := k.candles[len(k.candles)*6/10].End
	for deadline := time.Now().Add(60 * time.Second); k.topic.newest(moved[0]).Before(mid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s's rows never passed %v on the topic", moved[0], mid)
		}
	}
	victim.kill()
	rows, _ := parquet.ReadFeatures(k.root, moved[0], time.Time{}, time.Time{})
	t.Logf("killed %s holding %s, its rows on the topic up to %s, %d in the store; survivor %s",
		victim.name, moved[0], k.topic.newest(moved[0]).Format(time.DateTime), len(rows), survivor.name)
	waitGroupAssignment(t, k.adm, featuresGroup, 1, 2)
	k.waitRows()
	k.check()
}

// featuresKill is TestStageFeaturesKillNine's broker, binary, store,
// candles, reference and features topic.
type featuresKill struct {
	t         *testing.T
	brokers   []string
	bin       string
	dir, root string
	pairs     []string
	candles   []market.Candle                 // every pair's, by start then pair
	want      map[string]map[candleKey]string // by dataset: rows as JSON
	topic     *topicLog[market.FeatureRow]
	vars      map[string]string // the replicas' environment over stageVars
	cl        *kgo.Client
	adm       *kadm.Client
}

func newFeaturesKill(t *testing.T, span time.Duration) *featuresKill {
	t.Helper()
	c := kafkatest.StartCluster(t, 1)
	k := &featuresKill{t: t, brokers: c.Brokers, bin: buildTickcast(t), dir: t.TempDir(), pairs: []string{"BTC/USDT", "ETH/USDT"}}
	k.root = datadir.Parquet(k.dir)
	k.cl, k.adm = stageTopics(t, k.brokers, 2, 1)
	for _, cs := range binancePairCandles(t, k.pairs, span) {
		k.candles = append(k.candles, cs...)
	}
	slices.SortFunc(k.candles, func(a, b market.Candle) int { return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Pair, b.Pair)) })
	k.want = map[string]map[candleKey]string{
		"candles":  keyedJSON(k.candles, func(c market.Candle) candleKey { return candleKey{c.Pair, c.Start.UnixNano()} }),
		"features": featuresReference(t, k.candles),
	}
	k.topic = consumeFeatures(t, k.brokers)
	return k
}

// twoReplicas starts replicas a and b, waits until each holds one pair's
// partition and names the victim (the one holding a pair), the survivor and
// the victim's pair.
func (k *featuresKill) twoReplicas() (victim, survivor *replica, moved []string) {
	t := k.t
	t.Helper()
	a := k.replica("a")
	a.member = waitGroupMember(t, k.adm, featuresGroup, nil)
	b := k.replica("b")
	b.member = waitGroupMember(t, k.adm, featuresGroup, []string{a.member})
	owned := waitGroupAssignment(t, k.adm, featuresGroup, 2, 2)
	victim, survivor = a, b
	if len(pairsIn(k.pairs, owned[a.member], 2)) == 0 {
		victim, survivor = b, a
	}
	moved = pairsIn(k.pairs, owned[victim.member], 2)
	if len(moved) != 1 || len(pairsIn(k.pairs, owned[survivor.member], 2)) != 1 {
		t.Fatalf("assignment %v: want one pair per replica", owned)
	}
	return victim, survivor, moved
}

func (k *featuresKill) replica(name string) *replica {
	vars := stageVars(strings.Join(k.brokers, ","), k.dir)
	maps.Copy(vars, k.vars)
	return startReplica(k.t, k.bin, name, "stage-features.yaml", vars)
}

// feed writes the candles to `candles` as the candles stage does (keyed by
// pair, with tickcast_kind and tickcast_pair headers), a minute of every
// pair every pace, in the background; fed waits for the last.
func (k *featuresKill) feed(pace time.Duration) (fed func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < len(k.candles) && ctx.Err() == nil; {
			var recs []*kgo.Record
			for start := k.candles[i].Start; i < len(k.candles) && k.candles[i].Start.Equal(start); i++ {
				c := k.candles[i]
				recs = append(recs, &kgo.Record{Topic: "candles", Key: []byte(c.Pair), Value: wire.AppendJSON(nil, c),
					Headers: []kgo.RecordHeader{{Key: MetaKind, Value: []byte(KindCandle)}, {Key: MetaPair, Value: []byte(c.Pair)}}})
			}
			if err := k.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil && ctx.Err() == nil {
				k.t.Errorf("produce candles: %v", err)
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(pace):
			}
		}
	}()
	k.t.Cleanup(func() { cancel(); <-done })
	return func() { <-done }
}

// stored is the store's rows of a dataset (candles, features), as JSON.
func (k *featuresKill) stored(dataset string) (map[candleKey]string, error) {
	if dataset == "candles" {
		cs, err := parquet.ReadCandles(k.root, "", time.Time{}, time.Time{})
		return keyedJSON(cs, func(c market.Candle) candleKey { return candleKey{c.Pair, c.Start.UnixNano()} }), err
	}
	rs, err := parquet.ReadFeatures(k.root, "", time.Time{}, time.Time{})
	return keyedJSON(rs, rowKey), err
}

// waitRows waits until the store and the topic hold a row at every (pair,
// ts) of the reference, then a little more: a later flush would still
// overwrite.
func (k *featuresKill) waitRows() {
	k.t.Helper()
	n, nc := len(k.want["features"]), len(k.want["candles"])
	// Up to a flush interval more (1 m in the backlog test): candles that come
	// without new rows wait for the timer.
	waitStageFor(k.t, 90*time.Second, fmt.Sprintf("%d rows in the store and the features topic, %d candles in the store", n, nc), func() bool {
		latest, _, _ := k.topic.reduce()
		rows, err := k.stored("features")
		cs, cerr := k.stored("candles")
		return len(latest) >= n && err == nil && len(rows) >= n && cerr == nil && len(cs) >= nc
	})
	time.Sleep(time.Second)
}

// check: the store's candles and rows, and the topic's rows at their latest
// revision, are the reference's; a (pair, ts, revision) never comes twice
// with two contents.
func (k *featuresKill) check() {
	k.t.Helper()
	for _, ds := range []string{"candles", "features"} {
		got, err := k.stored(ds)
		if err != nil {
			k.t.Fatal(err)
		}
		diffRows(k.t, "store "+ds, k.want[ds], got)
	}
	latest, dups, conflicts := k.topic.reduce()
	for _, c := range conflicts {
		k.t.Errorf("double counted: %s", c)
	}
	got := map[candleKey]string{}
	for key, r := range latest {
		got[key] = r.body
	}
	diffRows(k.t, "features topic", k.want["features"], got)
	k.t.Logf("features topic: %d duplicates (the same pair, ts and revision again)", dups)
}

func rowKey(r market.FeatureRow) candleKey { return candleKey{r.Pair, r.TS.UnixNano()} }

// keyedJSON is rows as JSON by key; a later row replaces an earlier one.
func keyedJSON[R wire.Record](rows []R, key func(R) candleKey) map[candleKey]string {
	out := make(map[candleKey]string, len(rows))
	for _, r := range rows {
		out[key(r)] = string(wire.AppendJSON(nil, r))
	}
	return out
}

// featuresReference runs a features processor (every pair its own) in
// process over the candles, in order, and keeps the latest revision of
// each (pair, ts), as JSON.
func featuresReference(t *testing.T, candles []market.Candle) map[candleKey]string {
	t.Helper()
	p, err := newFeaturesProcessor(nil, nil)(nil, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	var batch service.MessageBatch
	for _, c := range candles {
		batch = append(batch, newRecord(KindCandle, c.Pair, wire.AppendJSON(nil, c), c))
	}
	out, err := p.ProcessBatch(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	latest := map[candleKey]market.FeatureRow{}
	for _, m := range out[0] {
		if err := m.GetError(); err != nil {
			t.Fatalf("reference: %v", err)
		}
		if kindOf(m) != KindFeature {
			continue
		}
		r, err := decode(m, wire.DecodeFeatureRow)
		if err != nil {
			t.Fatal(err)
		}
		if old, ok := latest[rowKey(r)]; !ok || r.Revision >= old.Revision {
			latest[rowKey(r)] = r
		}
	}
	return keyedJSON(slices.Collect(maps.Values(latest)), rowKey)
}

// diffRows compares rows (as JSON) by pair and time: none lost, wrong or
// extra; it names the first few that are.
func diffRows(t *testing.T, what string, want, got map[candleKey]string) {
	t.Helper()
	at := func(k candleKey) string { return k.pair + " " + time.Unix(0, k.start).UTC().Format(time.DateTime) }
	keys := slices.SortedFunc(maps.Keys(want), func(a, b candleKey) int { return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.pair, b.pair)) })
	lost, wrong, extra := 0, 0, 0
	for _, k := range keys {
		g, ok := got[k]
		switch {
		case !ok:
			if lost++; lost <= 3 {
				t.Errorf("%s: lost %s", what, at(k))
			}
		case g != want[k]:
			if wrong++; wrong <= 3 {
				t.Errorf("%s: %s:\n got %s\nwant %s", what, at(k), g, want[k])
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			if extra++; extra <= 3 {
				t.Errorf("%s: extra %s", what, at(k))
			}
		}
	}
	t.Logf("%s: %d rows, reference %d; lost %d, wrong %d, extra %d", what, len(got), len(want), lost, wrong, extra)
}

// defaultSessionTimeout is the tickcast_kafka input's, which the stages keep.
func defaultSessionTimeout(t *testing.T) time.Duration {
	t.Helper()
	conf, err := kafkaInputSpec().ParseYAML(`{ seed_brokers: [ "x" ], topics: [ candles ], consumer_group: g }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := conf.FieldDuration(kiFieldSessionTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// plantDeadFlush leaves what a replica killed in a flush of pair leaves: a
// flush writes each file (the newest day's candles and rows, the fence) to a
// temporary file beside it and renames it over; cut short, half of it under
// the temporary name. It returns their paths.
func plantDeadFlush(t *testing.T, root, pair string) []string {
	t.Helper()
	var paths []string
	for _, d := range []parquet.Dataset{parquet.DatasetCandles, parquet.DatasetFeatures} {
		parts, err := parquet.Partitions(root, d, pair, time.Time{}, time.Time{})
		if err != nil || len(parts) == 0 {
			t.Fatalf("%s of %s: %d files, %v", d, pair, len(parts), err)
		}
		paths = append(paths, parts[len(parts)-1].Path)
	}
	paths = append(paths, filepath.Join(root, fenceDirName, market.PairSlug(pair)+".json"))
	for i, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		paths[i] = p + ".tmp-sigkill"
		if err := os.WriteFile(paths[i], body[:len(body)/2], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// checkUnread: the store's readers (by partition, and listing its Parquet
// files as the DuckDB views do) read none of the leftovers and find
// nothing corrupt.
func checkUnread(t *testing.T, root string, leftovers []string) {
	t.Helper()
	bad, files, err := parquet.Check(context.Background(), root)
	if err != nil || len(bad) > 0 {
		t.Errorf("store check beside a dead flush's files: %d files read, corrupt %v, %v", files, bad, err)
	}
	listed, err := parquet.Files(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range listed {
		if slices.Contains(leftovers, p) {
			t.Errorf("the store's Parquet files include a dead flush's %s", p)
		}
	}
}

// tempFiles lists the temporary files of pair's unfinished writes (its
// Parquet files' and its fence's) under root.
func tempFiles(t *testing.T, root, pair string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") && strings.Contains(p, market.PairSlug(pair)) {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// binanceTrades: trades reconstructed from the first span of the real
// Binance minute klines of each pair (BTC/USDT, ETH/USDT), over the same time.
func binanceTrades(t *testing.T, pairs []string, span time.Duration) map[string][]market.Trade {
	t.Helper()
	out := map[string][]market.Trade{}
	for p, cs := range binancePairCandles(t, pairs, span) {
		out[p] = fakekraken.ReconstructTrades(cs, 1)
	}
	return out
}

// binancePairCandles: the first span of the real Binance minute klines of each
// pair (BTC/USDT, ETH/USDT), over the same time.
func binancePairCandles(t *testing.T, pairs []string, span time.Duration) map[string][]market.Candle {
	t.Helper()
	files := map[string]string{"BTC/USDT": realdata.BinanceBTC90d, "ETH/USDT": realdata.BinanceETH90d}
	out := map[string][]market.Candle{}
	var from time.Time
	for _, p := range pairs {
		cs, _, err := archive.ReadCandles(realdata.Path(t, files[p]), archive.BinanceKlines, p)
		if err != nil {
			t.Fatal(err)
		}
		if from.IsZero() {
			from = cs[0].Start
		}
		out[p] = slices.DeleteFunc(cs, func(c market.Candle) bool { return c.Start.Before(from) || !c.Start.Before(from.Add(span)) })
	}
	return out
}

// pairRecords: every pair's trades in event-time order as the ingest stage
// writes them to `trades` (keyed by pair), a tick to each pair's partition
// every 5 s of exchange time, and a final flush tick per pair.
func pairRecords(byPair map[string][]market.Trade, pairs []string) []*kgo.Record {
	var trades []market.Trade
	for _, p := range pairs {
		trades = append(trades, byPair[p]...)
	}
	slices.SortStableFunc(trades, func(a, b market.Trade) int { return a.TS.Compare(b.TS) })
	return tradeRecords(pairs, trades, trades[0].TS.Truncate(5*time.Second), 0, true)
}

func fenceGen(t *testing.T, root, pair string) int64 {
	t.Helper()
	g, err := readFence(filepath.Join(root, fenceDirName, market.PairSlug(pair)+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// staleStoreWrite writes row tagged with generation gen through a fenced
// tickcast_store output over dataDir and returns tickcast_store_fenced_rows.
func staleStoreWrite(t *testing.T, dataDir string, row market.FeatureRow, gen int64) int64 {
	t.Helper()
	env, err := NewEnvironment(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &counterRec{n: map[string]int64{}}
	if err := env.RegisterMetricsExporter("fence_rec", service.NewConfigSpec(),
		func(*service.ParsedConfig, *service.Logger) (service.MetricsExporter, error) { return rec, nil }); err != nil {
		t.Fatal(err)
	}
	b := env.NewStreamBuilder()
	push, err := b.AddProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML(fmt.Sprintf(`tickcast_store: { data_dir: %q, datasets: [ features ], flush_interval: 100ms, fence: true }`, dataDir)); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMetricsYAML(`fence_rec: {}`); err != nil {
		t.Fatal(err)
	}
	if err := b.SetLoggerYAML(`level: warn`); err != nil {
		t.Fatal(err)
	}
	stop := runTestStream(t, b)
	m := service.NewMessage(wire.AppendJSON(nil, row))
	m.MetaSetMut(MetaKind, KindFeature)
	m.MetaSetMut(MetaPair, row.Pair)
	m.MetaSetMut(MetaKafkaGeneration, gen)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := push(ctx, m); err != nil {
		t.Fatal(err)
	}
	stop() // closes the output: its buffer is flushed under the fence
	return rec.get("tickcast_store_fenced_rows")
}

// counterRec is a metrics exporter that keeps the counters' totals.
type counterRec struct {
	mu sync.Mutex
	n  map[string]int64
}

type recCounter struct {
	r    *counterRec
	name string
}

func (c recCounter) Incr(d int64) { c.r.mu.Lock(); c.r.n[c.name] += d; c.r.mu.Unlock() }

type recNop struct{}

func (recNop) Set(int64)    {}
func (recNop) Timing(int64) {}

func (r *counterRec) get(name string) int64 { r.mu.Lock(); defer r.mu.Unlock(); return r.n[name] }

func (r *counterRec) NewCounterCtor(name string, _ ...string) service.MetricsExporterCounterCtor {
	return func(...string) service.MetricsExporterCounter { return recCounter{r, name} }
}

func (r *counterRec) NewTimerCtor(string, ...string) service.MetricsExporterTimerCtor {
	return func(...string) service.MetricsExporterTimer { return recNop{} }
}

func (r *counterRec) NewGaugeCtor(string, ...string) service.MetricsExporterGaugeCtor {
	return func(...string) service.MetricsExporterGauge { return recNop{} }
}

func (r *counterRec) Close(context.Context) error { return nil }
