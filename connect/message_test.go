package connect

import (
	"testing"

	"github.com/tickcast/tickcast/market"
)

// A mapping that rewrites a message's content must not be shadowed by the
// record decoded from the old content.
func TestCachedRecordInvalidatedByNewContent(t *testing.T) {
	// Hand-written fixture.
	orig := market.Trade{Pair: "BTC/USD", TradeID: 1, Price: 100, Qty: 1, Side: market.SideBuy}
	m := newRecord(KindTrade, orig.Pair, []byte(`{"old":true}`), orig)
	got, err := decode(m, func([]byte) (market.Trade, error) { t.Fatal("decoded despite the cache"); return market.Trade{}, nil })
	if err != nil || got != orig {
		t.Fatalf("cached decode = %+v, %v", got, err)
	}
	m.SetBytes([]byte(`{"new":true}`))
	decoded := false
	if _, err := decode(m, func(b []byte) (market.Trade, error) { decoded = string(b) == `{"new":true}`; return orig, nil }); err != nil || !decoded {
		t.Errorf("new content was not decoded (err %v)", err)
	}
	if _, ok := cachedRecord[market.Candle](m, []byte(`{"new":true}`)); ok {
		t.Error("a record of another type was returned")
	}
}
