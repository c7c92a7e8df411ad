package connect

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/market"
)

// Gap kinds: what made trades go missing.
const (
	GapIDs    = "ids"    // a trade_id jump: the ids from_id..to_id were never received
	GapOutage = "outage" // the connection was lost after the trade at from_ts (from_id−1)
	GapStart  = "start"  // the stream started: trades between from_ts and its first trade (next_id) are unknown
)

// Gap states, in the order a gap goes through them.
const (
	GapOpen         = "open"         // trades may be missing from from_ts on
	GapClosed       = "closed"       // the input is back; a trade_id jump inside is a gap of its own
	GapRepaired     = "repaired"     // every missing trade was fetched from REST and passed on
	GapUnrepairable = "unrepairable" // given up: the windows it overlaps stay incomplete
)

// GapRecord is one row of the gaps dataset (<data>/gaps/<PAIR>.jsonl in
// the shipped pipelines): the life of every gap the input saw, from open
// to repaired or unrepairable. The candles processor reads the outage and
// start records to keep the windows they overlap incomplete.
type GapRecord struct {
	Kind   string    `json:"kind"`
	State  string    `json:"state"`
	ID     int64     `json:"id,omitempty"` // the outage's id (outage, start)
	Pair   string    `json:"pair"`
	FromID int64     `json:"from_id,omitempty"` // ids: the first missing id; outage, start: the one after the last held
	ToID   int64     `json:"to_id,omitempty"`   // ids: the last missing id
	FromTS time.Time `json:"from_ts"`
	ToTS   time.Time `json:"to_ts,omitzero"`
	NextID int64     `json:"next_id,omitempty"` // outage, start: the first trade after it
	// Price is the close before FromTS (start: the stored trade's price),
	// so that windows before the first trade are not made up.
	Price  float64   `json:"price,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"` // wall clock of the record
}

func gapMessage(g GapRecord) *service.Message {
	if g.At.IsZero() {
		g.At = time.Now()
	}
	g.FromTS, g.ToTS, g.At = g.FromTS.UTC(), g.ToTS.UTC(), g.At.UTC()
	b, _ := json.Marshal(g) // plain types: cannot fail
	return newRecord(KindGap, g.Pair, b, g)
}

// decodeGap reads a gap message; a record without kind is a trade_id gap
// (how they were written before outages were recorded).
func decodeGap(m *service.Message) (GapRecord, error) {
	g, err := decode(m, func(b []byte) (GapRecord, error) {
		var g GapRecord
		if err := json.Unmarshal(b, &g); err != nil {
			return g, fmt.Errorf("gap: %w", err)
		}
		return g, nil
	})
	if err != nil {
		return g, err
	}
	if g.Kind == "" {
		g.Kind, g.State = GapIDs, GapOpen
	}
	if g.Pair, err = market.NormalizePair(g.Pair); err != nil {
		return g, fmt.Errorf("gap: %w", err)
	}
	return g, nil
}

// applyGap tells agg what an outage or start record means for its windows;
// trade_id gaps need nothing: the aggregator sees the ids itself.
func applyGap(agg *market.Aggregator, g GapRecord, out []market.Candle) []market.Candle {
	switch {
	case g.Kind == GapOutage && g.State == GapOpen:
		agg.OpenOutage(g.Pair, g.ID, g.FromTS, time.Time{}, 0)
	case g.Kind == GapStart && g.State == GapOpen:
		agg.OpenOutage(g.Pair, g.ID, g.FromTS, g.ToTS, g.Price)
	case (g.Kind == GapOutage && g.State == GapClosed) || (g.Kind == GapStart && g.State == GapRepaired):
		out = agg.ResolveOutage(g.Pair, g.ID, out)
	case g.Kind == GapStart && g.State == GapUnrepairable:
		agg.AbandonOutage(g.Pair, g.ID, g.ToTS)
	}
	return out
}
