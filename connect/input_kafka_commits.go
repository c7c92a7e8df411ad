package connect

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaCommits decides which records may be committed. Benthos may
// acknowledge batches out of order (several in flight), and committing an
// offset commits everything before it in the partition, so each partition
// keeps its polled batches in order and only the last record of a run of
// acknowledged batches at its head is marked for commit. A nacked batch stays
// at its head and holds the partition's commits back until the partition is
// revoked or the consumer closes: the records come again to whoever reads
// the partition next.
type kafkaCommits struct {
	mu    sync.Mutex
	parts map[kafkaPartition]*kafkaPartQueue
}

type kafkaPartition struct {
	topic string
	part  int32
}

// kafkaPartQueue is one partition's polled, not yet committable batches;
// revoked when the partition was taken away (its late acks mark nothing).
type kafkaPartQueue struct {
	spans   []*kafkaSpan
	revoked bool
}

// kafkaSpan is the records of one partition in one polled batch.
type kafkaSpan struct {
	queue *kafkaPartQueue
	last  *kgo.Record
	acked bool
}

func newKafkaCommits() *kafkaCommits {
	return &kafkaCommits{parts: map[kafkaPartition]*kafkaPartQueue{}}
}

// add queues a polled batch (records of a partition in offset order, as
// franz-go returns them) and returns its spans, for ack.
func (c *kafkaCommits) add(recs []*kgo.Record) []*kafkaSpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	byPart := map[kafkaPartition]*kafkaSpan{}
	var spans []*kafkaSpan
	for _, r := range recs {
		tp := kafkaPartition{r.Topic, r.Partition}
		if s, ok := byPart[tp]; ok {
			s.last = r
			continue
		}
		q := c.parts[tp]
		if q == nil {
			q = &kafkaPartQueue{}
			c.parts[tp] = q
		}
		s := &kafkaSpan{queue: q, last: r}
		q.spans = append(q.spans, s)
		byPart[tp] = s
		spans = append(spans, s)
	}
	return spans
}

// ack records a batch as acknowledged and returns the records to mark: per
// partition, the last of the acknowledged run at its head.
func (c *kafkaCommits) ack(spans []*kafkaSpan) []*kgo.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	var marks []*kgo.Record
	for _, s := range spans {
		s.acked = true
		if r := s.queue.popAcked(); r != nil && !s.queue.revoked {
			marks = append(marks, r)
		}
	}
	return marks
}

// popAcked drops the acknowledged spans at the head and returns the last
// record of the last one dropped, nil if none.
func (q *kafkaPartQueue) popAcked() *kgo.Record {
	var last *kgo.Record
	for len(q.spans) > 0 && q.spans[0].acked {
		last = q.spans[0].last
		q.spans[0] = nil
		q.spans = q.spans[1:]
	}
	return last
}

// revoke forgets the partitions: acks still in flight for them mark nothing.
// (franz-go would ignore a mark for a partition it no longer consumes; this
// also keeps a stale ack from marking after the partition comes back.)
func (c *kafkaCommits) revoke(parts map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, ps := range parts {
		for _, p := range ps {
			tp := kafkaPartition{t, p}
			if q := c.parts[tp]; q != nil {
				q.revoked = true
				delete(c.parts, tp)
			}
		}
	}
}
