package connect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/market"
)

// kafkaCluster starts an in-process fake Kafka with the topics, each of
// partitions partitions, and returns its address.
func kafkaCluster(t *testing.T, partitions int32, topics ...string) string {
	return kafkaFake(t, partitions, topics...).ListenAddrs()[0]
}

func kafkaFake(t *testing.T, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// produceRaw writes records to their Partition with a plain client.
func produceRaw(t *testing.T, seeds string, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// testKafkaInput makes a connected group consumer with fast heartbeats.
func testKafkaInput(t *testing.T, seeds, topic, group string, maxPoll int) *kafkaInput {
	t.Helper()
	conf, err := kafkaInputSpec().ParseYAML(fmt.Sprintf(`
seed_brokers: [ %q ]
topics: [ %s ]
consumer_group: %s
max_poll_records: %d
`, seeds, topic, group, maxPoll), nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := kafkaInputFromConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	in.log = service.MockResources().Logger()
	in.extra = []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(context.Background()) })
	return in
}

func readKafka(t *testing.T, in *kafkaInput) (service.MessageBatch, service.AckFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, ack, err := in.ReadBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return b, ack
}

func metaInt(t *testing.T, m *service.Message, key string) int64 {
	t.Helper()
	v, ok := m.MetaGetMut(key)
	if !ok {
		t.Fatalf("no %s", key)
	}
	return v.(int64)
}

func offsets(t *testing.T, b service.MessageBatch) (first, last int64) {
	return metaInt(t, b[0], MetaKafkaOffset), metaInt(t, b[len(b)-1], MetaKafkaOffset)
}

// A batch acked after a nacked one commits nothing past the nacked one, and
// a batch never acked (a crash) is not committed: a new member of the group
// gets everything from the nacked batch on; acked records are not redelivered.
func TestKafkaInputAtLeastOnce(t *testing.T) {
	seeds := kafkaCluster(t, 1, "trades")
	var recs []*kgo.Record
	for i := range 40 {
		recs = append(recs, &kgo.Record{Topic: "trades", Key: []byte("BTC/USD"), Value: fmt.Appendf(nil, `{"i":%d}`, i)})
	}
	produceRaw(t, seeds, recs...)

	in1 := testKafkaInput(t, seeds, "trades", "g", 5)
	a, ackA := readKafka(t, in1)
	b, ackB := readKafka(t, in1)
	_, ackC := readKafka(t, in1)
	readKafka(t, in1) // in flight when the member dies: never acked
	ctx := context.Background()
	_ = ackA(ctx, nil)
	_ = ackC(ctx, nil) // out of order: waits for b
	_ = ackB(ctx, errors.New("downstream failed"))
	if _, last := offsets(t, a); last != metaInt(t, b[0], MetaKafkaOffset)-1 {
		t.Fatalf("batches not contiguous: a ends at %d, b starts at %d", last, metaInt(t, b[0], MetaKafkaOffset))
	}
	if err := in1.Close(ctx); err != nil {
		t.Fatal(err)
	}

	in2 := testKafkaInput(t, seeds, "trades", "g", 100)
	got, ack2 := readKafka(t, in2)
	bFirst, _ := offsets(t, b)
	if first, _ := offsets(t, got); first != bFirst {
		t.Fatalf("new member starts at offset %d, want %d (the nacked batch; acked a ends at %d)", first, bFirst, bFirst-1)
	}
	// The new member acks everything: a third member gets only new records.
	for _, last := offsets(t, got); last < 39; _, last = offsets(t, got) {
		_ = ack2(ctx, nil)
		got, ack2 = readKafka(t, in2)
	}
	_ = ack2(ctx, nil)
	if err := in2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	produceRaw(t, seeds, &kgo.Record{Topic: "trades", Value: []byte(`{"i":40}`)})
	in3 := testKafkaInput(t, seeds, "trades", "g", 100)
	if got, _ := readKafka(t, in3); len(got) != 1 || metaInt(t, got[0], MetaKafkaOffset) != 40 {
		first, last := offsets(t, got)
		t.Fatalf("third member got offsets %d..%d, want only 40", first, last)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two members split the partitions; when one leaves, the other takes its
// partitions and keeps its own (cooperative-sticky), in a newer generation.
func TestKafkaInputGroupRebalance(t *testing.T) {
	seeds := kafkaCluster(t, 4, "trades")
	a := testKafkaInput(t, seeds, "trades", "g", 10)
	held := func(in *kafkaInput) []int32 { return in.Assignment().Partitions["trades"] }
	waitFor(t, "the first member to hold all 4 partitions", func() bool { return len(held(a)) == 4 })
	b := testKafkaInput(t, seeds, "trades", "g", 10)
	waitFor(t, "a 2/2 split", func() bool { return len(held(a)) == 2 && len(held(b)) == 2 })
	if all := slices.Sorted(slices.Values(append(held(a), held(b)...))); !slices.Equal(all, []int32{0, 1, 2, 3}) {
		t.Fatalf("members hold %v and %v", held(a), held(b))
	}
	before := b.Assignment()
	if before.Generation < 1 || before.MemberID == "" {
		t.Fatalf("assignment %+v: want a member ID and a generation", before)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the remaining member to hold all 4", func() bool { return len(held(b)) == 4 })
	after := b.Assignment()
	for _, p := range before.Partitions["trades"] {
		if !slices.Contains(after.Partitions["trades"], p) {
			t.Errorf("partition %d moved away from the remaining member", p)
		}
	}
	if after.Generation <= before.Generation {
		t.Errorf("generation %d after the rebalance, %d before", after.Generation, before.Generation)
	}
	// Records now come from every partition, tagged with the new generation.
	for p := range int32(4) {
		produceRaw(t, seeds, &kgo.Record{Topic: "trades", Partition: p, Value: []byte("{}")})
	}
	seen := map[int64]bool{}
	for len(seen) < 4 {
		batch, ack := readKafka(t, b)
		for _, m := range batch {
			seen[metaInt(t, m, MetaKafkaPartition)] = true
			if g := metaInt(t, m, MetaKafkaGeneration); g != int64(after.Generation) {
				t.Errorf("record of generation %d, want %d", g, after.Generation)
			}
		}
		_ = ack(context.Background(), nil)
	}
}

func TestKafkaCommitsInOrder(t *testing.T) {
	c := newKafkaCommits()
	rec := func(p int32, off int64) *kgo.Record { return &kgo.Record{Topic: "t", Partition: p, Offset: off} }
	b1 := c.add([]*kgo.Record{rec(0, 0), rec(0, 1), rec(1, 0)})
	b2 := c.add([]*kgo.Record{rec(0, 2), rec(1, 1)})
	b3 := c.add([]*kgo.Record{rec(0, 3)})
	if marks := c.ack(b2); len(marks) != 0 {
		t.Fatalf("acking the second batch first marked %v", marks)
	}
	marks := c.ack(b1)
	if len(marks) != 2 || marks[0].Offset != 2 || marks[1].Offset != 1 {
		t.Fatalf("marks %v, want p0 offset 2 and p1 offset 1", marks)
	}
	c.revoke(map[string][]int32{"t": {0}})
	if marks := c.ack(b3); len(marks) != 0 {
		t.Fatalf("ack for a revoked partition marked %v", marks)
	}
	b4 := c.add([]*kgo.Record{rec(0, 3)}) // the partition back, read again
	if marks := c.ack(b4); len(marks) != 1 || marks[0].Offset != 3 {
		t.Fatalf("marks after reassignment %v", marks)
	}
}

func TestKafkaMessageHeaders(t *testing.T) {
	good := &kgo.Record{Topic: "t", Partition: 2, Offset: 7, Key: []byte("xbt-usd"), Value: []byte("{}"), Headers: []kgo.RecordHeader{
		{Key: MetaKind, Value: []byte(KindCandle)}, {Key: MetaTS, Value: []byte("2026-01-02T03:04:05Z")}, {Key: "source", Value: []byte("x")},
	}}
	m := kafkaMessage(good, 3)
	pair, _ := market.NormalizePair("xbt-usd")
	for k, want := range map[string]string{MetaKind: KindCandle, MetaPair: pair, MetaTS: "2026-01-02T03:04:05Z", "source": "x", MetaKafkaTopic: "t", MetaKafkaPartition: "2", MetaKafkaOffset: "7", MetaKafkaGeneration: "3"} {
		if got, _ := m.MetaGet(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	bad := &kgo.Record{Key: []byte{0xff, 0}, Value: []byte("garbage"), Headers: []kgo.RecordHeader{
		{Key: MetaKind, Value: []byte("bogus")}, {Key: MetaPair, Value: []byte{0xfe}}, {Key: MetaTS, Value: []byte("yesterday")},
		{Key: MetaFlush, Value: []byte("yes")}, {Key: "tickcast_record", Value: []byte("x")},
	}}
	m = kafkaMessage(bad, 1)
	for _, k := range []string{MetaKind, MetaPair, MetaTS, MetaFlush, "tickcast_record"} {
		if v, ok := m.MetaGet(k); ok {
			t.Errorf("bad header %s became metadata %q", k, v)
		}
	}
	if b, _ := m.AsBytes(); string(b) != "garbage" {
		t.Errorf("body %q", b)
	}
}

// Whatever the headers and key, a record becomes a message whose tickcast
// metadata, when set, is valid.
func FuzzKafkaMessage(f *testing.F) {
	f.Add([]byte("BTC/USD"), "tickcast_kind", []byte("trade"), []byte(`{"price":1}`))
	f.Add([]byte{0xff}, "tickcast_pair", []byte("??"), []byte{})
	f.Add([]byte(nil), "tickcast_ts", []byte("2026-13-45"), []byte("x"))
	f.Fuzz(func(t *testing.T, key []byte, hk string, hv, body []byte) {
		m := kafkaMessage(&kgo.Record{Key: key, Value: body, Headers: []kgo.RecordHeader{{Key: hk, Value: hv}}}, 0)
		if k, ok := m.MetaGet(MetaKind); ok {
			if _, known := knownKind(k); !known {
				t.Fatalf("kind %q", k)
			}
		}
		if p, ok := m.MetaGet(MetaPair); ok {
			if n, err := market.NormalizePair(p); err != nil || n != p {
				t.Fatalf("pair %q (%q, %v)", p, n, err)
			}
		}
		if _, ok := m.MetaGetMut("tickcast_record"); ok {
			t.Fatal("the record cache came from a header")
		}
	})
}
