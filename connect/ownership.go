package connect

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/wire"
)

// kafkaGroupless is the tickcast_kafka input without a consumer group (a
// context reader): it reads every partition of its topics from since before
// it connects, aligned, and commits nothing.
type kafkaGroupless struct {
	since, align time.Duration // 0: start_from
}

// readGroupless turns rewind into the group-less start: there is no
// committed offset to rewind from, so it counts back from now.
func (in *kafkaInput) readGroupless() error {
	if in.conf.group != "" {
		return nil
	}
	if in.mergeTicks {
		return fmt.Errorf("tickcast_kafka: %s needs a %s", kiFieldMergeTicks, kiFieldConsumerGroup)
	}
	if in.rewind != nil {
		in.groupless = kafkaGroupless{since: in.rewind.by, align: in.rewind.align}
		in.rewind = nil
	}
	return nil
}

// opts start every partition at the first record at or after now − since,
// truncated to align.
func (g kafkaGroupless) opts(now time.Time) []kgo.Opt {
	if g.since <= 0 {
		return nil
	}
	from := kafkaTruncate(now.Add(-g.since), g.align)
	return []kgo.Opt{kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(from.UnixMilli()))}
}

// kafkaGroupKey is the key under which a stream's group input offers its
// assignment to the stream's other components (mgr.GetGeneric).
type kafkaGroupKey struct{ group string }

// kafkaAssigner is what a group input offers: its current assignment.
type kafkaAssigner interface{ Assignment() KafkaAssignment }

func registerKafkaGroup(mgr *service.Resources, in *kafkaInput) {
	if in.conf.group != "" && mgr != nil {
		mgr.SetGeneric(kafkaGroupKey{in.conf.group}, kafkaAssigner(in))
	}
}

// pairOwnership tells which pairs a features replica owns: those whose
// candles partition the stream's group input holds, tagged with the group
// generation (what the store fences writes by). A pair's partition is
// learned from its candles' kafka_topic/kafka_partition, whichever input
// delivered them. Without a group input in the stream (YAML tests), a pair
// is owned once a candle of it came with kafka_generation >= 0.
type pairOwnership struct {
	group string
	mgr   *service.Resources
	parts map[string]kafkaPartition // pair → its candles partition
	gens  map[string]int64          // fallback: pair → generation seen
	now   *KafkaAssignment          // this batch's assignment; nil: none
}

func newPairOwnership(group string, mgr *service.Resources) *pairOwnership {
	return &pairOwnership{group: group, mgr: mgr, parts: map[string]kafkaPartition{}, gens: map[string]int64{}}
}

// refresh reads the group input's assignment once per batch.
func (o *pairOwnership) refresh() {
	o.now = nil
	if o.mgr == nil {
		return
	}
	if v, ok := o.mgr.GetGeneric(kafkaGroupKey{o.group}); ok {
		a := v.(kafkaAssigner).Assignment()
		o.now = &a
	}
}

// saw records where a candle of pair came from.
func (o *pairOwnership) saw(pair string, msg *service.Message) {
	topic, _ := msg.MetaGet(MetaKafkaTopic)
	part, err := strconv.ParseInt(metaString(msg, MetaKafkaPartition), 10, 32)
	if topic == "" || err != nil {
		return
	}
	o.parts[pair] = kafkaPartition{topic, int32(part)}
	if gen, err := strconv.ParseInt(metaString(msg, MetaKafkaGeneration), 10, 32); err == nil && gen >= 0 {
		o.gens[pair] = gen
	}
}

// owns reports whether this replica owns pair, and at which generation.
func (o *pairOwnership) owns(pair string) (int64, bool) {
	tp, ok := o.parts[pair]
	if !ok {
		return 0, false
	}
	if o.now == nil {
		gen, ok := o.gens[pair]
		return gen, ok
	}
	if !slices.Contains(o.now.Partitions[tp.topic], tp.part) || o.now.Generation < 0 {
		return 0, false
	}
	return int64(o.now.Generation), true
}

func metaString(msg *service.Message, key string) string {
	v, _ := msg.MetaGet(key)
	return v
}

// ownedRow is the message of a row this replica owns, tagged with the
// generation the store fences by.
func ownedRow(row market.FeatureRow, gen int64) *service.Message {
	m := newRecord(KindFeature, row.Pair, wire.AppendJSON(nil, row), row)
	m.MetaSetMut(MetaKafkaGeneration, gen)
	return m
}

// heldRows bounds the rows of a pair not owned here that wait for its
// partition, which a new owner emits again: the previous owner may not have
// written them yet. What it may not have written is bounded too: its store
// writes a pair's rows once maxUnflushedRows wait (fencedMaxPairRows), and a
// batch holds at most max_poll_records candles (120 in stage-features.yaml),
// so 960 rows leave room for this replica's context reader running ahead of
// the dead owner by 600 candles of the pair. (Live, 960 rows are 16 hours;
// in a backlog, when a replica dies before its first timed flush, 2 ×
// FeatureWindow rows were not enough: rows were lost from the store.)
const heldRows = 8 * market.FeatureWindow

// hold keeps a row of a pair that another replica owns. The oldest rows are
// dropped a quarter of heldRows at a time, so that each row costs O(1).
func (p *featuresProcessor) hold(row market.FeatureRow) {
	rs := append(p.unsent[row.Pair], row)
	if len(rs) > heldRows+heldRows/4 {
		rs = slices.Delete(rs, 0, len(rs)-heldRows)
	}
	p.unsent[row.Pair] = rs
}

// release emits the held rows of the pairs owned now.
func (p *featuresProcessor) release(out service.MessageBatch) service.MessageBatch {
	if p.owners == nil || len(p.unsent) == 0 {
		return out
	}
	pairs := slices.Sorted(maps.Keys(p.unsent))
	for _, pair := range pairs {
		gen, ok := p.owners.owns(pair)
		if !ok {
			continue
		}
		for _, row := range p.unsent[pair] {
			out = append(out, ownedRow(row, gen))
		}
		delete(p.unsent, pair)
	}
	return out
}

// duplicate reports whether c is a candle the calculator holds already at
// the same or a higher revision, or one older than its window that is no
// correction (revision 0): the context reader and the owned input, or a
// rewind, deliver the same candles.
func (p *featuresProcessor) duplicate(c market.Candle) bool {
	newest, ok := p.f.Newest(c.Pair)
	if !ok || c.Start.After(newest.Start) {
		return false
	}
	if c.Start.Equal(newest.Start) {
		return c.Revision <= newest.Revision
	}
	held := p.f.Held(c.Pair)
	i, found := slices.BinarySearchFunc(held, c.Start, func(h market.Candle, t time.Time) int { return h.Start.Compare(t) })
	if found {
		return c.Revision <= held[i].Revision
	}
	return c.Revision == 0 && (len(held) == 0 || c.Start.Before(held[0].Start))
}
