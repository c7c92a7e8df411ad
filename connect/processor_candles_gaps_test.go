package connect

import (
	"context"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/wire"
)

// TestCandlesPublishGaps: the processor publishes each pair's gap state
// after every batch — a trade_id gap opens it, the missing trade closes it;
// an outage record opens it until the outage is closed. The trades are
// hand-written fixtures (ids and times that make a gap), not market data.
func TestCandlesPublishGaps(t *testing.T) {
	gaps := &online.Gaps{}
	bp, err := candlesProcessorWith(gaps)(mustParse(t, candlesProcessorSpec(), "interval: 1m\ngrace: 2s"), service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	trade := func(id int64, at time.Duration) *service.Message {
		tr := market.Trade{Pair: "ETH/USDT", TradeID: id, TS: t0.Add(at), Price: 100, Qty: 1, Side: market.SideBuy}
		return newRecord(KindTrade, tr.Pair, wire.AppendJSON(nil, tr), tr)
	}
	steps := []struct {
		name string
		msg  *service.Message
		want bool
	}{
		{"first trade", trade(1, 0), false},
		{"ids 2..3 missing", trade(4, time.Second), true},
		{"id 2 comes", trade(2, time.Second), true},
		{"id 3 comes", trade(3, time.Second), false},
		{"outage opens", gapMessage(GapRecord{Kind: GapOutage, State: GapOpen, ID: 7, Pair: "ETH/USDT", FromTS: t0.Add(2 * time.Second)}), true},
		{"outage closes", gapMessage(GapRecord{Kind: GapOutage, State: GapClosed, ID: 7, Pair: "ETH/USDT", FromTS: t0.Add(2 * time.Second)}), false},
	}
	for _, s := range steps {
		if _, err := bp.ProcessBatch(context.Background(), service.MessageBatch{s.msg}); err != nil {
			t.Fatal(err)
		}
		if got := gaps.Open("ETH-USDT"); got != s.want {
			t.Errorf("%s: gap open %v, want %v", s.name, got, s.want)
		}
	}
}
