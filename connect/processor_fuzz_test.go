package connect

import (
	"context"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// FuzzCandlesProcessor feeds arbitrary bodies and metadata through the
// candles and features processors: nothing panics, and every input message
// comes out either accepted or flagged with an error — never silently lost.
func FuzzCandlesProcessor(f *testing.F) {
	// Hand-written seeds.
	f.Add([]byte(`{"pair":"BTC/USD","trade_id":1,"price":100,"qty":1,"side":"buy","ord_type":"market","ts":"2019-07-01T00:00:01.000000Z","source":"replay"}`), "trade", "")
	f.Add([]byte(`{"pair":"BTC/USD","price":"NaN"}`), "", "")
	f.Add([]byte(``), "tick", "2019-07-01T00:01:02Z")
	f.Add([]byte(`{}`), "tick", "yesterday")
	f.Add([]byte(`{"pair":"BTC/USD","start":"x"}`), "candle", "")
	f.Fuzz(func(t *testing.T, body []byte, kind, ts string) {
		res := service.MockResources()
		cp, err := newCandlesProcessor(mustParse(t, candlesProcessorSpec(), `interval: 1m`), res)
		if err != nil {
			t.Fatal(err)
		}
		fp, err := newFeaturesProcessor(nil, nil)(nil, res)
		if err != nil {
			t.Fatal(err)
		}
		msg := service.NewMessage(body)
		if kind != "" {
			msg.MetaSetMut(MetaKind, kind)
		}
		if ts != "" {
			msg.MetaSetMut(MetaTS, ts)
		}
		out, err := cp.ProcessBatch(context.Background(), service.MessageBatch{msg})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range out {
			if _, err := fp.ProcessBatch(context.Background(), b); err != nil {
				t.Fatal(err)
			}
		}
		kept := false
		for _, b := range out {
			for _, m := range b {
				kept = kept || m == msg
			}
		}
		switch kindOf(msg) {
		case KindTrade, KindLateTrade:
			if !kept && msg.GetError() == nil {
				t.Fatalf("trade message %q neither passed on nor flagged", body)
			}
		}
	})
}

func mustParse(t *testing.T, spec *service.ConfigSpec, yaml string) *service.ParsedConfig {
	t.Helper()
	conf, err := spec.ParseYAML(yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	return conf
}
