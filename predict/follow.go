package predict

import (
	"context"

	"github.com/tickcast/tickcast/market"
)

// Scores is told of every row Follow sees (it realises earlier
// predictions) and records every prediction Follow makes (*scoring.Scorer).
type Scores interface {
	Observe(row market.FeatureRow)
	Record(p Prediction)
}

// Publisher pushes a prediction to its subscribers (*stream.Hub).
type Publisher interface {
	Publish(p Prediction)
}

// Drift is told of every row Follow sees, after Scores (*driftwatch.Watcher).
type Drift interface {
	Observe(ctx context.Context, row market.FeatureRow)
}

// Pushes are where Follow sends what each row makes.
type Pushes struct {
	Scores Scores    // required
	Hub    Publisher // required
	// Clock, when predictions run on a market clock (replays), is moved by
	// every row; nil: the wall clock.
	Clock *MarketClock
	Drift Drift // nil: no drift detection
}

// Follow turns the feature rows of closing candles into pushes: each row
// is scored against the predictions it realises and moves the market
// clock; a warm row is predicted at every champion horizon of its pair,
// and each prediction is recorded and published. It returns when ctx is
// done or rows is closed.
func (s *Service) Follow(ctx context.Context, rows <-chan market.FeatureRow, to Pushes) {
	for {
		select {
		case <-ctx.Done():
			return
		case row, ok := <-rows:
			if !ok {
				return
			}
			s.follow(ctx, row, to)
		}
	}
}

func (s *Service) follow(ctx context.Context, row market.FeatureRow, to Pushes) {
	to.Scores.Observe(row)
	if to.Drift != nil {
		to.Drift.Observe(ctx, row)
	}
	if to.Clock != nil {
		to.Clock.ObservePair(row.Pair, row.TS)
	}
	if !row.Warm {
		return
	}
	for _, h := range s.Horizons(row.Pair) {
		p, err := s.PredictRow(ctx, row, h)
		if err != nil {
			s.log.Debug("no push prediction", "pair", row.Pair, "horizon", h, "err", err)
			continue
		}
		to.Scores.Record(p)
		to.Hub.Publish(p)
	}
}
