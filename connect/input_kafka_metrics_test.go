package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaMetricsRec records the values of the plugin's metrics by name and
// labels, e.g. `tickcast_kafka_consumer_lag{trades,0,g}`.
type kafkaMetricsRec struct {
	mu sync.Mutex
	v  map[string]int64
}

type kafkaMetricRec struct {
	r    *kafkaMetricsRec
	name string
}

func (m kafkaMetricRec) set(v int64, add bool, labels []string) {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	k := m.name + "{" + strings.Join(labels, ",") + "}"
	if add {
		v += m.r.v[k]
	}
	m.r.v[k] = v
}

func (m kafkaMetricRec) Set(v int64, labels ...string)  { m.set(v, false, labels) }
func (m kafkaMetricRec) Incr(n int64, labels ...string) { m.set(n, true, labels) }

func (r *kafkaMetricsRec) get(name string, labels ...string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.v[name+"{"+strings.Join(labels, ",")+"}"]
}

func newKafkaMetricsRec() (*kafkaMetricsRec, func(string, ...string) kafkaGauge, func(string, ...string) kafkaCounter) {
	r := &kafkaMetricsRec{v: map[string]int64{}}
	return r, func(n string, _ ...string) kafkaGauge { return kafkaMetricRec{r: r, name: n} },
		func(n string, _ ...string) kafkaCounter { return kafkaMetricRec{r: r, name: n} }
}

func testKafkaInputMetrics(group string) (*kafkaMetricsRec, *kafkaInputMetrics) {
	r, g, c := newKafkaMetricsRec()
	return r, newKafkaInputMetricsOf(group, g, c)
}

func fetchOf(topic string, part int32, hw int64, offsets ...int64) kgo.Fetches {
	fp := kgo.FetchPartition{Partition: part, HighWatermark: hw}
	for _, o := range offsets {
		fp.Records = append(fp.Records, &kgo.Record{Topic: topic, Partition: part, Offset: o})
	}
	return kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: topic, Partitions: []kgo.FetchPartition{fp}}}}}
}

// Lag is the high watermark less the next offset, for held partitions only;
// a revoked partition's lag is zeroed and a late fetch of it ignored.
func TestKafkaInputMetricsLag(t *testing.T) {
	r, km := testKafkaInputMetrics("g")
	clock := time.Unix(1000, 0)
	km.now = func() time.Time { return clock }
	km.rebalanced("assigned", map[string][]int32{"t": {0, 1}})
	if got := r.get("tickcast_kafka_partitions_assigned", "g"); got != 2 {
		t.Fatalf("partitions_assigned %d", got)
	}
	km.fetched(fetchOf("t", 1, 50)) // nothing consumed yet: lag unknown
	if got := r.get("tickcast_kafka_last_consumed_timestamp_seconds", "t", "1", "g"); got != 1000 {
		t.Fatalf("last consumed %d, want the assignment's time", got)
	}
	clock = clock.Add(time.Minute)
	km.fetched(fetchOf("t", 0, 10, 2, 3))
	if got := r.get("tickcast_kafka_consumer_lag", "t", "0", "g"); got != 6 {
		t.Fatalf("lag %d, want 10-4", got)
	}
	if got := r.get("tickcast_kafka_last_consumed_timestamp_seconds", "t", "0", "g"); got != 1060 {
		t.Fatalf("last consumed %d", got)
	}
	km.fetched(fetchOf("t", 0, 12)) // no records: the new watermark counts
	if got := r.get("tickcast_kafka_consumer_lag", "t", "0", "g"); got != 8 {
		t.Fatalf("lag %d, want 12-4", got)
	}
	km.rebalanced("revoked", map[string][]int32{"t": {0}})
	km.fetched(fetchOf("t", 0, 20, 4))
	if got := r.get("tickcast_kafka_consumer_lag", "t", "0", "g"); got != 0 {
		t.Fatalf("lag of a revoked partition %d", got)
	}
	km.rebalanced("lost", map[string][]int32{"t": {1}})
	for kind, want := range map[string]int64{"assigned": 1, "revoked": 1, "lost": 1} {
		if got := r.get("tickcast_kafka_rebalances", "g", kind); got != want {
			t.Errorf("rebalances %s %d", kind, got)
		}
	}
	if got := r.get("tickcast_kafka_partitions_assigned", "g"); got != 0 {
		t.Errorf("partitions_assigned %d", got)
	}
}

// testKafkaInputObserved is testKafkaInput with recorded metrics.
func testKafkaInputObserved(t *testing.T, seeds, topic, group string, maxPoll int) (*kafkaInput, *kafkaMetricsRec) {
	t.Helper()
	conf, err := kafkaInputSpec().ParseYAML(fmt.Sprintf("seed_brokers: [ %q ]\ntopics: [ %s ]\nconsumer_group: %s\nmax_poll_records: %d\ncommit_period: 100ms\n",
		seeds, topic, group, maxPoll), nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := kafkaInputFromConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	var r *kafkaMetricsRec
	r, in.metrics = testKafkaInputMetrics(group)
	in.log = service.MockResources().Logger()
	in.extra = []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(context.Background()) })
	return in, r
}

