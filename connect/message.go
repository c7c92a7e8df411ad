package connect

import (
	"fmt"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/wire"
)

// Metadata keys and kinds of the messages that flow between our plugins.
const (
	MetaKind  = "tickcast_kind"
	MetaPair  = "tickcast_pair"
	MetaTS    = "tickcast_ts"
	MetaFlush = "tickcast_flush"

	KindTrade     = "trade"
	KindTick      = "tick"
	KindCandle    = "candle"
	KindFeature   = "feature"
	KindGap       = "gap"
	KindLateTrade = "late_trade"
	// KindRejectedTrade: refused at the door (its error says why); no
	// processor takes it, a dead-letter output keeps it.
	KindRejectedTrade = "rejected_trade"
)

// kindOf returns a message's kind; a message without one is taken as a trade
// so that plain trade JSON from any input (a file, a Kafka topic) works.
func kindOf(m *service.Message) string {
	if k, ok := m.MetaGet(MetaKind); ok && k != "" {
		return k
	}
	return KindTrade
}

func newRecordMessage(kind, pair string, body []byte) *service.Message {
	m := service.NewMessage(body)
	m.MetaSetMut(MetaKind, kind)
	m.MetaSetMut(MetaPair, pair)
	return m
}

// newTick makes a clock message; flush asks the candles stage to close every
// open window (the end of a replay).
func newTick(now time.Time, flush bool) *service.Message {
	m := service.NewMessage(nil)
	m.MetaSetMut(MetaKind, KindTick)
	m.MetaSetMut(MetaTS, now.UTC().Format(time.RFC3339Nano))
	if flush {
		m.MetaSetMut(MetaFlush, "true")
	}
	return m
}

// tickOf reads a tick's clock and flush flag.
func tickOf(m *service.Message) (now time.Time, flush bool, err error) {
	if f, _ := m.MetaGet(MetaFlush); f == "true" {
		flush = true
	}
	s, ok := m.MetaGet(MetaTS)
	if !ok || s == "" {
		if flush {
			return time.Time{}, true, nil
		}
		return time.Time{}, false, fmt.Errorf("tick without %s metadata", MetaTS)
	}
	now, err = time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("tick %s %q: %w", MetaTS, s, err)
	}
	return now, flush, nil
}

// metaRecord carries, in-process, the decoded record beside the JSON body it
// was decoded from, so that later stages skip decoding again (decoding is
// the largest cost per trade). It is trusted only while the message still
// holds that very body: a mapping that rewrites the content invalidates it.
const metaRecord = "tickcast_record"

type decodedRecord struct {
	body []byte
	rec  any
}

func setRecord(m *service.Message, body []byte, rec any) {
	m.MetaSetMut(metaRecord, decodedRecord{body: body, rec: rec})
}

// cachedRecord returns the record decoded from body, if the message carries it.
func cachedRecord[T any](m *service.Message, body []byte) (T, bool) {
	var zero T
	v, ok := m.MetaGetMut(metaRecord)
	if !ok {
		return zero, false
	}
	var d *decodedRecord
	switch r := v.(type) {
	case *decodedRecord:
		d = r
	case decodedRecord:
		d = &r
	default:
		return zero, false
	}
	if len(d.body) != len(body) || len(body) == 0 || &d.body[0] != &body[0] {
		return zero, false
	}
	switch rec := d.rec.(type) {
	case T:
		return rec, true
	case *T:
		return *rec, true
	}
	return zero, false
}

// recordSlab makes the messages of one batch of records of type T with
// three allocations per batch instead of three per record: the JSON bodies
// share one buffer (each capped, so no append reaches its neighbour), the
// records and their cache entries one slice each. It holds at most n.
type recordSlab[T wire.Record] struct {
	buf  []byte
	recs []T
	refs []decodedRecord
}

func newRecordSlab[T wire.Record](n, bodySize int) *recordSlab[T] {
	return &recordSlab[T]{buf: make([]byte, 0, n*bodySize), recs: make([]T, 0, n), refs: make([]decodedRecord, 0, n)}
}

// message makes the message of rec; at most n per slab.
func (s *recordSlab[T]) message(kind, pair string, rec T) *service.Message {
	start := len(s.buf)
	s.buf = wire.AppendJSON(s.buf, rec)
	body := s.buf[start:len(s.buf):len(s.buf)]
	s.recs = append(s.recs, rec)
	s.refs = append(s.refs, decodedRecord{body: body, rec: &s.recs[len(s.recs)-1]})
	m := newRecordMessage(kind, pair, body)
	m.MetaSetMut(metaRecord, &s.refs[len(s.refs)-1])
	return m
}

// newRecord makes a message holding a record's JSON and the record itself.
func newRecord(kind, pair string, body []byte, rec any) *service.Message {
	m := newRecordMessage(kind, pair, body)
	setRecord(m, body, rec)
	return m
}

// decode returns the message's record, from the cache or by decoding its body.
func decode[T any](m *service.Message, dec func([]byte) (T, error)) (T, error) {
	return decodeCaching(m, dec, true)
}

// decodeTransient is decode for a message that is dropped after this
// processor (the candles stage's trades): caching the record would copy and
// grow the message's metadata for nothing, on the busiest path.
func decodeTransient[T any](m *service.Message, dec func([]byte) (T, error)) (T, error) {
	return decodeCaching(m, dec, false)
}

func decodeCaching[T any](m *service.Message, dec func([]byte) (T, error), keep bool) (T, error) {
	body, err := m.AsBytes()
	if err != nil {
		var zero T
		return zero, err
	}
	if rec, ok := cachedRecord[T](m, body); ok {
		return rec, nil
	}
	rec, err := dec(body)
	if err == nil && keep {
		setRecord(m, body, rec)
	}
	return rec, err
}
