package connect

import (
	"context"
	"fmt"
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
	memberA := waitGroupMember(t, adm, nil)
	startStage(t, "pipelines/stage-features.yaml", vars)
	memberB := waitGroupMember(t, adm, []string{memberA})
	owned := waitGroupAssignment(t, adm, 2, 2)
	part := func(p string) int32 {
		return int32(kgo.StickyKeyPartitioner(nil).ForTopic("candles").Partition(&kgo.Record{Key: []byte(p)}, 2))
	}
	var moved []string
	for _, p := range pairs {
		if slices.Contains(owned[memberA], part(p)) {
			moved = append(moved, p)
		}
	}
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
	waitGroupAssignment(t, adm, 1, 2)
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

// binanceTrades: trades reconstructed from the first span of the real
// Binance minute klines of each pair (BTC/USDT, ETH/USDT), over the same time.
func binanceTrades(t *testing.T, pairs []string, span time.Duration) map[string][]market.Trade {
	t.Helper()
	files := map[string]string{"BTC/USDT": realdata.BinanceBTC90d, "ETH/USDT": realdata.BinanceETH90d}
	out := map[string][]market.Trade{}
	var from time.Time
	for _, p := range pairs {
		cs, _, err := archive.ReadCandles(realdata.Path(t, files[p]), archive.BinanceKlines, p)
		if err != nil {
			t.Fatal(err)
		}
		if from.IsZero() {
			from = cs[0].Start
		}
		cs = slices.DeleteFunc(cs, func(c market.Candle) bool { return c.Start.Before(from) || !c.Start.Before(from.Add(span)) })
		out[p] = fakekraken.ReconstructTrades(cs, 1)
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
	var recs []*kgo.Record
	tick := func(ts time.Time, flush bool) {
		for _, p := range pairs {
			hs := []kgo.RecordHeader{{Key: MetaKind, Value: []byte(KindTick)}, {Key: MetaPair, Value: []byte(p)},
				{Key: MetaTS, Value: []byte(ts.Format(time.RFC3339Nano))}}
			if flush {
				hs = append(hs, kgo.RecordHeader{Key: MetaFlush, Value: []byte("true")})
			}
			recs = append(recs, &kgo.Record{Topic: "trades", Key: []byte(p), Value: []byte{}, Headers: hs})
		}
	}
	next := trades[0].TS.Truncate(5 * time.Second)
	for _, tr := range trades {
		for ; !next.After(tr.TS); next = next.Add(5 * time.Second) {
			tick(next, false)
		}
		recs = append(recs, &kgo.Record{Topic: "trades", Key: []byte(tr.Pair), Value: wire.AppendJSON(nil, tr),
			Headers: []kgo.RecordHeader{{Key: MetaKind, Value: []byte(KindTrade)}, {Key: MetaPair, Value: []byte(tr.Pair)}}})
	}
	tick(next, true)
	return recs
}

func fenceGen(t *testing.T, root, pair string) int64 {
	t.Helper()
	g, err := readFence(filepath.Join(root, fenceDirName, market.PairSlug(pair)+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func groupMembers(adm *kadm.Client) map[string][]int32 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs, err := adm.DescribeGroups(ctx, featuresGroup)
	if err != nil || gs[featuresGroup].State != "Stable" {
		return nil
	}
	out := map[string][]int32{}
	for _, m := range gs[featuresGroup].Members {
		out[m.MemberID] = nil
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range a.Topics {
				out[m.MemberID] = append(out[m.MemberID], tp.Partitions...)
			}
		}
	}
	return out
}

func waitGroupMember(t *testing.T, adm *kadm.Client, known []string) (id string) {
	t.Helper()
	waitStageFor(t, 60*time.Second, "a new member of "+featuresGroup, func() bool {
		for m := range groupMembers(adm) {
			if !slices.Contains(known, m) {
				id = m
				return true
			}
		}
		return false
	})
	return id
}

func waitGroupAssignment(t *testing.T, adm *kadm.Client, members, partitions int) (owned map[string][]int32) {
	t.Helper()
	waitStageFor(t, 60*time.Second, fmt.Sprintf("%d members of %s holding %d partitions", members, featuresGroup, partitions), func() bool {
		owned = groupMembers(adm)
		n := 0
		for _, ps := range owned {
			n += len(ps)
		}
		return len(owned) == members && n == partitions
	})
	return owned
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
