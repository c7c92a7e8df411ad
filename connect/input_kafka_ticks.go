package connect

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaTicks merges the tick records of the assigned partitions into one
// clock (watermark alignment): the candles processor applies a tick to
// every pair it holds, so a partition's tick must not close the windows of
// a pair whose partition is behind (re-reading after a rewind, say). A
// partition counts from its first record since it was assigned, at -∞ until
// its first tick; a merged tick passes on when the minimum over the
// counted partitions' latest ticks rises, so no window closes before its
// own partition's clock passed it. A flush tick ends a partition's clock; a
// flush passes on once every counted partition has flushed.
type kafkaTicks struct {
	mu      sync.Mutex
	last    map[kafkaPartition]int64 // latest tick (Unix ns) per counted partition
	emitted int64
}

func newKafkaTicks() *kafkaTicks {
	return &kafkaTicks{last: map[kafkaPartition]int64{}, emitted: math.MinInt64}
}

// record takes a polled record in partition order and returns the tick to
// pass on in its place (nil: none) and whether the record is a tick (then
// it is not passed on itself).
func (k *kafkaTicks) record(r *kgo.Record, m *service.Message) (merged *service.Message, isTick bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tp := kafkaPartition{r.Topic, r.Partition}
	if _, ok := k.last[tp]; !ok {
		k.last[tp] = math.MinInt64
	}
	if kindOf(m) != KindTick {
		return nil, false
	}
	now, flush, err := tickOf(m)
	if err != nil {
		return nil, true // a bad tick moves no clock
	}
	ns := int64(math.MaxInt64)
	if !flush {
		ns = now.UnixNano()
	}
	k.last[tp] = max(k.last[tp], ns)
	return k.advance(), true
}

// advance returns the merged tick when the minimum rose.
func (k *kafkaTicks) advance() *service.Message {
	lo := int64(math.MaxInt64)
	for _, ns := range k.last {
		lo = min(lo, ns)
	}
	if len(k.last) == 0 || lo <= k.emitted {
		return nil
	}
	k.emitted = lo
	if lo == math.MaxInt64 {
		return newTick(time.Time{}, true)
	}
	return newTick(time.Unix(0, lo), false)
}

// expect counts partitions from their assignment, before their first
// record: those with records left to read (kafkaBacklog). Otherwise a
// replica reading one partition's backlog first would pass its clock (and
// a replay's final flush) on before the other's records came, and windows
// of the other's pairs would close on a clock they never reached.
func (k *kafkaTicks) expect(tps []kafkaPartition) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, tp := range tps {
		if _, ok := k.last[tp]; !ok {
			k.last[tp] = math.MinInt64
		}
	}
}

// kafkaBacklog returns the partitions of parts with records past the
// group's committed offset (past their start when none is committed, or
// when rewound: the rewind re-reads records below it). A
// partition without records to read is not expected: it counts from its
// first record, as before. On an error nothing is expected (logged).
func kafkaBacklog(ctx context.Context, cl *kgo.Client, group string, rewound bool, parts map[string][]int32, log *service.Logger) []kafkaPartition {
	adm := kadm.NewClient(cl)
	var topics []string
	for t := range parts {
		topics = append(topics, t)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	var starts kadm.ListedOffsets
	if err == nil {
		starts, err = adm.ListStartOffsets(ctx, topics...)
		if err == nil {
			err = starts.Error()
		}
	}
	var committed kadm.OffsetResponses
	if err == nil {
		committed, err = adm.FetchOffsets(ctx, group)
	}
	if err != nil {
		if log != nil {
			log.Warnf("tickcast_kafka: backlog of the assigned partitions unknown, their ticks count from their first record: %v", err)
		}
		return nil
	}
	var out []kafkaPartition
	for t, ps := range parts {
		for _, p := range ps {
			from := int64(0)
			if o, ok := starts.Lookup(t, p); ok {
				from = o.Offset
			}
			if c, ok := committed.Lookup(t, p); ok && !rewound && c.Err == nil && c.At >= 0 {
				from = max(from, c.At)
			}
			if e, ok := ends.Lookup(t, p); ok && e.Offset > from {
				out = append(out, kafkaPartition{t, p})
			}
		}
	}
	return out
}

// forget drops revoked partitions: the others' clock may pass on now.
func (k *kafkaTicks) forget(parts map[string][]int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for t, ps := range parts {
		for _, p := range ps {
			delete(k.last, kafkaPartition{t, p})
		}
	}
}
