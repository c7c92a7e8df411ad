package fakekraken

import (
	"fmt"
	"io"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/market"
)

// LoadTradesCSV reads real trades of pair, in time order, numbered firstID,
// firstID+1, ... as Kraken's per-pair trade_id would: the trade CSV formats
// of archive.ReadTradesCSV, which holds the reader. A missing side stays
// market.SideUnknown (the server infers one for the wire, see Server).
func LoadTradesCSV(r io.Reader, pair string, firstID int64) ([]market.Trade, error) {
	ts, err := archive.ReadTradesCSV(r, pair, firstID)
	if err != nil {
		return nil, fmt.Errorf("fakekraken: %w", err)
	}
	return ts, nil
}
