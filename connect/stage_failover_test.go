package connect

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/internal/kafkatest"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/wire"
)

// Failover of the candles stage on real Kafka: `tickcast connect run
// pipelines/stage-candles.yaml` processes (built from this repository) over
// two real pairs' trades, written to `trades` as the ingest stage writes them.
// Whatever happens mid-stream, the `candles` topic read to its end and
// reduced to the latest revision per (pair, start) equals the candles
// processor's in one process: none lost, none wrong. Duplicates (the same
// pair, start and revision again: at-least-once, rewinds) are counted.

const failoverGroup = "tickcast-candles"

// TestStageCandlesKillNine: two replicas; the one holding a pair's partition
// is killed with SIGKILL mid-stream; the survivor takes its partitions
// (rewinding) once the group's session of the dead member expires.
func TestStageCandlesKillNine(t *testing.T) {
	h := newFailover(t, kafkatest.StartCluster(t, 1), 1, liveEnd)
	a := h.replica("a")
	a.member = h.waitMember(nil)
	b := h.replica("b")
	b.member = h.waitMember([]string{a.member})
	owned := h.waitAssignment(2)
	victim, survivor := a, b
	if len(h.pairsOf(owned[a.member])) == 0 {
		victim, survivor = b, a
	}
	moved := h.pairsOf(owned[victim.member])
	h.produce(0, 0.4)
	h.waitCandles(0.4)
	before := h.topic.mark()
	victim.kill()
	killed := time.Now()
	h.produce(0.4, 1)
	h.waitEnd()
	resume, fresh := h.topic.resumeAfter(killed, moved, before)
	t.Logf("killed replica %s holding %v (member %s); survivor %s", victim.name, moved, victim.member, survivor.name)
	t.Logf("failover: kill → survivor's first candle of a moved pair %v, first candle past the kill's %v (goal ≤ 10 s)",
		resume.Round(10*time.Millisecond), fresh.Round(10*time.Millisecond))
	h.check()
}

// TestStageCandlesRestart: the only replica stops (SIGTERM: it commits and
// leaves the group) mid-stream and starts again from the committed offsets,
// with the rest of the stream waiting in the topic.
//
// The replay-end case: the restarted replica may read one partition's
// backlog through its flush before the other's first record; the merged
// clock must still wait for the other (it counts a partition with records
// left from its assignment), or that pair's last window is never emitted.
func TestStageCandlesRestart(t *testing.T) {
	for _, end := range []streamEnd{liveEnd, replayEnd} {
		t.Run(map[streamEnd]string{liveEnd: "live", replayEnd: "replay end"}[end], func(t *testing.T) {
			h := newFailover(t, kafkatest.StartCluster(t, 1), 1, end)
			r := h.replica("a")
			r.member = h.waitMember(nil)
			h.produce(0, 0.5)
			h.waitCandles(0.5)
			r.stop()
			h.produce(0.5, 1)
			h.replica("a2")
			h.waitEnd()
			h.check()
		})
	}
}

// TestStageCandlesBrokerKill (make test-distributed): three brokers, topics
// of replication 3 with min.insync.replicas 2; the leader of a pair's
// `trades` partition is killed mid-stream, the stream goes on, the broker
// is restarted: nothing lost.
func TestStageCandlesBrokerKill(t *testing.T) {
	if os.Getenv("TICKCAST_DISTRIBUTED") != "1" {
		t.Skip("set TICKCAST_DISTRIBUTED=1 (make test-distributed) to start a three-broker cluster")
	}
	cluster := kafkatest.StartCluster(t, 3)
	h := newFailover(t, cluster, 3, liveEnd)
	a := h.replica("a")
	a.member = h.waitMember(nil)
	b := h.replica("b")
	b.member = h.waitMember([]string{a.member})
	h.waitAssignment(2)
	h.produce(0, 0.3)
	h.waitCandles(0.3)
	leader := h.leader("trades", h.pairs[0])
	cluster.Kill(int(leader) - 1)
	killed := time.Now()
	h.produce(0.3, 0.6)
	h.waitCandles(0.6)
	t.Logf("broker %d (leader of %s's trades partition) down; the stream went on for %v", leader, h.pairs[0], time.Since(killed).Round(10*time.Millisecond))
	cluster.Restart(int(leader) - 1)
	h.produce(0.6, 1)
	h.waitEnd()
	h.check()
}

