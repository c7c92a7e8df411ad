package connect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	kiFieldSeedBrokers       = "seed_brokers"
	kiFieldTopics            = "topics"
	kiFieldConsumerGroup     = "consumer_group"
	kiFieldClientID          = "client_id"
	kiFieldStartFrom         = "start_from"
	kiFieldMaxPollRecords    = "max_poll_records"
	kiFieldFetchMaxBytes     = "fetch_max_bytes"
	kiFieldFetchMaxPartBytes = "fetch_max_partition_bytes"
	kiFieldFetchMaxWait      = "fetch_max_wait"
	kiFieldCommitPeriod      = "commit_period"
	kiFieldSessionTimeout    = "session_timeout"
	kiFieldRewind            = "rewind"
	kiFieldRewindAlign       = "rewind_align"
	kiFieldMergeTicks        = "merge_ticks"
)

// Metadata the tickcast_kafka input sets on each message, besides the
// record's tickcast_* headers and its other headers.
const (
	MetaKafkaTopic      = "kafka_topic"
	MetaKafkaPartition  = "kafka_partition"
	MetaKafkaOffset     = "kafka_offset"
	MetaKafkaKey        = "kafka_key"
	MetaKafkaTimestamp  = "kafka_timestamp"
	MetaKafkaGeneration = "kafka_generation"
	MetaKafkaAssigned   = "kafka_assigned"
	MetaKafkaAssignment = "kafka_assignment"
)

func kafkaInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Consumes records from Kafka or Redpanda topics in a consumer group, at least once.").
		Description(`
Joins consumer_group with cooperative-sticky rebalancing (franz-go) and emits one message per
record, in batches of up to max_poll_records. A record's offset is committed (every
commit_period, on a rebalance and on close) only once its message, and every earlier one
of its partition, is acknowledged downstream: a crash redelivers what was not acknowledged.
A nacked batch is replayed in process while auto_replay_nacks is true; otherwise its
partition commits nothing past it until a restart or a rebalance redelivers it. Acks that
arrive after their partition was revoked commit nothing (the new owner reads it again from
the last commit).

Metadata: kafka_topic, kafka_partition, kafka_offset, kafka_key, kafka_timestamp (RFC3339),
kafka_generation (the group generation the record was fetched in), kafka_assigned (the
generation in which its partition was last newly assigned to this client: it stays across
rebalances that keep the partition here, and changes when the partition comes back after it
was revoked or lost; -1 without a group), the record's headers, and tickcast_kind /
tickcast_pair from the headers of those names (the pair from the key when the header is
missing). A tickcast header whose value is not valid (unknown kind, unknown pair, bad time)
is left out, so a bad record passes with that metadata empty. Tick messages in a group also
carry kafka_assignment, the partitions held when the tick was made, each with its
kafka_assigned ("topic/partition@generation", comma-separated): a stateful processor drops
the state of partitions held no more, and rebuilds a partition whose kafka_assigned changed.
Records of a partition revoked after they were polled are not passed on.`).
		Field(service.NewStringListField(kiFieldSeedBrokers).Description("Brokers to bootstrap from; an element may hold several, comma-separated.").Example([]string{"localhost:9092"})).
		Field(service.NewStringListField(kiFieldTopics).Description("Topics to consume.")).
		Field(service.NewStringField(kiFieldConsumerGroup).Description("The consumer group. Empty: no group, a context reader: every partition of topics from rewind before the start (truncated to rewind_align; start_from when rewind is 0), nothing committed, kafka_generation -1.")).
		Field(service.NewStringField(kiFieldClientID).Description("Client ID sent to the brokers.").Default("tickcast")).
		Field(service.NewStringEnumField(kiFieldStartFrom, "oldest", "newest").Description("Where a partition without a committed offset starts.").Default("oldest")).
		Field(service.NewIntField(kiFieldMaxPollRecords).Description("Records per batch at most.").Default(1000)).
		Field(service.NewIntField(kiFieldFetchMaxBytes).Description("Bytes per fetch response at most. With fetch_max_partition_bytes it bounds what the client buffers (decompressed, several times more), most of a stage's memory in a backlog.").Default(4 << 20).Advanced()).
		Field(service.NewIntField(kiFieldFetchMaxPartBytes).Description("Bytes per partition per fetch at most.").Default(256 << 10).Advanced()).
		Field(service.NewDurationField(kiFieldFetchMaxWait).Description("How long a broker may wait for fetch_max_bytes to fill.").Default("500ms").Advanced()).
		Field(service.NewDurationField(kiFieldCommitPeriod).Description("How often acknowledged offsets are committed.").Default("1s")).
		Field(service.NewDurationField(kiFieldSessionTimeout).Description("How long the group waits for a silent member (killed, partitioned) before its partitions move to the others; heartbeats go every third of it. The broker bounds it (Kafka and Redpanda: 6s to 30m by default).").Default("6s").Advanced()).
		Field(service.NewDurationField(kiFieldRewind).Description("Rewind on assignment (0: off): a partition with a committed offset restarts at the first record whose timestamp is at least the event time of the last committed record less rewind, truncated to rewind_align; records below the committed offset are marked kafka_rewound=true and those older than that time dropped. A new owner thus rebuilds the windows still open or correctable: rewind >= interval + grace + the correction horizon.").Default("0s")).
		Field(service.NewDurationField(kiFieldRewindAlign).Description("The rewind starts at a multiple of this since the Unix epoch: the candle interval, so the first rebuilt window is whole.").Default("1m").Advanced()).
		Field(service.NewBoolField(kiFieldMergeTicks).Description("Merge the partitions' tick records into one clock: a tick passes on (without kafka_* metadata but kafka_assignment) once every partition read since assignment has passed it, so a partition behind (rewound) never has its pairs' windows closed by another's clock.").Default(false)).
		Fields(kafkaIdentityFields()...).
		Field(service.NewAutoRetryNacksToggleField())
}

