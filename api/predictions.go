package api

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/scoring"
	"github.com/tickcast/tickcast/wire"
)

// predictOptions reads ?allow_stale, ?product and the Cache-Control request header.
func predictOptions(c echo.Context) (predict.Options, error) {
	stale, err := boolQuery(c, "allow_stale")
	if err != nil {
		return predict.Options{}, err
	}
	product, err := productQuery(c)
	return predict.Options{AllowStale: stale, NoCache: noCache(c.Request()), Product: product}, err
}

// served records a prediction that is going out: to the scorer (which
// dedups) and to the cache metrics.
func (s *Server) served(p predict.Prediction) {
	s.cfg.Scores.Record(p)
	s.metrics.served(p.Cached)
}

// handlePrediction answers GET /v1/predictions/:pair (?horizon, ?product,
// ?allow_stale): the return forecast and, where their champions serve, the
// vol, quantiles and p_up of the same horizon. ?product=vol (quantiles,
// p_up) demands that product: 404 no_product, naming the products the
// horizon has and the horizons with that product, when it has none.
func (s *Server) handlePrediction() echo.HandlerFunc {
	return func(c echo.Context) error {
		h, err := intQuery(c, "horizon", 1, 1, maxHorizon)
		if err != nil {
			return err
		}
		o, err := predictOptions(c)
		if err != nil {
			return err
		}
		pair, err := url.PathUnescape(c.Param("pair"))
		if err != nil {
			return market.Errorf(market.CodeInvalid, "pair: bad escape in %.40q", c.Param("pair"))
		}
		// predict parses the pair itself, to tell an unknown pair from a malformed one.
		p, err := s.cfg.Predictions.Predict(c.Request().Context(), pair, h, o)
		if err != nil {
			return err
		}
		s.served(p)
		return writeJSON(c, http.StatusOK, p)
	}
}

type predictionError struct {
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

type predictionsResponse struct {
	Predictions []predict.Prediction `json:"predictions"`
	Errors      []predictionError    `json:"errors"`
}

// handlePredictionsAll answers GET /v1/predictions: every champion pair at
// ?horizon (absent: every champion horizon). A pair that cannot be
// predicted is listed under errors; the others are still served.
func (s *Server) handlePredictionsAll() echo.HandlerFunc {
	return func(c echo.Context) error {
		h, err := intQuery(c, "horizon", 0, 1, maxHorizon)
		if err != nil {
			return err
		}
		o, err := predictOptions(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		ps, errs := s.cfg.Predictions.PredictAll(ctx, h, o)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		out := predictionsResponse{Predictions: ps, Errors: make([]predictionError, 0, len(errs))}
		for _, p := range ps {
			s.served(p)
		}
		for _, err := range errs {
			out.Errors = append(out.Errors, s.pairError(c, err))
		}
		return writeJSON(c, http.StatusOK, out)
	}
}

// pairError is one failed pair of PredictAll, with the code and message
// it would have had on its own.
func (s *Server) pairError(c echo.Context, err error) predictionError {
	status, body, internal := s.classify(err, c)
	if internal {
		s.log.Error("predict", "status", status, "err", err)
	}
	out := predictionError{Error: body.Error, Message: body.Message}
	var pe *predict.PairError
	if errors.As(err, &pe) {
		out.Pair, out.Horizon = pe.Pair, pe.Horizon
	}
	return out
}

type historyResponse struct {
	Pair    string           `json:"pair"`
	Horizon int              `json:"horizon"`
	History []scoring.Scored `json:"history"`
}

// handleHistory answers GET /v1/predictions/:pair/history: the recent
// served predictions of a pair, oldest first, with their outcome once known.
func (s *Server) handleHistory() echo.HandlerFunc {
	return func(c echo.Context) error {
		pair, err := pairParam(c)
		if err != nil {
			return err
		}
		h, err := intQuery(c, "horizon", 1, 1, maxHorizon)
		if err != nil {
			return err
		}
		limit, err := intQuery(c, "limit", defaultHistory, 1, maxHistory)
		if err != nil {
			return err
		}
		hist := s.cfg.Scores.Recent(pair, h, limit)
		if hist == nil {
			hist = []scoring.Scored{}
		}
		return writeJSON(c, http.StatusOK, historyResponse{market.PairSlug(pair), h, hist})
	}
}

// handleCandles answers GET /v1/candles/:pair (?limit): recent candles,
// oldest first.
func (s *Server) handleCandles() echo.HandlerFunc {
	return func(c echo.Context) error {
		pair, err := pairParam(c)
		if err != nil {
			return err
		}
		limit, err := intQuery(c, "limit", defaultCandles, 1, maxCandles)
		if err != nil {
			return err
		}
		var cs []market.Candle
		if s.cfg.Candles != nil {
			cs = s.cfg.Candles.Recent(pair, limit)
		}
		slug := market.PairSlug(pair)
		// market's encoder writes non-finite numbers as null; encoding/json would fail on them.
		b := append(make([]byte, 0, 64+250*len(cs)), `{"pair":"`+slug+`","candles":[`...)
		for i, cd := range cs {
			if i > 0 {
				b = append(b, ',')
			}
			cd.Pair = slug
			b = wire.AppendJSON(b, cd)
		}
		return c.JSONBlob(http.StatusOK, append(b, "]}"...))
	}
}

type scoreJSON struct {
	Pair        string           `json:"pair"`
	Horizon     int              `json:"horizon"`
	Window      int              `json:"window"`
	N           int              `json:"n"`
	MAE         num              `json:"mae"`
	BaselineMAE num              `json:"baseline_mae"`
	Skill       num              `json:"skill"`
	Model       predict.ModelRef `json:"model"`
	UpdatedAt   time.Time        `json:"updated_at"`
	// Products are the vol, band and direction scores over the same
	// window, each beside its baseline (scoring.ProductScore).
	Products scoring.ProductScore `json:"products"`
	// Windows are the prequential scores over the last hour and day of
	// market time ("1h", "1d"), each product beside its baseline.
	Windows map[string]scoring.WindowScore `json:"windows"`
}

// handleScores answers GET /v1/scores: rolling MAE of the served
// predictions against the zero-return baseline, per pair and horizon, and
// the products' live scores beside their baselines, and the prequential
// windows (1 h, 1 d of market time).
func (s *Server) handleScores() echo.HandlerFunc {
	return func(c echo.Context) error {
		scores := s.cfg.Scores.Scores()
		out := make([]scoreJSON, 0, len(scores))
		for _, sc := range scores {
			out = append(out, scoreJSON{
				Pair: market.PairSlug(sc.Pair), Horizon: sc.Horizon, Window: sc.Window, N: sc.N,
				MAE: num(sc.MAE), BaselineMAE: num(sc.BaselineMAE), Skill: num(sc.Skill), Model: sc.Model,
				UpdatedAt: sc.UpdatedAt, Products: sc.Products, Windows: sc.Windows,
			})
		}
		slices.SortFunc(out, func(a, b scoreJSON) int {
			return cmp.Or(strings.Compare(a.Pair, b.Pair), cmp.Compare(a.Horizon, b.Horizon))
		})
		return writeJSON(c, http.StatusOK, map[string]any{"scores": out})
	}
}
