package connect

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
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
	before := h.topic.snapshot()
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
	topic   *candleLog
	end     streamEnd
	adm     *kadm.Client
	cl      *kgo.Client
}

func newFailover(t *testing.T, c *kafkatest.Cluster, replication int16, end streamEnd) *failover {
	t.Helper()
	h := &failover{t: t, brokers: c.Brokers, bin: buildTickcast(t), dir: t.TempDir(), end: end}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := ApplyKafkaTopics(ctx, h.brokers, 6, replication); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokers...), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	h.cl, h.adm = cl, kadm.NewClient(cl)
	if replication > 1 {
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
	for stop := next.Add(2 * time.Minute); !next.After(stop); next = next.Add(5 * time.Second) {
		tick(next, false)
	}
	if end == replayEnd {
		tick(next, true)
	}
	return pairs, recs
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
			if h.topic.last(p).Before(at) {
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
			if got := h.topic.last(p); got.Before(s) {
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
		g, ok := got.by[k]
		switch {
		case !ok:
			if lost++; lost <= 3 {
				h.t.Errorf("lost candle %s %v", k.pair, w.Start)
			}
		case g != w:
			if wrong++; wrong <= 3 {
				h.t.Errorf("candle %s %v:\n got %+v\nwant %+v", k.pair, w.Start, g, w)
			}
		}
	}
	extra, after := 0, 0
	end := h.lastStarts()
	for k, g := range got.by {
		if _, ok := h.want.by[k]; !ok {
			// The clock ticking on after the stream closes empty minutes.
			if g.Start.After(end[k.pair]) && g.Trades == 0 {
				after++
				continue
			}
			if extra++; extra <= 3 {
				h.t.Errorf("extra candle %s %v", k.pair, time.Unix(0, k.start).UTC())
			}
		}
	}
	h.t.Logf("%d reference candles over %v; topic: %d candle records, %d keys; lost %d, wrong %d, extra %d (%d empty after the end); duplicates (same pair, start, revision) %d",
		len(h.want.by), h.pairs, got.n, len(got.by), lost, wrong, extra, after, dups)
	if lost+wrong+extra > 0 {
		h.t.Errorf("lost %d, wrong %d, extra %d of %d candles", lost, wrong, extra, len(h.want.by))
	}
}

// pairsOf names the pairs whose trades partition is in parts.
func (h *failover) pairsOf(parts []int32) []string {
	var out []string
	for _, p := range h.pairs {
		if slices.Contains(parts, h.partition(p)) {
			out = append(out, p)
		}
	}
	return out
}

func (h *failover) partition(pair string) int32 {
	return int32(kgo.StickyKeyPartitioner(nil).ForTopic("trades").Partition(&kgo.Record{Key: []byte(pair)}, 6))
}

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
func (h *failover) waitMember(known []string) (id string) {
	h.t.Helper()
	waitStageFor(h.t, 60*time.Second, "a new member of "+failoverGroup, func() bool {
		for m := range h.members() {
			if !slices.Contains(known, m) {
				id = m
				return true
			}
		}
		return false
	})
	return id
}

// waitAssignment waits for a stable group of n members and returns their
// partitions of trades, by member.
func (h *failover) waitAssignment(n int) (owned map[string][]int32) {
	h.t.Helper()
	waitStageFor(h.t, 60*time.Second, fmt.Sprintf("%d members holding every partition", n), func() bool {
		owned = h.members()
		total := 0
		for _, ps := range owned {
			total += len(ps)
		}
		return len(owned) == n && total == 6
	})
	return owned
}

func (h *failover) members() map[string][]int32 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs, err := h.adm.DescribeGroups(ctx, failoverGroup)
	if err != nil {
		return nil
	}
	g := gs[failoverGroup]
	if g.State != "Stable" {
		return nil
	}
	out := map[string][]int32{}
	for _, m := range g.Members {
		out[m.MemberID] = nil
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range a.Topics {
				out[m.MemberID] = append(out[m.MemberID], tp.Partitions...)
			}
		}
	}
	return out
}

// replica is one `tickcast connect run stage-candles.yaml` process.
type replica struct {
	name   string
	member string
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{}
}