func newKafkaInput(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
	in, err := kafkaInputFromConfig(conf)
	if err != nil {
		return nil, err
	}
	if err := in.observe(conf, mgr); err != nil {
		return nil, err
	}
	registerKafkaGroup(mgr, in)
	return service.AutoRetryNacksBatchedToggled(conf, in)
}

func kafkaInputFromConfig(conf *service.ParsedConfig) (*kafkaInput, error) {
	var c kafkaConsumerConfig
	var err error
	if c.seeds, err = kafkaSeedBrokers(conf); err != nil {
		return nil, err
	}
	if c.topics, err = conf.FieldStringList(kiFieldTopics); err != nil {
		return nil, err
	}
	if c.group, err = conf.FieldString(kiFieldConsumerGroup); err != nil {
		return nil, err
	}
	if c.clientID, err = conf.FieldString(kiFieldClientID); err != nil {
		return nil, err
	}
	if c.startFrom, err = conf.FieldString(kiFieldStartFrom); err != nil {
		return nil, err
	}
	if err := c.readLimits(conf); err != nil {
		return nil, err
	}
	if len(c.topics) == 0 {
		return nil, fmt.Errorf("tickcast_kafka: %s is required", kiFieldTopics)
	}
	in := &kafkaInput{conf: c}
	if err := in.readRewind(conf); err != nil {
		return nil, err
	}
	return in, in.readGroupless()
}

func (in *kafkaInput) readRewind(conf *service.ParsedConfig) error {
	by, err := conf.FieldDuration(kiFieldRewind)
	if err != nil {
		return err
	}
	align, err := conf.FieldDuration(kiFieldRewindAlign)
	if err != nil {
		return err
	}
	merge, err := conf.FieldBool(kiFieldMergeTicks)
	if err != nil {
		return err
	}
	if by < 0 || align < 0 {
		return fmt.Errorf("tickcast_kafka: %s and %s must not be negative", kiFieldRewind, kiFieldRewindAlign)
	}
	if by > 0 {
		in.rewind = &kafkaRewind{by: by, align: align, seeds: in.conf.seeds}
	}
	in.mergeTicks = merge
	return nil
}

