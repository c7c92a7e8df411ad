package connect

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/wire"
)

// stageRecords are the real Kraken trades of realdata.KrakenTrades1h as the
// ingest stage writes them to partition 0 of trades (keyed BTC/USD, a tick
// every 5 s of exchange time, record timestamps at event time), ending with
// a flush.
func stageRecords(t *testing.T) []*kgo.Record {
	trades := readTradeFile(t, realdata.Path(t, realdata.KrakenTrades1h))
	var recs []*kgo.Record
	rec := func(v []byte, ts time.Time, hs ...kgo.RecordHeader) {
		recs = append(recs, &kgo.Record{Topic: "trades", Partition: 0, Key: []byte("BTC/USD"), Value: v, Timestamp: ts,
			Headers: append(hs, kgo.RecordHeader{Key: MetaPair, Value: []byte("BTC/USD")})})
	}
	next := trades[0].ts.Truncate(5 * time.Second)
	for _, tr := range trades {
		for ; !next.After(tr.ts); next = next.Add(5 * time.Second) {
			rec(nil, next, kgo.RecordHeader{Key: MetaKind, Value: []byte(KindTick)},
				kgo.RecordHeader{Key: MetaTS, Value: []byte(next.Format(time.RFC3339Nano))})
		}
		side := "sell"
		if tr.isBuy {
			side = "buy"
		}
		rec(fmt.Appendf(nil, `{"pair":"BTC/USD","trade_id":%d,"price":%v,"qty":%v,"side":%q,"ord_type":"market","ts":%q,"source":"kraken-ws"}`,
			tr.id, tr.price, tr.qty, side, tr.ts.Format(time.RFC3339Nano)), tr.ts, kgo.RecordHeader{Key: MetaKind, Value: []byte(KindTrade)})
	}
	rec(nil, next, kgo.RecordHeader{Key: MetaKind, Value: []byte(KindTick)}, kgo.RecordHeader{Key: MetaFlush, Value: []byte("true")})
	return recs
}

const stageCandlesYAML = `
logger: { level: warn }
output: { drop: {} }
input:
  tickcast_kafka:
    seed_brokers: [ %q ]
    topics: [ trades ]
    consumer_group: tickcast-candles
    commit_period: 100ms
    rewind: 7m # interval + grace + 5 kept windows
    rewind_align: 1m
    merge_ticks: true
pipeline:
  threads: 1
  processors:
    - candles: { interval: 1m, grace: 2s, emit_trades: false, repair_windows: 5 }
`

// candleSet keeps the highest revision per (pair, start), as consumers do.
type candleSet struct {
	mu   sync.Mutex
	by   map[candleKey]market.Candle
	n    int
	last time.Time
}

func (s *candleSet) add(c market.Candle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := candleKey{c.Pair, c.Start.UnixNano()}
	if old, ok := s.by[k]; !ok || c.Revision >= old.Revision {
		s.by[k] = c
	}
	s.n++
	if c.Start.After(s.last) {
		s.last = c.Start
	}
}

func (s *candleSet) lastStart() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func newCandleSet() *candleSet { return &candleSet{by: map[candleKey]market.Candle{}} }

// referenceCandles runs the candles processor in process over the records.
func referenceCandles(t *testing.T, recs []*kgo.Record) *candleSet {
	return processCandles(t, `{ interval: 1m, grace: 2s, emit_trades: false, repair_windows: 5 }`, recs)
}

