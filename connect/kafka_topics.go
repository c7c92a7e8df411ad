package connect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaTopic is one of the topics the distributed stages share. Every
// record is keyed by pair, so a pair's records keep one partition, in order.
type KafkaTopic struct {
	Name      string
	Retention time.Duration
	Cleanup   string // cleanup.policy
}

// KafkaTopics are the stages' topics. trades keeps 3 days: the correction
// horizon (2 h) a rewinding candles replica re-reads, plus a day to rebuild
// a stage from the log, plus a weekend's margin. Candles and features keep
// 7 days. All are cleanup.policy=delete: compaction by key would keep one
// record per pair, not per candle.
var KafkaTopics = []KafkaTopic{
	{Name: "trades", Retention: 72 * time.Hour, Cleanup: "delete"},
	{Name: "candles", Retention: 7 * 24 * time.Hour, Cleanup: "delete"},
	{Name: "features", Retention: 7 * 24 * time.Hour, Cleanup: "delete"},
}

// ErrKafkaPartitions: a topic exists with other partitions than asked.
// Raising them is refused: murmur2(pair) mod partitions would move pairs to
// other partitions, out of order with their history.
var ErrKafkaPartitions = errors.New("partition count differs")

// KafkaTopicState is a topic as the cluster has it.
type KafkaTopicState struct {
	Name        string
	Partitions  int
	Replication int
	Config      map[string]string
	Created     bool // created by this apply
}

// ApplyKafkaTopics creates the missing topics (idempotent) and checks that
// the existing ones have the partitions asked; their retention and cleanup
// are set to ours.
func ApplyKafkaTopics(ctx context.Context, seeds []string, partitions int32, replication int16) ([]KafkaTopicState, error) {
	adm, done, err := kafkaAdmin(seeds)
	if err != nil {
		return nil, err
	}
	defer done()
	names := kafkaTopicNames()
	have, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var created []string
	for _, t := range KafkaTopics {
		d, ok := have[t.Name]
		if ok && d.Err == nil {
			if n := len(d.Partitions); n != int(partitions) {
				return nil, fmt.Errorf("topic %s has %d partitions, not %d: %w (changing them would move pairs between partitions; create new topics instead)", t.Name, n, partitions, ErrKafkaPartitions)
			}
			continue
		}
		if err := createKafkaTopic(ctx, adm, t, partitions, replication); err != nil {
			return nil, err
		}
		created = append(created, t.Name)
	}
	if err := alterKafkaTopics(ctx, adm); err != nil {
		return nil, err
	}
	states, err := ListKafkaTopics(ctx, seeds) // a new client: this one cached "unknown topic"
	for i := range states {
		states[i].Created = slices.Contains(created, states[i].Name)
	}
	return states, err
}

// ListKafkaTopics describes the stages' topics that exist.
func ListKafkaTopics(ctx context.Context, seeds []string) ([]KafkaTopicState, error) {
	adm, done, err := kafkaAdmin(seeds)
	if err != nil {
		return nil, err
	}
	defer done()
	return describeKafkaTopics(ctx, adm)
}

func kafkaAdmin(seeds []string) (*kadm.Client, func(), error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return nil, nil, fmt.Errorf("kafka: %w", err)
	}
	return kadm.NewClient(cl), cl.Close, nil
}

func kafkaTopicNames() []string {
	var names []string
	for _, t := range KafkaTopics {
		names = append(names, t.Name)
	}
	return names
}

func (t KafkaTopic) configs() map[string]*string {
	ms := strconv.FormatInt(t.Retention.Milliseconds(), 10)
	return map[string]*string{"retention.ms": &ms, "cleanup.policy": &t.Cleanup}
}

func createKafkaTopic(ctx context.Context, adm *kadm.Client, t KafkaTopic, partitions int32, replication int16) error {
	r, err := adm.CreateTopic(ctx, partitions, replication, t.configs(), t.Name)
	if err == nil {
		err = r.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", t.Name, err)
	}
	return nil
}

func alterKafkaTopics(ctx context.Context, adm *kadm.Client) error {
	for _, t := range KafkaTopics {
		var alter []kadm.AlterConfig
		for k, v := range t.configs() {
			alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: v})
		}
		rs, err := adm.AlterTopicConfigs(ctx, alter, t.Name)
		if err == nil {
			_, err = rs.On(t.Name, nil)
		}
		if err != nil {
			return fmt.Errorf("set config of topic %s: %w", t.Name, err)
		}
	}
	return nil
}

func describeKafkaTopics(ctx context.Context, adm *kadm.Client) ([]KafkaTopicState, error) {
	names := kafkaTopicNames()
	td, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("describe topics: %w", err)
	}
	var out []KafkaTopicState
	for _, name := range names {
		d, ok := td[name]
		if !ok || d.Err != nil {
			continue
		}
		s := KafkaTopicState{Name: name, Partitions: len(d.Partitions), Replication: d.Partitions.NumReplicas(), Config: map[string]string{}}
		if rc, err := cfgs.On(name, nil); err == nil {
			for _, c := range rc.Configs {
				if (c.Key == "retention.ms" || c.Key == "cleanup.policy") && c.Value != nil {
					s.Config[c.Key] = *c.Value
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}