// kafkaConsumerConfig is the input's configuration, turned into client
// options by opts.
type kafkaConsumerConfig struct {
	seeds, topics               []string
	group, clientID, startFrom  string
	maxPoll                     int
	fetchMaxBytes, fetchMaxPart int
	fetchMaxWait, commitPeriod  time.Duration
	sessionTimeout              time.Duration
}

func (c *kafkaConsumerConfig) readLimits(conf *service.ParsedConfig) (err error) {
	if c.sessionTimeout, err = conf.FieldDuration(kiFieldSessionTimeout); err != nil {
		return err
	}
	if c.sessionTimeout <= 0 {
		return fmt.Errorf("tickcast_kafka: %s must be positive", kiFieldSessionTimeout)
	}
	if c.maxPoll, err = conf.FieldInt(kiFieldMaxPollRecords); err != nil {
		return err
	}
	if c.fetchMaxBytes, err = conf.FieldInt(kiFieldFetchMaxBytes); err != nil {
		return err
	}
	if c.fetchMaxPart, err = conf.FieldInt(kiFieldFetchMaxPartBytes); err != nil {
		return err
	}
	if c.fetchMaxWait, err = conf.FieldDuration(kiFieldFetchMaxWait); err != nil {
		return err
	}
	if c.commitPeriod, err = conf.FieldDuration(kiFieldCommitPeriod); err != nil {
		return err
	}
	if c.maxPoll < 1 || c.fetchMaxBytes < 1 || c.fetchMaxPart < 1 || c.commitPeriod <= 0 {
		return fmt.Errorf("tickcast_kafka: %s, %s, %s and %s must be positive",
			kiFieldMaxPollRecords, kiFieldFetchMaxBytes, kiFieldFetchMaxPartBytes, kiFieldCommitPeriod)
	}
	return nil
}

// opts are the client's options: a group consumer that commits only the
// records marked (acknowledged), rebalancing cooperatively.
func (c *kafkaConsumerConfig) opts() []kgo.Opt {
	start := kgo.NewOffset().AtStart()
	if c.startFrom == "newest" {
		start = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.seeds...),
		kgo.ClientID(c.clientID),
		kgo.ConsumeTopics(c.topics...),
		kgo.ConsumeResetOffset(start),
		kgo.FetchMaxBytes(int32(min(c.fetchMaxBytes, 1<<30))),
		kgo.FetchMaxPartitionBytes(int32(min(c.fetchMaxPart, 1<<30))),
		kgo.FetchMaxWait(c.fetchMaxWait),
	}
	if c.group == "" {
		return opts
	}
	return append(opts,
		kgo.ConsumerGroup(c.group),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(c.commitPeriod),
		// A killed replica's pairs move after the session: franz-go's 45 s default
		// would hold them that long.
		kgo.SessionTimeout(c.sessionTimeout),
		kgo.HeartbeatInterval(max(c.sessionTimeout/3, 100*time.Millisecond)))
}

// KafkaAssignment is a consumer's place in its group: its member ID, the
// generation of its current assignment (-1 outside a group) and the
// partitions it holds, by topic.
type KafkaAssignment struct {
	MemberID   string
	Generation int32
	Partitions map[string][]int32
}

