package connect

import (
	"math"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
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