// failover is one scenario's broker, data, reference and replicas.
type failover struct {
	t       *testing.T
	brokers []string
	bin     string
	dir     string
	pairs   []string
	recs    []*kgo.Record // in event-time order, as the ingest stage writes them
	want    *candleSet
	topic   *topicLog[market.Candle]
	end     streamEnd
	adm     *kadm.Client
	cl      *kgo.Client
}

func newFailover(t *testing.T, c *kafkatest.Cluster, replication int16, end streamEnd) *failover {
	t.Helper()
	h := &failover{t: t, brokers: c.Brokers, bin: buildTickcast(t), dir: t.TempDir(), end: end}
	h.cl, h.adm = stageTopics(t, h.brokers, 6, replication)
	if replication > 1 {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		h.minInsync(ctx, "2")
	}
	h.pairs, h.recs = failoverRecords(t, end)
	h.want = failoverReference(t, h.recs)
	h.topic = consumeCandles(t, h.brokers)
	return h
}

func (h *failover) minInsync(ctx context.Context, n string) {
	for _, topic := range []string{"trades", "candles"} {
		rs, err := h.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "min.insync.replicas", Value: &n}}, topic)
		if err == nil {
			_, err = rs.On(topic, nil)
		}
		if err != nil {
			h.t.Fatalf("min.insync.replicas of %s: %v", topic, err)
		}
	}
}

// streamEnd is how the stream ends: as a live one (the clock ticks on for
// two minutes after the last trade) or as a replay (then a flush tick).
type streamEnd bool

const (
	liveEnd   streamEnd = false
	replayEnd streamEnd = true
)

// failoverRecords: BTC/USD from the real Kraken XBTUSD minute candles and
// ETH/USD from the real Kraken ETHUSD 15-minute candles of 2023-03-01
// 00:00–04:00, each reconstructed into trades; a tick every 5 s of exchange
// time to each pair's partition, on for two minutes after the last trade;
// with replayEnd, a final flush tick per pair.
func failoverRecords(t *testing.T, end streamEnd) ([]string, []*kgo.Record) {
	t.Helper()
	from := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(4 * time.Hour)
	var trades []market.Trade
	pairs := []string{"BTC/USD", "ETH/USD"}
	for i, file := range []string{realdata.KrakenXBT1m21d, "kraken/ohlcvt/ETHUSD_15.2023-01-01_2023-09-30.csv"} {
		cs, _, err := archive.ReadCandles(realdata.Path(t, file), archive.KrakenOHLCVT, pairs[i])
		if err != nil {
			t.Fatal(err)
		}
		cs = slices.DeleteFunc(cs, func(c market.Candle) bool { return c.Start.Before(from) || !c.Start.Before(to) })
		trades = append(trades, fakekraken.ReconstructTrades(cs, 1)...)
	}
	slices.SortStableFunc(trades, func(a, b market.Trade) int { return a.TS.Compare(b.TS) })
	return pairs, tradeRecords(pairs, trades, from, 2*time.Minute, end == replayEnd)
}

// tradeRecords writes trades (in event-time order) to `trades` as the
// ingest stage does (keyed by pair) with a tick to each pair's partition
// every 5 s of exchange time from from; the ticks go on for tail after the
// last trade, then, with flush, a flush tick per pair.
func tradeRecords(pairs []string, trades []market.Trade, from time.Time, tail time.Duration, flush bool) []*kgo.Record {
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
	next := from
	for _, tr := range trades {
		for ; !next.After(tr.TS); next = next.Add(5 * time.Second) {
			tick(next, false)
		}
		recs = append(recs, &kgo.Record{Topic: "trades", Key: []byte(tr.Pair), Value: wire.AppendJSON(nil, tr),
			Headers: []kgo.RecordHeader{{Key: MetaKind, Value: []byte(KindTrade)}, {Key: MetaPair, Value: []byte(tr.Pair)}}})
	}
	if tail > 0 {
		for stop := next.Add(tail); !next.After(stop); next = next.Add(5 * time.Second) {
			tick(next, false)
		}
	}
	if flush {
		tick(next, true)
	}
	return recs
}

