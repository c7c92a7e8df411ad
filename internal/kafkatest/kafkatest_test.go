package kafkatest_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/internal/kafkatest"
)

func TestSingleBrokerRoundTrip(t *testing.T) {
	begin := time.Now()
	brokers := kafkatest.Start(t)
	t.Logf("broker %v ready in %v", brokers, time.Since(begin).Round(10*time.Millisecond))
	// unique: $TICKCAST_KAFKA_BROKERS may name a broker that outlives this test
	roundTrip(t, brokers, 1, fmt.Sprintf("round-trip-%d", time.Now().UnixNano()))
}

// TestThreeBrokersFailover runs under `TICKCAST_DISTRIBUTED=1` only (three
// JVMs are too heavy for every `make test`): a topic of replication factor
// 3 keeps taking acks=all writes after its leader crashes, and the restarted
// node rejoins.
func TestThreeBrokersFailover(t *testing.T) {
	if os.Getenv("TICKCAST_DISTRIBUTED") != "1" {
		t.Skip("set TICKCAST_DISTRIBUTED=1 to start a three-broker cluster")
	}
	begin := time.Now()
	c := kafkatest.StartCluster(t, 3)
	t.Logf("cluster %v ready in %v", c.Brokers, time.Since(begin).Round(10*time.Millisecond))
	topic := fmt.Sprintf("failover-%d", time.Now().UnixNano())
	cl := client(t, c.Brokers, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	createTopic(t, cl, topic, 3)
	produce(t, cl, "before")

	leader := partitionLeader(t, cl, topic)
	c.Kill(int(leader) - 1)
	produce(t, cl, "after")
	consume(t, c.Brokers, topic, "before", "after")

	c.Restart(int(leader) - 1)
	produce(t, cl, "rejoined")
}

func roundTrip(t *testing.T, brokers []string, rf int16, topic string) {
	cl := client(t, brokers, kgo.DefaultProduceTopic(topic))
	createTopic(t, cl, topic, rf)
	produce(t, cl, "hello")
	consume(t, brokers, topic, "hello")
}

func client(t *testing.T, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopic(t *testing.T, cl *kgo.Client, topic string, rf int16) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := kadm.NewClient(cl).CreateTopic(ctx, 1, rf, nil, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		t.Fatalf("create topic %s (rf %d): %v", topic, rf, err)
	}
}

func partitionLeader(t *testing.T, cl *kgo.Client, topic string) int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	meta, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	p := meta.Topics[topic].Partitions[0]
	if len(p.Replicas) != 3 {
		t.Fatalf("partition 0 has replicas %v, want 3", p.Replicas)
	}
	return p.Leader
}

func produce(t *testing.T, cl *kgo.Client, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatalf("produce %q: %v", value, err)
	}
}

// consume reads the topic from the start and wants exactly the values, in order.
func consume(t *testing.T, brokers []string, topic string, want ...string) {
	t.Helper()
	cl := client(t, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []string
	for len(got) < len(want) {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %q of %q: %v", got, want, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("consumed %q, want %q", got, want)
	}
}
