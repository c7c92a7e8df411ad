package connect

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaInputAssigned: kafka_assigned is the generation a partition
// came to this member in. a holds all 4 partitions; b joins and takes 2
// (a keeps its 2 and their value); b leaves and a gets them back in a newer
// generation. A tick names every partition held with that value.
func TestKafkaInputAssigned(t *testing.T) {
	seeds := kafkaCluster(t, 4, "trades")
	a := testKafkaInput(t, seeds, "trades", "g", 100)
	held := func(in *kafkaInput) []int32 { return in.Assignment().Partitions["trades"] }
	waitFor(t, "a to hold all 4 partitions", func() bool { return len(held(a)) == 4 })
	first := int64(a.Assignment().Generation)
	produceAll := func(phase int) {
		for p := range int32(4) {
			produceRaw(t, seeds, &kgo.Record{Topic: "trades", Partition: p, Value: fmt.Appendf(nil, `{"phase":%d}`, phase)})
		}
	}

	produceAll(1)
	for p, gen := range readAssigned(t, a, 4) {
		if gen != first {
			t.Errorf("alone: partition %d assigned %d, want %d", p, gen, first)
		}
	}

	b := testKafkaInput(t, seeds, "trades", "g", 100)
	waitFor(t, "a 2/2 split", func() bool { return len(held(a)) == 2 && len(held(b)) == 2 })
	kept := held(a)
	produceAll(2)
	for p, gen := range readAssigned(t, a, 2) {
		if !slices.Contains(kept, p) || gen != first {
			t.Errorf("after b joined: partition %d (kept %v) assigned %d, want %d", p, kept, gen, first)
		}
	}

	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to hold all 4 again", func() bool { return len(held(a)) == 4 })
	produceAll(3) // the regained partitions hold phase 2's record too
	got := readAssigned(t, a, 4)
	for p, gen := range got {
		if slices.Contains(kept, p) != (gen == first) || gen < first {
			t.Errorf("regained: partition %d (kept %v) assigned %d, first assignment %d", p, kept, gen, first)
		}
	}
	produceRaw(t, seeds, &kgo.Record{Topic: "trades", Partition: 0, Value: []byte{}, Headers: []kgo.RecordHeader{
		{Key: MetaKind, Value: []byte(KindTick)}, {Key: MetaTS, Value: []byte("2025-01-01T00:00:00Z")}}})
	var tick string
	for tick == "" {
		batch, _ := readKafka(t, a)
		for _, m := range batch {
			if kindOf(m) == KindTick {
				tick, _ = m.MetaGet(MetaKafkaAssignment)
			}
		}
	}
	want := map[kafkaPartition]int64{}
	for p, gen := range got {
		want[kafkaPartition{"trades", p}] = gen
	}
	if h, err := parseKafkaAssignment(tick); err != nil || fmt.Sprint(h) != fmt.Sprint(want) {
		t.Errorf("tick's %s %q (%v), want %v", MetaKafkaAssignment, tick, err, want)
	}
}

// readAssigned reads (and acks) until records of n partitions came, and
// returns each one's kafka_assigned; a partition's records must agree.
func readAssigned(t *testing.T, in *kafkaInput, n int) map[int32]int64 {
	t.Helper()
	got := map[int32]int64{}
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		batch, ack := readKafka(t, in)
		for _, m := range batch {
			p, gen := int32(metaInt(t, m, MetaKafkaPartition)), metaInt(t, m, MetaKafkaAssigned)
			if prev, ok := got[p]; ok && prev != gen {
				t.Errorf("partition %d: records assigned %d and %d", p, prev, gen)
			}
			got[p] = gen
		}
		_ = ack(context.Background(), nil)
	}
	if len(got) < n {
		t.Fatalf("records of %d partitions, want %d", len(got), n)
	}
	return got
}