// failoverReference runs stage-candles.yaml's candles processor in process
// over every record, in order.
func failoverReference(t *testing.T, recs []*kgo.Record) *candleSet {
	t.Helper()
	return processCandles(t, `{ interval: 1m, grace: 2s, emit_trades: false }`, recs)
}

// produce writes the records between fractions from and to of the stream.
func (h *failover) produce(from, to float64) {
	h.t.Helper()
	lo, hi := int(from*float64(len(h.recs))), int(to*float64(len(h.recs)))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for _, r := range h.recs[lo:hi] {
		recs = append(recs, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers})
	}
	if err := h.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		h.t.Fatalf("produce records %d–%d: %v", lo, hi, err)
	}
}

// waitCandles waits until every pair's candles reach 3 minutes before the
// event time at fraction to of the stream.
func (h *failover) waitCandles(to float64) {
	h.t.Helper()
	i := min(int(to*float64(len(h.recs))), len(h.recs)-1)
	at := recordTime(h.recs[i]).Add(-3 * time.Minute)
	waitStageFor(h.t, 90*time.Second, fmt.Sprintf("candles up to %v", at), func() bool {
		for _, p := range h.pairs {
			if h.topic.newest(p).Before(at) {
				return false
			}
		}
		return true
	})
}

func recordTime(r *kgo.Record) time.Time {
	for _, hd := range r.Headers {
		if hd.Key == MetaTS {
			ts, _ := time.Parse(time.RFC3339Nano, string(hd.Value))
			return ts
		}
	}
	var tr struct{ TS time.Time }
	_ = json.Unmarshal(r.Value, &tr)
	return tr.TS
}

