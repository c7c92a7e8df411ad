package connect

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tickcast/tickcast/market"
)

// runKafkaStream runs a built stream until the test ends.
func runKafkaStream(t *testing.T, b *service.StreamBuilder) {
	t.Helper()
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Errorf("stream run: %v", err)
		}
	})
}

// producedBy records what produce requests ask for: acks and producer IDs.
type producedBy struct {
	mu          sync.Mutex
	acks        map[int16]bool
	producerIDs map[int64]bool
}

func watchProduce(c interface {
	ControlKey(int16, func(kmsg.Request) (kmsg.Response, error, bool))
}) *producedBy {
	p := &producedBy{acks: map[int16]bool{}, producerIDs: map[int64]bool{}}
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.ProduceRequest)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.acks[r.Acks] = true
		for _, t := range r.Topics {
			for _, part := range t.Partitions {
				var rb kmsg.RecordBatch
				if rb.ReadFrom(part.Records) == nil {
					p.producerIDs[rb.ProducerID] = true
				}
			}
		}
		return nil, nil, false
	})
	return p
}

// Messages written by the output stream are read back by the input stream
// (both built from YAML) with their metadata; a pair's records share the
// partition Kafka's murmur2 gives its key, in order; the producer is
// idempotent with acks=all.
func TestKafkaRoundTripYAML(t *testing.T) {
	const topic, n = "tickcast.trades", 60
	fake := kafkaFake(t, 4, topic)
	fake.KeepControl()
	produced := watchProduce(fake)
	seeds := fake.ListenAddrs()[0]
	env, err := NewEnvironment(Deps{})
	if err != nil {
		t.Fatal(err)
	}

	out := env.NewStreamBuilder()
	if err := out.AddOutputYAML(fmt.Sprintf("tickcast_kafka: { seed_brokers: [ %q ], topic: %s }", seeds, topic)); err != nil {
		t.Fatal(err)
	}
	send, err := out.AddBatchProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	runKafkaStream(t, out)

	in := env.NewStreamBuilder()
	if err := in.AddInputYAML(fmt.Sprintf("tickcast_kafka: { seed_brokers: [ %q ], topics: [ %s ], consumer_group: rt }", seeds, topic)); err != nil {
		t.Fatal(err)
	}
	got := make(chan *service.Message, n)
	if err := in.AddConsumerFunc(func(_ context.Context, m *service.Message) error { got <- m.Copy(); return nil }); err != nil {
		t.Fatal(err)
	}
	runKafkaStream(t, in)

	var pairs []string
	for _, p := range []string{"BTC/USD", "ETH/USD", "SOL/USD", "XRP/USD", "ADA/USD", "DOT/USD"} {
		np, err := market.NormalizePair(p)
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, np)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; i < n; i += 10 {
		var batch service.MessageBatch
		for j := i; j < i+10; j++ {
			batch = append(batch, newRecordMessage(KindTrade, pairs[j%len(pairs)], fmt.Appendf(nil, "%d", j)))
		}
		if err := send(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}

	hash := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
	last, partOf, parts := map[string]int{}, map[string]int64{}, map[int64]bool{}
	for range n {
		var m *service.Message
		select {
		case m = <-got:
		case <-ctx.Done():
			t.Fatalf("%d of %d messages came back", len(last), n)
		}
		pair, _ := m.MetaGet(MetaPair)
		kind, _ := m.MetaGet(MetaKind)
		body, _ := m.AsBytes()
		var seq int
		if _, err := fmt.Sscan(string(body), &seq); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		part := metaInt(t, m, MetaKafkaPartition)
		if kind != KindTrade || pair != pairs[seq%len(pairs)] {
			t.Fatalf("message %d: kind %q pair %q", seq, kind, pair)
		}
		if want := hash.Partition(&kgo.Record{Key: []byte(pair)}, 4); part != int64(want) {
			t.Errorf("%s in partition %d, murmur2 says %d", pair, part, want)
		}
		if p, ok := partOf[pair]; ok && p != part {
			t.Errorf("%s in partitions %d and %d", pair, p, part)
		}
		if prev, ok := last[pair]; ok && seq <= prev {
			t.Errorf("%s: %d after %d", pair, seq, prev)
		}
		partOf[pair], last[pair], parts[part] = part, seq, true
	}
	if len(parts) < 2 {
		t.Errorf("all pairs in partitions %v", parts)
	}
	produced.mu.Lock()
	defer produced.mu.Unlock()
	if len(produced.acks) != 1 || !produced.acks[-1] {
		t.Errorf("produce acks %v, want only -1 (all)", produced.acks)
	}
	if len(produced.producerIDs) == 0 {
		t.Error("no record batch seen")
	}
	for id := range produced.producerIDs {
		if id < 0 {
			t.Errorf("a batch without a producer ID: not idempotent")
		}
	}
}

// A batch that cannot be written fails with an error (Benthos retries it).
func TestKafkaOutputWriteFails(t *testing.T) {
	seeds := kafkaCluster(t, 1, "trades")
	conf, err := kafkaOutputSpec().ParseYAML(fmt.Sprintf("{ seed_brokers: [ %q ], topic: missing, timeout: 1s }", seeds), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := kafkaOutputFromConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := out.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer out.Close(ctx)
	if err := out.WriteBatch(ctx, service.MessageBatch{newRecordMessage(KindTrade, "BTC/USD", []byte("{}"))}); err == nil {
		t.Fatal("write to a missing topic succeeded")
	}
}

// The YAML examples of docs/pipelines.md's Kafka section pass
// `tickcast connect lint`'s linter.
func TestKafkaDocsLint(t *testing.T) {
	doc, err := os.ReadFile("../docs/pipelines.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(doc), "### `tickcast_kafka`")
	if !ok {
		t.Fatal("no tickcast_kafka section")
	}
	sec, _, _ = strings.Cut(sec, "\n### ")
	env, err := NewEnvironment(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	linter := env.FullConfigSchema("", "").NewStreamConfigLinter().SetSkipEnvVarCheck(true)
	blocks := strings.Split(sec, "```yaml\n")[1:]
	if len(blocks) < 2 {
		t.Fatalf("%d YAML examples, want the producer and the consumer", len(blocks))
	}
	for _, b := range blocks {
		yaml, _, _ := strings.Cut(b, "```")
		lints, err := linter.LintYAML([]byte(yaml))
		if err != nil || len(lints) > 0 {
			t.Errorf("lint %v %v:\n%s", err, lints, yaml)
		}
	}
}
