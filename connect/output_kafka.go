package connect

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	koFieldTopic       = "topic"
	koFieldKey         = "key"
	koFieldPartitioner = "partitioner"
	koFieldIdempotent  = "idempotent"
	koFieldTimeout     = "timeout"
	koFieldBatching    = "batching"
)

func kafkaOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Produces messages to a Kafka or Redpanda topic, keyed by pair.").
		Description(`
Each message becomes a record whose key is the pair (so a pair's records share a partition,
in order) and whose headers carry tickcast_kind, tickcast_pair and the other tickcast
metadata that travels (tickcast_ts, tickcast_flush, tickcast_repair, tickcast_reject); the
tickcast_kafka input turns them back into metadata. The producer is idempotent and waits for
all in-sync replicas (acks=all). A batch is acknowledged once every record of it is written;
otherwise the batch fails and Benthos retries it (records written before the failure are
written again: at least once). An empty key leaves the record unkeyed.`).
		Field(service.NewStringListField(kiFieldSeedBrokers).Description("Brokers to bootstrap from; an element may hold several, comma-separated.").Example([]string{"localhost:9092"})).
		Field(service.NewInterpolatedStringField(koFieldTopic).Description("Topic of the records.")).
		Field(service.NewInterpolatedStringField(koFieldKey).Description("Key of the records.").Default(`${! @tickcast_pair.or("") }`)).
		Field(service.NewStringEnumField(koFieldPartitioner, "murmur2_hash", "round_robin", "least_backup").Description("murmur2_hash: Kafka's default (murmur2 of the key; unkeyed records stick to a partition per batch).").Default("murmur2_hash").Advanced()).
		Field(service.NewBoolField(koFieldIdempotent).Description("Idempotent producer: retries within the producer do not duplicate or reorder records.").Default(true).Advanced()).
		Field(service.NewStringField(kiFieldClientID).Description("Client ID sent to the brokers.").Default("tickcast")).
		Field(service.NewDurationField(koFieldTimeout).Description("How long a record may take to be written before its batch fails (at least 1s).").Default("10s").Advanced()).
		Field(service.NewOutputMaxInFlightField().Default(1).Description("Batches written at once; keep 1 to keep a pair's records in order.")).
		Field(service.NewBatchPolicyField(koFieldBatching)).
		Fields(kafkaIdentityFields()...)
}

func newKafkaOutput(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
	out, err := kafkaOutputFromConfig(conf)
	if err != nil {
		return nil, service.BatchPolicy{}, 0, err
	}
	policy, err := conf.FieldBatchPolicy(koFieldBatching)
	if err != nil {
		return nil, service.BatchPolicy{}, 0, err
	}
	inFlight, err := conf.FieldMaxInFlight()
	if err != nil {
		return nil, service.BatchPolicy{}, 0, err
	}
	if err := out.observe(conf, mgr); err != nil {
		return nil, service.BatchPolicy{}, 0, err
	}
	return out, policy, inFlight, nil
}

func kafkaOutputFromConfig(conf *service.ParsedConfig) (*kafkaOutput, error) {
	seeds, err := kafkaSeedBrokers(conf)
	if err != nil {
		return nil, err
	}
	o := &kafkaOutput{}
	if o.topic, err = conf.FieldInterpolatedString(koFieldTopic); err != nil {
		return nil, err
	}
	if o.key, err = conf.FieldInterpolatedString(koFieldKey); err != nil {
		return nil, err
	}
	opts, err := kafkaProducerOpts(conf)
	if err != nil {
		return nil, err
	}
	o.opts = append(opts, kgo.SeedBrokers(seeds...))
	return o, nil
}

// kafkaProducerOpts: acks=all always (idempotence requires it), the
// partitioner, the client ID and the delivery timeout.
func kafkaProducerOpts(conf *service.ParsedConfig) ([]kgo.Opt, error) {
	part, err := conf.FieldString(koFieldPartitioner)
	if err != nil {
		return nil, err
	}
	idem, err := conf.FieldBool(koFieldIdempotent)
	if err != nil {
		return nil, err
	}
	id, err := conf.FieldString(kiFieldClientID)
	if err != nil {
		return nil, err
	}
	timeout, err := conf.FieldDuration(koFieldTimeout)
	if err != nil {
		return nil, err
	}
	if timeout < time.Second {
		return nil, fmt.Errorf("tickcast_kafka output: %s must be at least 1s", koFieldTimeout)
	}
	opts := []kgo.Opt{kgo.ClientID(id), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kafkaPartitioner(part)), kgo.RecordDeliveryTimeout(timeout)}
	if !idem {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts, nil
}

func kafkaPartitioner(name string) kgo.Partitioner {
	switch name {
	case "round_robin":
		return kgo.RoundRobinPartitioner()
	case "least_backup":
		return kgo.LeastBackupPartitioner()
	}
	return kgo.StickyKeyPartitioner(nil) // nil hasher: Kafka's murmur2
}

// kafkaOutput produces each batch synchronously.
type kafkaOutput struct {
	topic, key *service.InterpolatedString
	opts       []kgo.Opt
	log        *service.Logger
	metrics    *kafkaOutputMetrics // nil: none

	mu sync.Mutex
	cl *kgo.Client
}

func (o *kafkaOutput) Connect(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cl != nil {
		return nil
	}
	cl, err := kgo.NewClient(slices.Concat(o.opts, []kgo.Opt{kgo.WithLogger(kafkaLogger{o.log})})...)
	if err != nil {
		return fmt.Errorf("tickcast_kafka output: %w", err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return fmt.Errorf("tickcast_kafka output: %w", err)
	}
	o.cl = cl
	return nil
}

// WriteBatch writes the batch and waits: an error fails the batch, and
// Benthos retries it.
func (o *kafkaOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	o.mu.Lock()
	cl := o.cl
	o.mu.Unlock()
	if cl == nil {
		return service.ErrNotConnected
	}
	recs := make([]*kgo.Record, len(batch))
	for i, m := range batch {
		r, err := o.record(m)
		if err != nil {
			return err
		}
		recs[i] = r
	}
	res := cl.ProduceSync(ctx, recs...)
	o.metrics.wrote(res)
	return res.FirstErr()
}

func (o *kafkaOutput) record(m *service.Message) (*kgo.Record, error) {
	topic, err := o.topic.TryString(m)
	if err != nil {
		return nil, fmt.Errorf("tickcast_kafka output: topic: %w", err)
	}
	key, err := o.key.TryString(m)
	if err != nil {
		return nil, fmt.Errorf("tickcast_kafka output: key: %w", err)
	}
	body, err := m.AsBytes()
	if err != nil {
		return nil, err
	}
	r := &kgo.Record{Topic: topic, Value: body, Headers: kafkaRecordHeaders(m)}
	if key != "" {
		r.Key = []byte(key)
	}
	return r, nil
}

func (o *kafkaOutput) Close(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cl != nil {
		o.cl.Close()
		o.cl = nil
	}
	return nil
}
