package connect

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

// assignedAt is the generation in which r's partition was assigned to this
// client (-1 without a group), and whether it is still held. Callers hold
// in.mu.
func (in *kafkaInput) assignedAt(r *kgo.Record) (int32, bool) {
	if in.conf.group == "" {
		return -1, true
	}
	gen, ok := in.assigned[kafkaPartition{r.Topic, r.Partition}]
	return gen, ok
}

// tagAssignment sets kafka_assignment on a tick message (m nil or not a
// tick: nothing). A tick closes the windows of every pair the processor
// holds, so it says which partitions it speaks for: those held now. Callers
// hold in.mu.
func (in *kafkaInput) tagAssignment(m *service.Message) {
	if m == nil || in.conf.group == "" || kindOf(m) != KindTick {
		return
	}
	m.MetaSetMut(MetaKafkaAssignment, formatKafkaAssignment(in.assigned))
}

// formatKafkaAssignment writes held partitions as
// "topic/partition@generation", comma-separated, in order (topic names
// hold neither '/' nor '@').
func formatKafkaAssignment(held map[kafkaPartition]int32) string {
	parts := make([]string, 0, len(held))
	for tp, gen := range held {
		parts = append(parts, fmt.Sprintf("%s/%d@%d", tp.topic, tp.part, gen))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// parseKafkaAssignment reads what formatKafkaAssignment wrote.
func parseKafkaAssignment(s string) (map[kafkaPartition]int64, error) {
	held := map[kafkaPartition]int64{}
	if s == "" {
		return held, nil
	}
	for _, e := range strings.Split(s, ",") {
		tp, gen, ok1 := strings.Cut(e, "@")
		topic, part, ok2 := strings.Cut(tp, "/")
		p, err1 := strconv.ParseInt(part, 10, 32)
		g, err2 := strconv.ParseInt(gen, 10, 32)
		if !ok1 || !ok2 || topic == "" || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s %q: not topic/partition@generation", MetaKafkaAssignment, e)
		}
		held[kafkaPartition{topic, int32(p)}] = g
	}
	return held, nil
}
