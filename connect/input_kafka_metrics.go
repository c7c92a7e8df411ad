package connect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The fields naming the stage and replica a tickcast_kafka input or output
// runs in: every log line of the plugin carries them.
const (
	kFieldStage   = "stage"
	kFieldReplica = "replica"
)

func kafkaIdentityFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewStringField(kFieldStage).Description("The stage this runs in, on every log line (`stage`). Empty: $TICKCAST_STAGE, else (input) the consumer group.").Default("").Advanced(),
		service.NewStringField(kFieldReplica).Description("The replica of the stage, on every log line (`replica`). Empty: $TICKCAST_REPLICA, else the host name.").Default("").Advanced(),
	}
}

// kafkaIdentity reads the stage and replica, with their defaults.
func kafkaIdentity(conf *service.ParsedConfig, stageFallback string) (stage, replica string, err error) {
	if stage, err = conf.FieldString(kFieldStage); err != nil {
		return "", "", err
	}
	if replica, err = conf.FieldString(kFieldReplica); err != nil {
		return "", "", err
	}
	stage = firstNonEmpty(stage, os.Getenv("TICKCAST_STAGE"), stageFallback)
	host, _ := os.Hostname()
	return stage, firstNonEmpty(replica, os.Getenv("TICKCAST_REPLICA"), host), nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Gauge and counter are what the metrics need of Benthos' (tests record them).
type (
	kafkaGauge   interface{ Set(int64, ...string) }
	kafkaCounter interface{ Incr(int64, ...string) }
)

// kafkaInputMetrics are the consumer's metrics: lag per partition (high
// watermark less the next offset to consume, per fetch), rebalances, the
// partitions held, periodic commits, and when each partition last gave a
// record (or was assigned), for stuck partitions. Counters start at 0, so
// that increase() sees their first event.
type kafkaInputMetrics struct {
	group        string
	lag          kafkaGauge   // topic, partition, group
	lastConsumed kafkaGauge   // topic, partition, group
	assignedN    kafkaGauge   // group
	rebalances   kafkaCounter // group, kind
	commits      kafkaCounter // group
	commitErrors kafkaCounter // group
	now          func() time.Time

	mu   sync.Mutex
	next map[kafkaPartition]int64 // held partitions: the next offset to consume, -1 unknown
}

func newKafkaInputMetrics(m *service.Metrics, group string) *kafkaInputMetrics {
	return newKafkaInputMetricsOf(group,
		func(name string, labels ...string) kafkaGauge { return m.NewGauge(name, labels...) },
		func(name string, labels ...string) kafkaCounter { return m.NewCounter(name, labels...) })
}

func newKafkaInputMetricsOf(group string, gauge func(string, ...string) kafkaGauge, counter func(string, ...string) kafkaCounter) *kafkaInputMetrics {
	km := &kafkaInputMetrics{
		group:        group,
		lag:          gauge("tickcast_kafka_consumer_lag", "topic", "partition", "group"),
		lastConsumed: gauge("tickcast_kafka_last_consumed_timestamp_seconds", "topic", "partition", "group"),
		assignedN:    gauge("tickcast_kafka_partitions_assigned", "group"),
		rebalances:   counter("tickcast_kafka_rebalances", "group", "kind"),
		commits:      counter("tickcast_kafka_commits", "group"),
		commitErrors: counter("tickcast_kafka_commit_errors", "group"),
		now:          time.Now,
		next:         map[kafkaPartition]int64{},
	}
	for _, kind := range []string{"assigned", "revoked", "lost"} {
		km.rebalances.Incr(0, group, kind)
	}
	km.commits.Incr(0, group)
	km.commitErrors.Incr(0, group)
	km.assignedN.Set(0, group)
	return km
}

// rebalanced counts a change of assignment (kind assigned, revoked or
// lost). Assigned partitions start their clock of progress now; taken ones
// have their lag zeroed (Benthos cannot delete a series).
func (km *kafkaInputMetrics) rebalanced(kind string, parts map[string][]int32) {
	if km == nil || len(parts) == 0 {
		return
	}
	km.mu.Lock()
	defer km.mu.Unlock()
	km.rebalances.Incr(1, km.group, kind)
	now := km.now().Unix()
	for t, ps := range parts {
		for _, p := range ps {
			tp, ps := kafkaPartition{t, p}, strconv.Itoa(int(p))
			if kind == "assigned" {
				km.next[tp] = -1
				km.lastConsumed.Set(now, t, ps, km.group)
				continue
			}
			delete(km.next, tp)
			km.lag.Set(0, t, ps, km.group)
		}
	}
	km.assignedN.Set(int64(len(km.next)), km.group)
}

// fetched updates the lag of each held partition in the fetches, and the
// time of progress of those that gave records.
func (km *kafkaInputMetrics) fetched(fetches kgo.Fetches) {
	if km == nil {
		return
	}
	km.mu.Lock()
	defer km.mu.Unlock()
	now := km.now().Unix()
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		tp := kafkaPartition{p.Topic, p.Partition}
		next, held := km.next[tp]
		if !held || p.Err != nil || p.HighWatermark < 0 {
			return
		}
		ps := strconv.Itoa(int(p.Partition))
		if n := len(p.Records); n > 0 {
			next = p.Records[n-1].Offset + 1
			km.next[tp] = next
			km.lastConsumed.Set(now, p.Topic, ps, km.group)
		}
		if next >= 0 {
			km.lag.Set(max(p.HighWatermark-next, 0), p.Topic, ps, km.group)
		}
	})
}

// committed counts a periodic commit that committed something, and its
// failure (the request's or a partition's).
func (km *kafkaInputMetrics) committed(req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) error {
	if err == nil && (req == nil || len(req.Topics) == 0) {
		return nil // nothing to commit
	}
	if err == nil && resp != nil {
		err = kafkaCommitError(resp)
	}
	if km != nil {
		km.commits.Incr(1, km.group)
		if err != nil {
			km.commitErrors.Incr(1, km.group)
		}
	}
	return err
}

func kafkaCommitError(resp *kmsg.OffsetCommitResponse) error {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}

// observe names the input's log lines with its stage, replica and group, and
// registers its metrics.
func (in *kafkaInput) observe(conf *service.ParsedConfig, mgr *service.Resources) error {
	stage, replica, err := kafkaIdentity(conf, in.conf.group)
	if err != nil {
		return err
	}
	in.log = mgr.Logger().With("stage", stage, "replica", replica, "group", in.conf.group)
	in.metrics = newKafkaInputMetrics(mgr.Metrics(), in.conf.group)
	return nil
}

// onCommit is the periodic commit's callback: counted, and logged on failure.
func (in *kafkaInput) onCommit(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
	err = in.metrics.committed(req, resp, err)
	if err != nil && !errors.Is(err, context.Canceled) && in.log != nil {
		in.log.Errorf("tickcast_kafka: commit: %v", err)
	}
}

// rebalanced counts and logs a change of the input's assignment.
func (in *kafkaInput) rebalanced(kind string, parts map[string][]int32) {
	in.metrics.rebalanced(kind, parts)
	if in.log != nil && len(parts) > 0 {
		in.log.With("rebalance", kind, "partitions", fmt.Sprint(parts)).Infof("tickcast_kafka: partitions %s", kind)
	}
}
