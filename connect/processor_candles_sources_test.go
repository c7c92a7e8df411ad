package connect

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/wire"
)

// TestCandlesResetOnReassignment: a pair's state belongs to the assignment
// of its partition. The messages are hand-written fixtures, metadata as the
// tickcast_kafka input sets it (ETH/USD on trades/5, BTC/USD on trades/1;
// kafka_assigned 3, then 7 once a partition came back); times are minutes
// and seconds past 2025-01-01 00:00 UTC.
func TestCandlesResetOnReassignment(t *testing.T) {
	tests := []struct {
		name   string
		msgs   []*service.Message
		want   []string // candles emitted: pair start ids
		resets int
		gap    bool // ETH/USD's gap state published at the end
	}{
		{
			name: "no kafka metadata: nothing is reset",
			msgs: []*service.Message{
				fixTrade("ETH/USD", 1, "00:10", -1), fixTrade("ETH/USD", 2, "00:20", -1),
				fixTrade("ETH/USD", 5, "03:05", -1),
			},
			want: []string{"ETH/USD 00:00 1-2 incomplete", "ETH/USD 01:00 0-0 incomplete", "ETH/USD 02:00 0-0 incomplete"},
			gap:  true, // ids 3-4
		},
		{
			name: "same assignment: the state goes on",
			msgs: []*service.Message{
				fixTrade("ETH/USD", 1, "00:10", 3), fixTrade("ETH/USD", 2, "00:20", 3),
				fixTrade("ETH/USD", 3, "01:05", 3),
			},
			want: []string{"ETH/USD 00:00 1-2"},
		},
		{
			name: "assigned again: the re-read trades rebuild the pair, no stale candle",
			msgs: []*service.Message{
				fixTrade("ETH/USD", 1, "00:10", 3), fixTrade("ETH/USD", 2, "00:20", 3),
				// Revoked, then back: re-read from the rewind floor, 03:00.
				fixTrade("ETH/USD", 5, "03:05", 7), fixTrade("ETH/USD", 6, "03:30", 7),
				fixTrade("ETH/USD", 7, "04:05", 7),
			},
			want:   []string{"ETH/USD 03:00 5-6"},
			resets: 1,
		},
		{
			name: "metadata as text (a YAML test): the same",
			msgs: []*service.Message{
				asText(fixTrade("ETH/USD", 1, "00:10", 3)), asText(fixTrade("ETH/USD", 2, "00:20", 3)),
				asText(fixTrade("ETH/USD", 5, "03:05", 7)), asText(fixTrade("ETH/USD", 6, "04:05", 7)),
			},
			want:   []string{"ETH/USD 03:00 5-5"},
			resets: 1,
		},
		{
			name: "a gap record of the new assignment resets too",
			msgs: []*service.Message{
				fixTrade("ETH/USD", 1, "00:10", 3),
				fixSource(gapMessage(GapRecord{Kind: GapOutage, State: GapOpen, ID: 9, Pair: "ETH/USD", FromTS: fixAt("03:00")}), "ETH/USD", 7),
				fixTrade("ETH/USD", 5, "03:05", 7), fixTrade("ETH/USD", 6, "04:05", 7),
			},
			want:   []string{"ETH/USD 03:00 5-5 incomplete"},
			resets: 1,
			gap:    true,
		},
		{
			name: "a pair dropped by a tick has no gap open here",
			msgs: []*service.Message{
				fixSource(gapMessage(GapRecord{Kind: GapOutage, State: GapOpen, ID: 9, Pair: "ETH/USD", FromTS: fixAt("00:00")}), "ETH/USD", 3),
				fixTrade("ETH/USD", 1, "00:10", 3),
				fixTick("02:00", "trades/1@3"),
			},
			resets: 1,
		},
		{
			name: "a pair's own tick of the new assignment resets it before closing",
			msgs: []*service.Message{
				fixTrade("ETH/USD", 1, "00:10", 3),
				fixSource(newTick(fixAt("05:00"), false), "ETH/USD", 7),
			},
			resets: 1,
		},
		{
			name: "a tick no longer holding the partition drops the pair, others close",
			msgs: []*service.Message{
				fixTrade("ETH/USD", 1, "00:10", 3), fixTrade("BTC/USD", 1, "00:15", 3),
				fixTick("02:00", "trades/1@3"),
			},
			want:   []string{"BTC/USD 00:00 1-1", "BTC/USD 01:00 0-0"},
			resets: 1,
		},
		{
			name: "a tick holding the partition in a newer assignment drops the pair",
			msgs: []*service.Message{
				fixTrade("ETH/USD", 1, "00:10", 3),
				fixTick("02:00", "trades/1@3,trades/5@7"),
			},
			resets: 1,
		},
		{
			name: "a tick holding the partition as before closes the pair's windows",
			msgs: []*service.Message{
				fixTrade("ETH/USD", 1, "00:10", 3),
				fixTick("01:00", "trades/1@3,trades/5@3"),
			},
			want: []string{"ETH/USD 00:00 1-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			mgr := service.MockResources(service.MockResourcesOptUseLogger(service.NewLoggerFromSlog(slog.New(slog.NewJSONHandler(&logs, nil)))))
			gaps := &online.Gaps{}
			bp, err := candlesProcessorWith(gaps)(mustParse(t, candlesProcessorSpec(), "interval: 1m\ngrace: 0s\nemit_trades: false"), mgr)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range tt.msgs { // one batch each, as a slow stream comes
				bs, err := bp.ProcessBatch(context.Background(), service.MessageBatch{m})
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range bs {
					got = append(got, showCandles(t, b)...)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("candles\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
			if n := strings.Count(logs.String(), "pair state reset"); n != tt.resets {
				t.Errorf("%d resets logged, want %d:\n%s", n, tt.resets, logs.String())
			}
			if got := gaps.Open("ETH-USD"); got != tt.gap {
				t.Errorf("ETH/USD gap open %v, want %v", got, tt.gap)
			}
			for _, attr := range []string{`"pair":"ETH/USD"`, `"partition":"5"`} {
				if tt.resets > 0 && !strings.Contains(logs.String(), attr) {
					t.Errorf("reset logged without %s:\n%s", attr, logs.String())
				}
			}
		})
	}
}

func fixAt(ms string) time.Time {
	d, err := time.ParseDuration(strings.Replace(ms, ":", "m", 1) + "s")
	if err != nil {
		panic(err)
	}
	return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)
}

// fixTrade is a trade of pair with kafka metadata of the given assignment
// (-1: none, as in an embedded pipeline).
func fixTrade(pair string, id int64, at string, assigned int64) *service.Message {
	tr := market.Trade{Pair: pair, TradeID: id, TS: fixAt(at), Price: 100 + float64(id), Qty: 1, Side: market.SideBuy}
	return fixSource(newRecord(KindTrade, pair, wire.AppendJSON(nil, tr), tr), pair, assigned)
}

// fixSource sets the metadata the tickcast_kafka input sets on a record of
// pair's partition (ETH/USD: 5, else 1) in assignment assigned.
func fixSource(m *service.Message, pair string, assigned int64) *service.Message {
	if assigned < 0 {
		return m
	}
	part := int64(1)
	if pair == "ETH/USD" {
		part = 5
	}
	m.MetaSetMut(MetaPair, pair)
	m.MetaSetMut(MetaKafkaTopic, "trades")
	m.MetaSetMut(MetaKafkaPartition, part)
	m.MetaSetMut(MetaKafkaAssigned, assigned)
	return m
}

// asText turns m's integer kafka metadata into text.
func asText(m *service.Message) *service.Message {
	for _, k := range []string{MetaKafkaPartition, MetaKafkaAssigned} {
		v, _ := m.MetaGet(k)
		m.MetaSetMut(k, v)
	}
	return m
}

// fixTick is a merged tick: no partition, the assignment it speaks for.
func fixTick(at, assignment string) *service.Message {
	m := newTick(fixAt(at), false)
	m.MetaSetMut(MetaKafkaAssignment, assignment)
	return m
}

// showCandles renders the candles of b as "pair mm:ss first-last [incomplete]".
func showCandles(t *testing.T, b service.MessageBatch) []string {
	t.Helper()
	var out []string
	for _, m := range b {
		if kindOf(m) != KindCandle {
			continue
		}
		body, _ := m.AsBytes()
		c, err := wire.DecodeCandle(body)
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprintf("%s %s %d-%d", c.Pair, c.Start.Format("04:05"), c.FirstTradeID, c.LastTradeID)
		if !c.Complete {
			s += " incomplete"
		}
		out = append(out, s)
	}
	return out
}
