package connect

import (
	"strconv"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// pairSource is where a pair's state was built from: its partition and the
// generation that partition was assigned to this replica in.
type pairSource struct {
	tp       kafkaPartition
	assigned int64
}

// sourceOf reads a message's partition and kafka_assigned; false for a
// message from no group input (embedded pipelines, YAML tests, a context
// reader), which leaves state alone.
func sourceOf(msg *service.Message) (pairSource, bool) {
	gen, ok1 := metaInt64(msg, MetaKafkaAssigned)
	part, ok2 := metaInt64(msg, MetaKafkaPartition)
	topic, _ := msg.MetaGet(MetaKafkaTopic)
	if !ok1 || !ok2 || gen < 0 || topic == "" {
		return pairSource{}, false
	}
	return pairSource{kafkaPartition{topic, int32(part)}, gen}, true
}

// metaInt64 reads an integer the input set as such (no string made, once
// per trade) or one written as text (YAML tests, mappings).
func metaInt64(msg *service.Message, key string) (int64, bool) {
	v, ok := msg.MetaGetMut(key)
	if !ok {
		return 0, false
	}
	switch v := v.(type) {
	case int64:
		return v, true
	case string:
		n, err := strconv.ParseInt(v, 10, 32)
		return n, err == nil
	}
	n, err := strconv.ParseInt(metaString(msg, key), 10, 32)
	return n, err == nil
}

// claim is called with a pair's trade, gap or tick before it is applied.
// A partition assigned anew (revoked or lost, then back) is re-read from
// the rewind floor: what the pair held from the earlier assignment is stale
// (another replica emitted those windows since), so it starts over.
func (p *candlesProcessor) claim(pair string, msg *service.Message) {
	src, ok := sourceOf(msg)
	if !ok || pair == "" {
		return
	}
	if prev, seen := p.sources[pair]; seen && prev.assigned != src.assigned {
		p.reset(pair, prev, "its partition was assigned again")
	}
	p.sources[pair] = src
}

// release drops, on a tick carrying kafka_assignment, the pairs whose
// partition is no longer held as it was when their state was built: the
// tick would otherwise close their windows on a clock their partition
// (read by another replica now) never gave here.
func (p *candlesProcessor) release(msg *service.Message) {
	v, ok := msg.MetaGet(MetaKafkaAssignment)
	if !ok {
		return
	}
	held, err := parseKafkaAssignment(v)
	if err != nil {
		p.log.Warnf("candles: %v", err)
		return
	}
	for pair, src := range p.sources {
		if gen, ok := held[src.tp]; !ok || gen != src.assigned {
			p.reset(pair, src, "its partition is no longer held")
			delete(p.sources, pair)
		}
	}
}

// reset forgets pair's state, if any, and says so.
func (p *candlesProcessor) reset(pair string, src pairSource, why string) {
	if !p.agg.Forget(pair) {
		return
	}
	p.mReset.Incr(1)
	if p.gaps != nil { // publishGaps no longer sees the pair: nothing open here
		p.gaps.Set(pair, false)
	}
	p.log.With("pair", pair, "topic", src.tp.topic, "partition", src.tp.part, "assigned", src.assigned).
		Info("candles: pair state reset: " + why)
}
