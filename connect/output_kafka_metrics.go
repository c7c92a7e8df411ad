package connect

import (
	"sync"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaOutputMetrics count the records written and failed per topic; a
// topic's counters start at 0 on its first batch.
type kafkaOutputMetrics struct {
	produced, errors kafkaCounter // topic

	mu   sync.Mutex
	seen map[string]bool
}

func newKafkaOutputMetrics(m *service.Metrics) *kafkaOutputMetrics {
	return newKafkaOutputMetricsOf(func(name string, labels ...string) kafkaCounter { return m.NewCounter(name, labels...) })
}

func newKafkaOutputMetricsOf(counter func(string, ...string) kafkaCounter) *kafkaOutputMetrics {
	return &kafkaOutputMetrics{
		produced: counter("tickcast_kafka_produced", "topic"),
		errors:   counter("tickcast_kafka_produce_errors", "topic"),
		seen:     map[string]bool{},
	}
}

// wrote counts a batch's results by topic.
func (km *kafkaOutputMetrics) wrote(res kgo.ProduceResults) {
	if km == nil {
		return
	}
	km.mu.Lock()
	defer km.mu.Unlock()
	for _, r := range res {
		topic := r.Record.Topic
		if !km.seen[topic] {
			km.seen[topic] = true
			km.produced.Incr(0, topic)
			km.errors.Incr(0, topic)
		}
		if r.Err != nil {
			km.errors.Incr(1, topic)
			continue
		}
		km.produced.Incr(1, topic)
	}
}

// observe names the output's log lines with its stage and replica, and
// registers its metrics.
func (o *kafkaOutput) observe(conf *service.ParsedConfig, mgr *service.Resources) error {
	stage, replica, err := kafkaIdentity(conf, "")
	if err != nil {
		return err
	}
	log := mgr.Logger().With("replica", replica)
	if stage != "" {
		log = log.With("stage", stage)
	}
	o.log, o.metrics = log, newKafkaOutputMetrics(mgr.Metrics())
	return nil
}