func (h *failover) replica(name string) *replica {
	h.t.Helper()
	r := &replica{name: name, log: &lockedBuffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command(h.bin, "connect", "run", filepath.Join("pipelines", "stage-candles.yaml"))
	r.cmd.Env = append(os.Environ(),
		"TICKCAST_KAFKA_BROKERS="+strings.Join(h.brokers, ","),
		"TICKCAST_DATA_DIR="+filepath.Join(h.dir, name),
		"TICKCAST_CONNECT_HTTP="+freeLoopback(h.t))
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	h.t.Cleanup(func() {
		r.kill()
		if h.t.Failed() {
			h.t.Logf("replica %s log (tail):\n%s", r.name, tailString(r.log.String(), 3000))
		}
	})
	return r
}

func (r *replica) kill() {
	_ = r.cmd.Process.Kill()
	<-r.exited
}

// stop ends the replica as a user would (SIGTERM): it commits and leaves.
func (r *replica) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		r.kill()
	}
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildTickcast builds the binary from this repository (as e2e does).
func buildTickcast(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tickcast")
	b := exec.Command("go", "build", "-o", bin, "./cmd/tickcast")
	b.Dir = ".."
	if msg, err := b.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	return bin
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// candleLog is every candle record of the candles topic, in arrival order.
type candleLog struct {
	mu        sync.Mutex
	recs      []loggedCandle
	lastStart map[string]time.Time
}

type loggedCandle struct {
	c    market.Candle
	body string
	at   time.Time // the record's (produce) timestamp
}

// consumeCandles reads the candles topic from the start until the test ends.
func consumeCandles(t *testing.T, brokers []string) *candleLog {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("candles"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	l := &candleLog{lastStart: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(l.add)
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return l
}

func (l *candleLog) add(r *kgo.Record) {
	for _, hd := range r.Headers {
		if hd.Key == MetaKind && string(hd.Value) != KindCandle {
			return
		}
	}
	var c market.Candle
	if json.Unmarshal(r.Value, &c) != nil || c.Pair == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, loggedCandle{c, string(r.Value), r.Timestamp})
	if c.Start.After(l.lastStart[c.Pair]) {
		l.lastStart[c.Pair] = c.Start
	}
}

func (l *candleLog) last(pair string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastStart[pair]
}

// snapshot is how many records arrived and each pair's last start so far.
func (l *candleLog) snapshot() candleSnapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return candleSnapshot{n: len(l.recs), last: maps.Clone(l.lastStart)}
}

type candleSnapshot struct {
	n    int
	last map[string]time.Time
}

// resumeAfter: from the kill to the first candle record of a moved pair
// produced after it, and to the first one past what that pair had before.
func (l *candleLog) resumeAfter(killed time.Time, moved []string, before candleSnapshot) (first, fresh time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first, fresh = -1, -1
	for _, r := range l.recs[before.n:] {
		if !slices.Contains(moved, r.c.Pair) || r.at.Before(killed) {
			continue
		}
		if first < 0 {
			first = r.at.Sub(killed)
		}
		if fresh < 0 && r.c.Start.After(before.last[r.c.Pair]) {
			fresh = r.at.Sub(killed)
		}
	}
	return first, fresh
}

// reduce keeps the latest revision per (pair, start); it counts the records
// repeating a (pair, start, revision) and reports those whose content differs.
func (l *candleLog) reduce() (set *candleSet, dups int, conflicts []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	type rev struct {
		k   candleKey
		rev int
	}
	seen := map[rev]string{}
	set = newCandleSet()
	for _, r := range l.recs {
		k := rev{candleKey{r.c.Pair, r.c.Start.UnixNano()}, r.c.Revision}
		if body, ok := seen[k]; ok {
			dups++
			if body != r.body {
				conflicts = append(conflicts, fmt.Sprintf("%s %v rev %d:\n%s\n%s", r.c.Pair, r.c.Start, r.c.Revision, body, r.body))
			}
			continue
		}
		seen[k] = r.body
		set.add(r.c)
	}
	return set, dups, conflicts
}

// TestStageCandlesNoFault is the baseline: one replica, nothing fails.
func TestStageCandlesNoFault(t *testing.T) {
	h := newFailover(t, kafkatest.StartCluster(t, 1), 1, replayEnd)
	h.replica("a").member = h.waitMember(nil)
	h.produce(0, 1)
	h.waitEnd()
	h.check()
}