// The lag gauge follows records produced and consumed; acked records are
// committed and counted.
func TestKafkaInputLagMoves(t *testing.T) {
	seeds := kafkaCluster(t, 1, "trades")
	produce := func(from, to int) {
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Topic: "trades", Value: fmt.Appendf(nil, `{"i":%d}`, i)})
		}
		produceRaw(t, seeds, recs...)
	}
	lag := func(r *kafkaMetricsRec) int64 { return r.get("tickcast_kafka_consumer_lag", "trades", "0", "g") }
	produce(0, 30)
	in, r := testKafkaInputObserved(t, seeds, "trades", "g", 10)
	b, ack := readKafka(t, in)
	if _, last := offsets(t, b); lag(r) != 30-(last+1) || lag(r) == 0 {
		t.Fatalf("lag %d after reading up to %d of 30", lag(r), last)
	}
	consumeTo := func(end int64) {
		for _, last := offsets(t, b); last < end; _, last = offsets(t, b) {
			_ = ack(context.Background(), nil)
			b, ack = readKafka(t, in)
		}
		_ = ack(context.Background(), nil)
	}
	consumeTo(29)
	if lag(r) != 0 {
		t.Fatalf("lag %d with every record consumed", lag(r))
	}
	produce(30, 50)
	b, ack = readKafka(t, in)
	if _, last := offsets(t, b); lag(r) != 50-(last+1) || lag(r) == 0 {
		t.Fatalf("lag %d after reading up to %d of 50", lag(r), last)
	}
	consumeTo(49)
	if lag(r) != 0 {
		t.Fatalf("lag %d with every record consumed", lag(r))
	}
	waitFor(t, "a commit", func() bool { return r.get("tickcast_kafka_commits", "g") > 0 })
	if n := r.get("tickcast_kafka_commit_errors", "g"); n != 0 {
		t.Errorf("%d commit errors", n)
	}
	if ts := r.get("tickcast_kafka_last_consumed_timestamp_seconds", "trades", "0", "g"); time.Since(time.Unix(ts, 0)) > time.Minute {
		t.Errorf("last consumed at %d", ts)
	}
}

// A second member joining takes partitions from the first (revoked), and
// its leaving gives them back (assigned again).
func TestKafkaInputRebalancesCounted(t *testing.T) {
	seeds := kafkaCluster(t, 4, "trades")
	a, ra := testKafkaInputObserved(t, seeds, "trades", "g", 10)
	count := func(r *kafkaMetricsRec, kind string) int64 { return r.get("tickcast_kafka_rebalances", "g", kind) }
	held := func(r *kafkaMetricsRec) int64 { return r.get("tickcast_kafka_partitions_assigned", "g") }
	waitFor(t, "4 partitions", func() bool { return held(ra) == 4 && len(a.Assignment().Partitions["trades"]) == 4 })
	if count(ra, "assigned") != 1 || count(ra, "revoked") != 0 {
		t.Fatalf("first member: assigned %d, revoked %d", count(ra, "assigned"), count(ra, "revoked"))
	}
	b, rb := testKafkaInputObserved(t, seeds, "trades", "g", 10)
	waitFor(t, "a 2/2 split", func() bool { return held(ra) == 2 && held(rb) == 2 })
	if count(ra, "revoked") != 1 || count(rb, "assigned") != 1 {
		t.Fatalf("join: first member revoked %d, second assigned %d", count(ra, "revoked"), count(rb, "assigned"))
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first member to hold 4 again", func() bool { return held(ra) == 4 })
	if count(ra, "assigned") != 2 || count(ra, "lost") != 0 {
		t.Fatalf("leave: first member assigned %d, lost %d", count(ra, "assigned"), count(ra, "lost"))
	}
}

// Log lines carry the stage, replica and group; stage defaults to
// $TICKCAST_STAGE, then the group; replica to $TICKCAST_REPLICA.
func TestKafkaInputLogIdentity(t *testing.T) {
	t.Setenv("TICKCAST_REPLICA", "r2")
	for _, tc := range []struct{ yaml, env, want string }{
		{"stage: candles\n", "ignored", `"stage":"candles"`},
		{"", "features", `"stage":"features"`},
		{"", "", `"stage":"g"`},
	} {
		t.Setenv("TICKCAST_STAGE", tc.env)
		conf, err := kafkaInputSpec().ParseYAML("seed_brokers: [ x:9092 ]\ntopics: [ t ]\nconsumer_group: g\n"+tc.yaml, nil)
		if err != nil {
			t.Fatal(err)
		}
		in, err := kafkaInputFromConfig(conf)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		mgr := service.MockResources(service.MockResourcesOptUseLogger(service.NewLoggerFromSlog(slog.New(slog.NewJSONHandler(&buf, nil)))))
		if err := in.observe(conf, mgr); err != nil {
			t.Fatal(err)
		}
		in.rebalanced("assigned", map[string][]int32{"t": {0}})
		in.onCommit(nil, nil, nil, errors.New("broker gone"))
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			for _, w := range []string{tc.want, `"replica":"r2"`, `"group":"g"`} {
				if !strings.Contains(line, w) {
					t.Errorf("no %s in %s", w, line)
				}
			}
		}
		if n := strings.Count(buf.String(), "\n"); n != 2 {
			t.Errorf("%d lines:\n%s", n, buf.String())
		}
	}
}