// processCandles runs a candles processor configured by yaml over recs, in order.
func processCandles(t *testing.T, yaml string, recs []*kgo.Record) *candleSet {
	t.Helper()
	conf, err := candlesProcessorSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newCandlesProcessor(conf, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	var batch service.MessageBatch
	for _, r := range recs {
		batch = append(batch, kafkaMessage(r, 1))
	}
	out, err := p.ProcessBatch(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	set := newCandleSet()
	for _, b := range out {
		collectCandles(t, b, set)
	}
	return set
}

func collectCandles(t *testing.T, b service.MessageBatch, set *candleSet) {
	for _, m := range b {
		if kindOf(m) != KindCandle {
			continue
		}
		body, _ := m.AsBytes()
		c, err := wire.DecodeCandle(body) // every field: encoding/json skips buy_volume and the others
		if err != nil {
			t.Error(err)
			continue
		}
		set.add(c)
	}
}

// startCandlesReplica runs a candles stage replica; stop stops it (commits
// what it acknowledged and leaves the group).
func startCandlesReplica(t *testing.T, seeds string, set *candleSet) (stop func()) {
	env, err := NewEnvironment(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	b := env.NewStreamBuilder()
	if err := b.SetYAML(fmt.Sprintf(stageCandlesYAML, seeds)); err != nil {
		t.Fatal(err)
	}
	if err := b.AddBatchConsumerFunc(func(_ context.Context, mb service.MessageBatch) error {
		collectCandles(t, mb, set)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return runTestStream(t, b)
}

func waitStage(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The union of what the replicas emitted, highest revision per (pair,
// start), equals the in-process candles: nothing lost, nothing wrong.
func checkUnion(t *testing.T, want *candleSet, sets ...*candleSet) {
	t.Helper()
	union := newCandleSet()
	for _, s := range sets {
		for _, c := range s.by {
			union.add(c)
		}
	}
	if len(want.by) < 30 {
		t.Fatalf("reference has only %d candles", len(want.by))
	}
	for k, w := range want.by {
		if g, ok := union.by[k]; !ok {
			t.Errorf("lost candle %s %v", k.pair, w.Start)
		} else if g != w {
			t.Errorf("candle %v:\n got %+v\nwant %+v", w.Start, g, w)
		}
	}
	for k := range union.by {
		if _, ok := want.by[k]; !ok {
			t.Errorf("extra candle %s %v", k.pair, time.Unix(0, k.start).UTC())
		}
	}
}

// TestStageCandlesHandover: (a) two replicas in one group; the one owning
// the pair's partition stops mid-stream and the other takes it over,
// rewinding; (b) a replica stops and a new one restarts from the committed
// offsets. Either way the union of candles is the in-process one.
func TestStageCandlesHandover(t *testing.T) {
	recs := stageRecords(t)
	want := referenceCandles(t, recs)
	half := len(recs) / 2
	halfTS := recs[half].Timestamp
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "rebalance", true: "restart"}[restart], func(t *testing.T) {
			seeds := kafkaCluster(t, 2, "trades")
			recs := stageRecords(t) // fresh: a produced record keeps its context
			produceRaw(t, seeds, recs[:half]...)
			a, b := newCandleSet(), newCandleSet()
			stopFirst := startCandlesReplica(t, seeds, a)
			stopB := func() {}
			if !restart {
				stopB = startCandlesReplica(t, seeds, b)
			}
			first, second := a, b
			waitStage(t, "the first half's candles", func() bool {
				if a.lastStart().After(halfTS.Add(-3 * time.Minute)) {
					return true
				}
				if b.lastStart().After(halfTS.Add(-3 * time.Minute)) {
					first, second, stopFirst = b, a, stopB
					return true
				}
				return false
			})
			stopFirst()
			if restart {
				startCandlesReplica(t, seeds, second)
			}
			produceRaw(t, seeds, recs[half:]...)
			last := want.lastStart()
			waitStage(t, "the last candle", func() bool { return !second.lastStart().Before(last) })
			time.Sleep(200 * time.Millisecond)
			checkUnion(t, want, first, second)
			if second.n <= len(want.by)-len(first.by) {
				t.Errorf("the new owner emitted %d candles: no rewind?", second.n)
			}
			t.Logf("%d candles; first owner %d, new owner %d (rebuilt from the rewind)", len(want.by), first.n, second.n)
		})
	}
}