// waitEnd waits for every pair's last reference candle, then a little
// more; on time out it says how far each pair got (check then lists the lost).
func (h *failover) waitEnd() {
	h.t.Helper()
	last := h.lastStarts()
	stopClock := h.clockOn()
	defer stopClock()
	deadline := time.Now().Add(90 * time.Second)
	for {
		behind := ""
		for p, s := range last {
			if got := h.topic.newest(p); got.Before(s) {
				behind += fmt.Sprintf(" %s at %v of %v;", p, got.Format(time.TimeOnly), s.Format(time.TimeOnly))
			}
		}
		if behind == "" {
			break
		}
		if time.Now().After(deadline) {
			h.t.Errorf("timed out waiting for every pair's last candle:%s", behind)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
}

// lastStarts is each pair's last reference candle start.
func (h *failover) lastStarts() map[string]time.Time {
	last := map[string]time.Time{}
	for k := range h.want.by {
		if s := time.Unix(0, k.start).UTC(); s.After(last[k.pair]) {
			last[k.pair] = s
		}
	}
	return last
}

// clockOn goes on ticking every pair's partition after a live stream's
// end, 5 s of exchange time every 100 ms, as the exchange clock does: a
// partition read again after a rewind closes its last windows once the
// merged clock passes what it emitted before (no trades: no new candles).
func (h *failover) clockOn() (stop func()) {
	last := h.recs[len(h.recs)-1]
	if h.end == replayEnd {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ts := recordTime(last); ctx.Err() == nil; ts = ts.Add(5 * time.Second) {
			for _, p := range h.pairs {
				h.cl.Produce(ctx, &kgo.Record{Topic: "trades", Key: []byte(p), Value: []byte{}, Headers: []kgo.RecordHeader{
					{Key: MetaKind, Value: []byte(KindTick)}, {Key: MetaPair, Value: []byte(p)},
					{Key: MetaTS, Value: []byte(ts.Add(5 * time.Second).Format(time.RFC3339Nano))}}}, nil)
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}

// check: the topic reduced to the latest revision per (pair, start) is the
// reference; the same (pair, start, revision) never carries two contents.
func (h *failover) check() {
	h.t.Helper()
	got, dups, conflicts := h.topic.reduce()
	for _, c := range conflicts {
		h.t.Errorf("double counted: %s", c)
	}
	lost, wrong := 0, 0
	for k, w := range h.want.by {
		g, ok := got[k]
		switch {
		case !ok:
			if lost++; lost <= 3 {
				h.t.Errorf("lost candle %s %v", k.pair, w.Start)
			}
		case g.v != w:
			if wrong++; wrong <= 3 {
				h.t.Errorf("candle %s %v:\n got %+v\nwant %+v", k.pair, w.Start, g, w)
			}
		}
	}
	extra, after := 0, 0
	end := h.lastStarts()
	for k, g := range got {
		if _, ok := h.want.by[k]; !ok {
			// The clock ticking on after the stream closes empty minutes.
			if g.v.Start.After(end[k.pair]) && g.v.Trades == 0 {
				after++
				continue
			}
			if extra++; extra <= 3 {
				h.t.Errorf("extra candle %s %v", k.pair, time.Unix(0, k.start).UTC())
			}
		}
	}
	h.t.Logf("%d reference candles over %v; topic: %d candle records, %d keys; lost %d, wrong %d, extra %d (%d empty after the end); duplicates (same pair, start, revision) %d",
		len(h.want.by), h.pairs, h.topic.mark().n, len(got), lost, wrong, extra, after, dups)
	if lost+wrong+extra > 0 {
		h.t.Errorf("lost %d, wrong %d, extra %d of %d candles", lost, wrong, extra, len(h.want.by))
	}
}

func (h *failover) replica(name string) *replica {
	h.t.Helper()
	return startReplica(h.t, h.bin, name, "stage-candles.yaml", map[string]string{
		"TICKCAST_KAFKA_BROKERS": strings.Join(h.brokers, ","),
		"TICKCAST_DATA_DIR":      filepath.Join(h.dir, name),
	})
}

// pairsOf names the pairs whose trades partition is in parts.
func (h *failover) pairsOf(parts []int32) []string { return pairsIn(h.pairs, parts, 6) }

func (h *failover) partition(pair string) int32 { return pairPartition(pair, 6) }

func (h *failover) leader(topic, pair string) int32 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := h.adm.Metadata(ctx, topic)
	if err != nil {
		h.t.Fatal(err)
	}
	return md.Topics[topic].Partitions[h.partition(pair)].Leader
}

// waitMember waits for a group member not in known and returns its ID.
func (h *failover) waitMember(known []string) string {
	h.t.Helper()
	return waitGroupMember(h.t, h.adm, failoverGroup, known)
}

// waitAssignment waits for a stable group of n members and returns their
// partitions of trades, by member.
func (h *failover) waitAssignment(n int) map[string][]int32 {
	h.t.Helper()
	return waitGroupAssignment(h.t, h.adm, failoverGroup, n, 6)
}

// consumeCandles reads the candles topic from the start until the test ends.
func consumeCandles(t *testing.T, brokers []string) *topicLog[market.Candle] {
	return consumeTopic(t, brokers, "candles", &topicLog[market.Candle]{kind: KindCandle, decode: wire.DecodeCandle,
		key: func(c market.Candle) (candleKey, int) { return candleKey{c.Pair, c.Start.UnixNano()}, c.Revision }})
}

// TestStageCandlesNoFault is the baseline: one replica, nothing fails.
func TestStageCandlesNoFault(t *testing.T) {
	h := newFailover(t, kafkatest.StartCluster(t, 1), 1, replayEnd)
	h.replica("a").member = h.waitMember(nil)
	h.produce(0, 1)
	h.waitEnd()
	h.check()
}
