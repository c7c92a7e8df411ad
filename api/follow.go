package api

import (
	"context"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
)

// Follow is predict.Service.Follow over the server's scorer, hub and
// clock. The API itself only serves HTTP: cmd calls predict's Follow; this
// delegate remains for callers that hold only the Server (dashboard's
// browser test), to be removed with them.
func (s *Server) Follow(ctx context.Context, rows <-chan market.FeatureRow) {
	s.cfg.Predictions.Follow(ctx, rows, predict.Pushes{Scores: s.cfg.Scores, Hub: s.cfg.Hub, Clock: s.cfg.Clock})
}
