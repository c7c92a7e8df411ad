package connect

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/redis"
	"github.com/tickcast/tickcast/wire"
)

const (
	rfoFieldAddress = "address"
	rfoFieldPrefix  = "prefix"
)

func redisFeaturesOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Writes feature rows to tickcast's online feature store on Redis, for API processes elsewhere.").
		Description(`
Each feature row (tickcast_kind=feature) becomes its pair's newest row in Redis unless Redis
holds a newer one (equal ts: the later row wins, as a corrected row should), and is published
to the store's subscribers, in one atomic step. Writing a row again changes nothing, so a
retried batch is harmless. Messages of other kinds are ignored; a malformed feature row is
logged, counted and skipped. Keep max_in_flight at 1: rows of one pair must arrive in order
for a correction at the same ts to win.`).
		Field(service.NewStringField(rfoFieldAddress).Description("Redis host:port.").Example("localhost:6379")).
		Field(service.NewStringField(rfoFieldPrefix).Description("Key prefix of the feature store.").Default(redis.DefaultFeaturesPrefix)).
		Field(service.NewOutputMaxInFlightField().Default(1))
}

func newRedisFeaturesOutput(logger *slog.Logger) service.BatchOutputConstructor {
	return func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
		out, err := redisFeaturesOutputFromConfig(conf, logger)
		if err != nil {
			return nil, service.BatchPolicy{}, 0, err
		}
		inFlight, err := conf.FieldMaxInFlight()
		if err != nil {
			return nil, service.BatchPolicy{}, 0, err
		}
		out.log = mgr.Logger()
		out.skipped = mgr.Metrics().NewCounter("tickcast_redis_features_skipped")
		out.written = mgr.Metrics().NewCounter("tickcast_redis_features_written")
		return out, service.BatchPolicy{}, inFlight, nil
	}
}

func redisFeaturesOutputFromConfig(conf *service.ParsedConfig, logger *slog.Logger) (*redisFeaturesOutput, error) {
	addr, err := conf.FieldString(rfoFieldAddress)
	if err != nil {
		return nil, err
	}
	prefix, err := conf.FieldString(rfoFieldPrefix)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &redisFeaturesOutput{addr: addr, prefix: prefix, logger: logger}, nil
}

// redisFeaturesOutput puts feature rows into redis.Features.
type redisFeaturesOutput struct {
	addr, prefix string
	logger       *slog.Logger
	log          *service.Logger
	skipped      *service.MetricCounter
	written      *service.MetricCounter

	mu       sync.Mutex
	client   *redis.Client
	features *redis.Features
}

func (o *redisFeaturesOutput) Connect(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client != nil {
		return nil
	}
	c, err := redis.Open(ctx, o.addr, redis.Options{Logger: o.logger})
	if err != nil {
		return fmt.Errorf("redis features output: %w", err)
	}
	o.client, o.features = c, c.Features(o.prefix)
	return nil
}

func (o *redisFeaturesOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	o.mu.Lock()
	f := o.features
	o.mu.Unlock()
	if f == nil {
		return service.ErrNotConnected
	}
	for _, msg := range batch {
		if kindOf(msg) != KindFeature {
			continue
		}
		row, err := decode(msg, wire.DecodeFeatureRow)
		if err != nil {
			o.skip(err)
			continue
		}
		// A failed Put fails the batch: Benthos retries it, and rows
		// already written are written again harmlessly.
		if err := f.Put(ctx, row); err != nil {
			return err
		}
		if o.written != nil {
			o.written.Incr(1)
		}
	}
	return nil
}

// skip records a feature row that cannot be decoded; errored messages are
// routed to the dead-letter output before this one, so this means a
// malformed record.
func (o *redisFeaturesOutput) skip(err error) {
	if o.skipped != nil {
		o.skipped.Incr(1)
	}
	if o.log != nil {
		o.log.Errorf("redis features: skipping malformed feature row: %v", err)
	}
}

func (o *redisFeaturesOutput) Close(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client == nil {
		return nil
	}
	err := o.client.Close()
	o.client, o.features = nil, nil
	return err
}
