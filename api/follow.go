package api

import (
	"context"

	"github.com/tickcast/tickcast/market"
)

// Follow turns the feature rows of closing candles into pushes: each row
// scores the predictions it realises and moves the market clock; a warm
// row is predicted at every champion horizon of its pair, and each
// prediction is recorded and published to the stream. It returns when ctx
// is done or rows is closed.
func (s *Server) Follow(ctx context.Context, rows <-chan market.FeatureRow) {
	for {
		select {
		case <-ctx.Done():
			return
		case row, ok := <-rows:
			if !ok {
				return
			}
			s.follow(ctx, row)
		}
	}
}

func (s *Server) follow(ctx context.Context, row market.FeatureRow) {
	s.cfg.Scores.Observe(row)
	if s.cfg.Clock != nil {
		s.cfg.Clock.ObservePair(row.Pair, row.TS)
	}
	if !row.Warm {
		return
	}
	for _, h := range s.cfg.Predictions.Horizons(row.Pair) {
		p, err := s.cfg.Predictions.PredictRow(ctx, row, h)
		if err != nil {
			s.log.Debug("no push prediction", "pair", row.Pair, "horizon", h, "err", err)
			continue
		}
		s.cfg.Scores.Record(p)
		s.cfg.Hub.Publish(p)
	}
}
