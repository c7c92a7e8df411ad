package connect

import (
	"fmt"
	"log/slog"

	// Benthos' own MIT components (switch, file, stdout, bloblang, ...).
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/online"
)

// Deps are what our plugins share with the rest of the process.
type Deps struct {
	Logger *slog.Logger
	// Latest receives the newest feature row per pair (the online store); may be nil.
	Latest *online.Latest
	// Candles receives every candle the features processor sees (the recent
	// candles the dashboard charts); may be nil.
	Candles *online.Candles
	// Gaps receives each pair's gap state from the candles processor (what
	// predictions report as gap_open); may be nil.
	Gaps *online.Gaps
}

// NewEnvironment returns a Benthos environment with tickcast's plugins
// registered explicitly (no init), beside Benthos' own components.
func NewEnvironment(deps Deps) (*service.Environment, error) {
	env := service.NewEnvironment()
	if err := register(env, deps); err != nil {
		return nil, err
	}
	return env, nil
}

// RegisterGlobal registers the plugins on Benthos' global environment as
// well. Only `tickcast connect test` needs it: Benthos v4.60's test runner
// builds the processors under test with the global environment, whatever
// environment the CLI was given.
func RegisterGlobal(deps Deps) error { return register(globalRegistrar{}, deps) }

// registrar is what both an Environment and the global registry offer.
type registrar interface {
	RegisterBatchInput(name string, spec *service.ConfigSpec, ctor service.BatchInputConstructor) error
	RegisterBatchProcessor(name string, spec *service.ConfigSpec, ctor service.BatchProcessorConstructor) error
	RegisterBatchOutput(name string, spec *service.ConfigSpec, ctor service.BatchOutputConstructor) error
}

type globalRegistrar struct{}

func (globalRegistrar) RegisterBatchInput(name string, spec *service.ConfigSpec, ctor service.BatchInputConstructor) error {
	return service.RegisterBatchInput(name, spec, ctor)
}

func (globalRegistrar) RegisterBatchProcessor(name string, spec *service.ConfigSpec, ctor service.BatchProcessorConstructor) error {
	return service.RegisterBatchProcessor(name, spec, ctor)
}

func (globalRegistrar) RegisterBatchOutput(name string, spec *service.ConfigSpec, ctor service.BatchOutputConstructor) error {
	return service.RegisterBatchOutput(name, spec, ctor)
}

func register(r registrar, deps Deps) error {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	regs := []struct {
		name string
		err  error
	}{
		{"kraken_trades", r.RegisterBatchInput("kraken_trades", krakenTradesInputSpec(), newKrakenTradesInput(deps.Logger))},
		{"trade_replay", r.RegisterBatchInput("trade_replay", tradeReplayInputSpec(), newTradeReplayInput)},
		{"candles", r.RegisterBatchProcessor("candles", candlesProcessorSpec(), candlesProcessorWith(deps.Gaps))},
		{"features", r.RegisterBatchProcessor("features", featuresProcessorSpec(), newFeaturesProcessor(deps.Latest, deps.Candles))},
		{"tickcast_store", r.RegisterBatchOutput("tickcast_store", storeOutputSpec(), newStoreOutput(deps.Logger))},
		{"tickcast_redis_features", r.RegisterBatchOutput("tickcast_redis_features", redisFeaturesOutputSpec(), newRedisFeaturesOutput(deps.Logger))},
		{"tickcast_kafka input", r.RegisterBatchInput("tickcast_kafka", kafkaInputSpec(), newKafkaInput)},
		{"tickcast_kafka output", r.RegisterBatchOutput("tickcast_kafka", kafkaOutputSpec(), newKafkaOutput)},
	}
	for _, reg := range regs {
		if reg.err != nil {
			return fmt.Errorf("register %s: %w", reg.name, reg.err)
		}
	}
	return nil
}
