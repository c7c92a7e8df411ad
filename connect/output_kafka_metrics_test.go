package connect

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKafkaOutputMetricsCount(t *testing.T) {
	r, _, c := newKafkaMetricsRec()
	km := newKafkaOutputMetricsOf(c)
	rec := func(topic string) *kgo.Record { return &kgo.Record{Topic: topic} }
	km.wrote(kgo.ProduceResults{{Record: rec("a")}, {Record: rec("a")}, {Record: rec("b"), Err: errors.New("timeout")}})
	for k, want := range map[string]int64{"tickcast_kafka_produced{a}": 2, "tickcast_kafka_produce_errors{a}": 0,
		"tickcast_kafka_produced{b}": 0, "tickcast_kafka_produce_errors{b}": 1} {
		name, topic, _ := strings.Cut(strings.TrimSuffix(k, "}"), "{")
		if got := r.get(name, topic); got != want {
			t.Errorf("%s = %d, want %d", k, got, want)
		}
	}
}

// Through a stream and tickcast's Prometheus exporter, the metrics come out
// under the names monitor/rules.yml reads, with Benthos' label and path.
func TestKafkaMetricsExported(t *testing.T) {
	seeds := kafkaCluster(t, 1, "in", "out")
	produceRaw(t, seeds, &kgo.Record{Topic: "in", Value: []byte("a")}, &kgo.Record{Topic: "in", Value: []byte("b")})
	pm := NewMetrics()
	env, err := NewEnvironment(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pm.register(env); err != nil {
		t.Fatal(err)
	}
	b := env.NewStreamBuilder()
	if err := b.SetYAML(`
input:
  tickcast_kafka: {seed_brokers: [ "` + seeds + `" ], topics: [ in ], consumer_group: g, commit_period: 100ms, stage: relay}
output:
  tickcast_kafka: {seed_brokers: [ "` + seeds + `" ], topic: out}
`); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMetricsYAML(metricsYAML); err != nil {
		t.Fatal(err)
	}
	runKafkaStream(t, b)
	want := []string{
		`tickcast_kafka_produced{label="",path="root.output",topic="out"} 2`,
		`tickcast_kafka_produce_errors{label="",path="root.output",topic="out"} 0`,
		`tickcast_kafka_consumer_lag{group="g",label="",partition="0",path="root.input",topic="in"} 0`,
		`tickcast_kafka_rebalances{group="g",kind="assigned",label="",path="root.input"} 1`,
		`tickcast_kafka_partitions_assigned{group="g",label="",path="root.input"} 1`,
		`tickcast_kafka_commit_errors{group="g",label="",path="root.input"} 0`,
		`tickcast_kafka_last_consumed_timestamp_seconds{group="g",label="",partition="0",path="root.input",topic="in"}`,
	}
	waitFor(t, "the metrics", func() bool {
		got := scrape(pm)
		for _, w := range want {
			if !strings.Contains(got, w) {
				return false
			}
		}
		return true
	})
}