// kafkaInput is a group consumer whose acknowledged records, and only
// those, are committed (commits, in partition order).
type kafkaInput struct {
	conf  kafkaConsumerConfig
	log   *service.Logger
	extra []kgo.Opt // tests: shorter heartbeats

	metrics *kafkaInputMetrics // nil: none

	rewind     *kafkaRewind // nil: off
	groupless  kafkaGroupless
	mergeTicks bool
	ticks      *kafkaTicks

	// mu also makes each batch and each revocation whole to the other: a
	// batch made after a revocation holds nothing of its partitions.
	mu       sync.Mutex
	cl       *kgo.Client
	commits  *kafkaCommits
	assigned map[kafkaPartition]int32 // → the generation it was assigned in
}

func (in *kafkaInput) Connect(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cl != nil {
		return nil
	}
	in.commits, in.assigned, in.ticks = newKafkaCommits(), map[kafkaPartition]int32{}, newKafkaTicks()
	opts := append(in.conf.opts(), kgo.WithLogger(kafkaLogger{in.log}))
	if in.conf.group == "" {
		opts = append(opts, in.groupless.opts(time.Now())...)
	} else {
		opts = append(opts,
			kgo.OnPartitionsAssigned(in.onAssigned),
			kgo.OnPartitionsRevoked(in.onRevoked),
			kgo.OnPartitionsLost(in.onLost),
			kgo.AutoCommitCallback(in.onCommit))
	}
	if in.rewind != nil {
		in.rewind.floors = map[kafkaPartition]kafkaFloor{}
		opts = append(opts, kgo.AdjustFetchOffsetsFn(func(ctx context.Context, o map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
			return in.rewind.adjust(ctx, in.client(), o)
		}))
	}
	cl, err := kgo.NewClient(append(opts, in.extra...)...)
	if err != nil {
		return fmt.Errorf("tickcast_kafka: %w", err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return fmt.Errorf("tickcast_kafka: %w", err)
	}
	in.cl = cl
	return nil
}

func (in *kafkaInput) onAssigned(ctx context.Context, cl *kgo.Client, parts map[string][]int32) {
	in.rebalanced("assigned", parts)
	if in.mergeTicks {
		in.ticks.expect(kafkaBacklog(ctx, cl, in.conf.group, in.rewind != nil, parts, in.log))
	}
	_, gen := cl.GroupMetadata() // the new generation: stored on joining, before this
	in.mu.Lock()
	defer in.mu.Unlock()
	for t, ps := range parts {
		for _, p := range ps {
			if _, held := in.assigned[kafkaPartition{t, p}]; !held {
				in.assigned[kafkaPartition{t, p}] = gen
			}
		}
	}
}

// onRevoked forgets the revoked partitions' pending acks, so that late acks
// commit nothing, and commits what was acknowledged before the new owner
// reads from it.
func (in *kafkaInput) onRevoked(ctx context.Context, cl *kgo.Client, parts map[string][]int32) {
	in.rebalanced("revoked", parts)
	in.forget(parts)
	if err := cl.CommitMarkedOffsets(ctx); err != nil && in.log != nil {
		in.log.Warnf("tickcast_kafka: commit on revoke: %v", err)
	}
}

// onLost forgets partitions taken from us (a fatal group error): the group
// has moved on, so there is nothing to commit.
func (in *kafkaInput) onLost(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	in.rebalanced("lost", parts)
	in.forget(parts)
}

func (in *kafkaInput) forget(parts map[string][]int32) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.commits.revoke(parts)
	in.ticks.forget(parts)
	if in.rewind != nil {
		in.rewind.forget(parts)
	}
	for t, ps := range parts {
		for _, p := range ps {
			delete(in.assigned, kafkaPartition{t, p})
		}
	}
}

// Assignment returns the consumer's group generation and partitions (what a
// writer fenced by generation checks).
func (in *kafkaInput) Assignment() KafkaAssignment {
	in.mu.Lock()
	defer in.mu.Unlock()
	a := KafkaAssignment{Generation: -1, Partitions: map[string][]int32{}}
	if in.cl != nil {
		a.MemberID, a.Generation = in.cl.GroupMetadata()
	}
	for tp := range in.assigned {
		a.Partitions[tp.topic] = append(a.Partitions[tp.topic], tp.part)
	}
	for _, ps := range a.Partitions {
		slices.Sort(ps)
	}
	return a
}

