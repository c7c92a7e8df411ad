package connect

import (
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/market"
)

// kafkaHeaders are the metadata keys that travel as record headers, each
// with the check a header must pass to become metadata again. Other
// tickcast_* metadata (the in-process record cache) never travels.
var kafkaHeaders = []struct {
	key   string
	check func(string) (string, bool)
}{
	{MetaKind, knownKind},
	{MetaPair, func(s string) (string, bool) { p, err := market.NormalizePair(s); return p, err == nil }},
	{MetaTS, func(s string) (string, bool) { _, err := time.Parse(time.RFC3339Nano, s); return s, err == nil }},
	{MetaFlush, isTrue},
	{MetaRepair, isTrue},
	{MetaReject, func(s string) (string, bool) { return s, s != "" }},
}

func knownKind(s string) (string, bool) {
	switch s {
	case KindTrade, KindTick, KindCandle, KindFeature, KindGap, KindLateTrade, KindRejectedTrade:
		return s, true
	}
	return "", false
}

func isTrue(s string) (string, bool) { return s, s == "true" }

// kafkaMessage makes the message of a record fetched in generation gen.
func kafkaMessage(r *kgo.Record, gen int32) *service.Message {
	m := service.NewMessage(r.Value)
	for _, h := range r.Headers {
		if !strings.HasPrefix(h.Key, "tickcast_") {
			m.MetaSetMut(h.Key, string(h.Value))
		}
	}
	setKafkaTickcastMeta(m, r)
	m.MetaSetMut(MetaKafkaTopic, r.Topic)
	m.MetaSetMut(MetaKafkaPartition, int64(r.Partition))
	m.MetaSetMut(MetaKafkaOffset, r.Offset)
	m.MetaSetMut(MetaKafkaKey, string(r.Key))
	m.MetaSetMut(MetaKafkaTimestamp, r.Timestamp.UTC().Format(time.RFC3339Nano))
	m.MetaSetMut(MetaKafkaGeneration, int64(gen))
	return m
}

// setKafkaTickcastMeta sets the tickcast metadata from the record's headers
// that pass their checks, and the pair from the key when no header gives it.
func setKafkaTickcastMeta(m *service.Message, r *kgo.Record) {
	for _, h := range r.Headers {
		for _, k := range kafkaHeaders {
			if h.Key != k.key {
				continue
			}
			if v, ok := k.check(string(h.Value)); ok {
				m.MetaSetMut(k.key, v)
			}
		}
	}
	if _, ok := m.MetaGet(MetaPair); !ok && len(r.Key) > 0 {
		if p, err := market.NormalizePair(string(r.Key)); err == nil {
			m.MetaSetMut(MetaPair, p)
		}
	}
}

// kafkaRecordHeaders are the headers of a message's record: its tickcast
// metadata that travels.
func kafkaRecordHeaders(m *service.Message) []kgo.RecordHeader {
	var hs []kgo.RecordHeader
	for _, k := range kafkaHeaders {
		if v, ok := m.MetaGet(k.key); ok && v != "" {
			hs = append(hs, kgo.RecordHeader{Key: k.key, Value: []byte(v)})
		}
	}
	return hs
}
