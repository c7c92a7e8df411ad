package fakekraken

import (
	"io"

	"github.com/tickcast/tickcast/market"
)

// TradeSource yields one pair's trades in time order with increasing trade
// ids, one at a time, so that a replay never holds its whole file
// (Config.Sources). Next returns io.EOF after the last trade. A source that
// is also an io.Closer is closed by the Server when drained, when New
// fails, or at Close.
//
// Package archive has the file sources, one copy of each reader:
// archive.OpenTrades (a trade file row by row, or a candle file rebuilt
// into trades candle by candle; .gz transparently), archive.NewTradeReader
// (the rows of LoadTradesCSV's formats from any io.Reader) and
// archive.NewReconstructedTrades; here are NewSliceSource and
// NewReconstructSource, over memory.
type TradeSource interface {
	Next() (market.Trade, error)
}

// SliceSource serves trades from memory (tests, small replays).
type SliceSource struct {
	trades []market.Trade
	i      int
}

// NewSliceSource returns a source over trades; the slice is not copied.
func NewSliceSource(trades []market.Trade) *SliceSource { return &SliceSource{trades: trades} }

// Next implements TradeSource.
func (s *SliceSource) Next() (market.Trade, error) {
	if s.i >= len(s.trades) {
		return market.Trade{}, io.EOF
	}
	s.i++
	return s.trades[s.i-1], nil
}