func (in *kafkaInput) client() *kgo.Client {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cl
}

// ReadBatch polls until records come and emits one message per record. Its
// ack marks the records for the next commit (a nack marks nothing).
func (in *kafkaInput) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	cl := in.client()
	if cl == nil {
		return nil, nil, service.ErrNotConnected
	}
	for {
		fetches := cl.PollRecords(ctx, in.conf.maxPoll)
		in.metrics.fetched(fetches)
		if fetches.IsClientClosed() {
			return nil, nil, service.ErrNotConnected
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		recs := fetches.Records()
		if len(recs) > 0 {
			in.logErrors(fetches)
			batch, ack := in.batch(cl, recs)
			if len(batch) > 0 {
				return batch, ack, nil
			}
			_ = ack(ctx, nil) // only ticks or dropped re-reads: nothing to wait for
			continue
		}
		if err := fetches.Err0(); err != nil {
			return nil, nil, fmt.Errorf("tickcast_kafka: fetch: %w", err)
		}
	}
}

func (in *kafkaInput) logErrors(fetches kgo.Fetches) {
	fetches.EachError(func(topic string, part int32, err error) {
		if in.log != nil && !errors.Is(err, context.Canceled) {
			in.log.Warnf("tickcast_kafka: fetch %s/%d: %v", topic, part, err)
		}
	})
}

// batch turns the records into messages: re-read records below the floor
// are dropped, tick records merged (merge_ticks), and records of partitions
// revoked since the poll dropped (their new owner reads them). Only records
// at or past the committed offset are tracked for commit.
func (in *kafkaInput) batch(cl *kgo.Client, recs []*kgo.Record) (service.MessageBatch, service.AckFunc) {
	_, gen := cl.GroupMetadata()
	in.mu.Lock()
	defer in.mu.Unlock()
	batch := make(service.MessageBatch, 0, len(recs))
	fresh := recs[:0:0]
	for _, r := range recs {
		assigned, held := in.assignedAt(r)
		if !held {
			continue
		}
		m, again := in.message(r, gen, assigned)
		if !again {
			fresh = append(fresh, r)
		}
		if m != nil {
			batch = append(batch, m)
		}
	}
	pending := in.commits.add(fresh)
	return batch, func(_ context.Context, err error) error {
		if err != nil {
			return nil // nacked: nothing of its partitions commits past it
		}
		if marks := in.commits.ack(pending); len(marks) > 0 {
			cl.MarkCommitRecords(marks...)
		}
		return nil
	}
}

// message is the message to pass on for r (nil: none) and whether r is a
// re-read of a record the previous owner processed. Callers hold in.mu.
func (in *kafkaInput) message(r *kgo.Record, gen, assigned int32) (*service.Message, bool) {
	var again, drop bool
	if in.rewind != nil {
		if again, drop = in.rewind.reread(r); drop {
			return nil, true
		}
	}
	m := kafkaMessage(r, gen)
	m.MetaSetMut(MetaKafkaAssigned, int64(assigned))
	if again {
		m.MetaSetMut(MetaKafkaRewound, "true")
	}
	if in.mergeTicks {
		if tick, isTick := in.ticks.record(r, m); isTick {
			in.tagAssignment(tick)
			return tick, again
		}
	}
	in.tagAssignment(m)
	return m, again
}

// Close commits what was acknowledged and leaves the group.
func (in *kafkaInput) Close(ctx context.Context) error {
	in.mu.Lock()
	cl := in.cl
	in.cl = nil
	in.mu.Unlock()
	if cl == nil {
		return nil
	}
	err := cl.CommitMarkedOffsets(ctx)
	cl.Close()
	if err != nil {
		return fmt.Errorf("tickcast_kafka: commit on close: %w", err)
	}
	return nil
}
