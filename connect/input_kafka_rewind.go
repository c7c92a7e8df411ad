package connect

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// MetaKafkaRewound is "true" on a record the previous owner of its partition
// had already processed (below the committed offset), read again by the
// rewind; outputs of side records (late trades, gaps) drop it.
const MetaKafkaRewound = "kafka_rewound"

// kafkaRewind moves each newly assigned partition back from its committed
// offset c so that a new owner rebuilds the state (open and correctable
// candle windows) the previous owner held: the event time of record c-1,
// less by, truncated to align (a window boundary), is the floor F; the
// partition restarts at the first record whose timestamp is at least F
// (ListOffsets by time) and records below c older than F are dropped. Every
// window starting at or after F is then rebuilt from all of its records,
// and no window before F is touched.
type kafkaRewind struct {
	by, align time.Duration
	seeds     []string

	mu     sync.Mutex
	floors map[kafkaPartition]kafkaFloor
}

type kafkaFloor struct {
	committed int64     // records below it were processed by the previous owner
	from      time.Time // re-read records older than this are dropped
}

// adjust is the group's AdjustFetchOffsetsFn: committed offsets in, the
// rewound ones out. Partitions without a commit start as start_from says.
func (rw *kafkaRewind) adjust(ctx context.Context, cl *kgo.Client, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	committed := map[kafkaPartition]int64{}
	for t, ps := range offsets {
		for p, o := range ps {
			if c := o.EpochOffset().Offset; c > 0 {
				committed[kafkaPartition{t, p}] = c
			}
		}
	}
	if len(committed) == 0 {
		return offsets, nil
	}
	last, err := kafkaRecordsBefore(ctx, rw.seeds, committed)
	if err != nil {
		return nil, fmt.Errorf("tickcast_kafka rewind: %w", err)
	}
	adm := kadm.NewClient(cl)
	for tp, c := range committed {
		from := kafkaTruncate(kafkaEventTime(last[tp]).Add(-rw.by), rw.align)
		o, err := kafkaOffsetAfter(ctx, adm, tp, from)
		if err != nil {
			return nil, fmt.Errorf("tickcast_kafka rewind %s/%d: %w", tp.topic, tp.part, err)
		}
		offsets[tp.topic][tp.part] = kgo.NewOffset().At(min(o, c)).WithEpoch(-1)
		rw.setFloor(tp, kafkaFloor{committed: c, from: from})
	}
	return offsets, nil
}

// kafkaOffsetAfter is the offset of the partition's first record whose
// timestamp is at least from (the end offset when there is none).
func kafkaOffsetAfter(ctx context.Context, adm *kadm.Client, tp kafkaPartition, from time.Time) (int64, error) {
	lo, err := adm.ListOffsetsAfterMilli(ctx, from.UnixMilli(), tp.topic)
	if err != nil {
		return 0, err
	}
	l, ok := lo.Lookup(tp.topic, tp.part)
	if !ok {
		return 0, fmt.Errorf("no offset listed")
	}
	if l.Err != nil {
		return 0, l.Err
	}
	return l.Offset, nil
}

// kafkaRecordsBefore reads, with a direct (groupless) client, the record
// just before each committed offset: the last one the previous owner
// processed.
func kafkaRecordsBefore(ctx context.Context, seeds []string, committed map[kafkaPartition]int64) (map[kafkaPartition]*kgo.Record, error) {
	parts := map[string]map[int32]kgo.Offset{}
	for tp, c := range committed {
		if parts[tp.topic] == nil {
			parts[tp.topic] = map[int32]kgo.Offset{}
		}
		parts[tp.topic][tp.part] = kgo.NewOffset().At(c - 1)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumePartitions(parts))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got := map[kafkaPartition]*kgo.Record{}
	for len(got) < len(committed) {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read committed records: %w", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			tp := kafkaPartition{r.Topic, r.Partition}
			if _, ok := got[tp]; !ok && r.Offset >= committed[tp]-1 {
				got[tp] = r
			}
		})
	}
	return got, nil
}

// kafkaEventTime is a record's event time: its tickcast_ts header (ticks),
// else its JSON "ts" (trades), else its timestamp.
func kafkaEventTime(r *kgo.Record) time.Time {
	for _, h := range r.Headers {
		if h.Key == MetaTS {
			if t, err := time.Parse(time.RFC3339Nano, string(h.Value)); err == nil {
				return t
			}
		}
	}
	var v struct {
		TS time.Time `json:"ts"`
	}
	if json.Unmarshal(r.Value, &v) == nil && !v.TS.IsZero() {
		return v.TS
	}
	return r.Timestamp
}

// kafkaTruncate rounds t down to a multiple of d since the Unix epoch (how
// candle windows are aligned).
func kafkaTruncate(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	ns := t.UnixNano()
	return time.Unix(0, ns-((ns%int64(d))+int64(d))%int64(d)).UTC()
}

func (rw *kafkaRewind) setFloor(tp kafkaPartition, f kafkaFloor) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.floors[tp] = f
}

// reread reports whether r was processed by the previous owner and, if so,
// whether it is older than the floor (to drop).
func (rw *kafkaRewind) reread(r *kgo.Record) (again, drop bool) {
	rw.mu.Lock()
	f, ok := rw.floors[kafkaPartition{r.Topic, r.Partition}]
	rw.mu.Unlock()
	if !ok || r.Offset >= f.committed {
		return false, false
	}
	return true, kafkaEventTime(r).Before(f.from)
}

func (rw *kafkaRewind) forget(parts map[string][]int32) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	for t, ps := range parts {
		for _, p := range ps {
			delete(rw.floors, kafkaPartition{t, p})
		}
	}
}
