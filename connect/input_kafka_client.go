package connect

import (
	"fmt"
	"strings"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaSeedBrokers reads the seed_brokers field (the input's and the
// output's): a list whose elements may hold several, comma-separated.
func kafkaSeedBrokers(conf *service.ParsedConfig) ([]string, error) {
	list, err := conf.FieldStringList(kiFieldSeedBrokers)
	if err != nil {
		return nil, err
	}
	var seeds []string
	for _, l := range list {
		for s := range strings.SplitSeq(l, ",") {
			if s = strings.TrimSpace(s); s != "" {
				seeds = append(seeds, s)
			}
		}
	}
	if len(seeds) == 0 {
		return nil, fmt.Errorf("tickcast_kafka: %s is empty", kiFieldSeedBrokers)
	}
	return seeds, nil
}

// kafkaLogger passes franz-go's warnings and errors to Benthos' logger.
type kafkaLogger struct{ log *service.Logger }

func (kafkaLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kafkaLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	if l.log == nil {
		return
	}
	lg := l.log.With(keyvals...)
	if level == kgo.LogLevelError {
		lg.Error("kafka: " + msg)
		return
	}
	lg.Warn("kafka: " + msg)
}
