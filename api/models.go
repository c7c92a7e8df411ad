package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
)

// promoteReason is recorded in the alias history of a promotion over HTTP.
const promoteReason = "promoted via API"

// series is one (pair, horizon) of the registry with its versions.
type seriesJSON struct {
	Pair       string          `json:"pair"`
	Horizon    int             `json:"horizon"`
	Champion   *int            `json:"champion"`
	Challenger *int            `json:"challenger"`
	Versions   []registry.Meta `json:"versions"`
}

// handleModels answers GET /v1/models (?pair, ?horizon): every series of
// the registry with its versions and their status.
func (s *Server) handleModels() echo.HandlerFunc {
	return func(c echo.Context) error {
		var pair string
		if raw := c.QueryParam("pair"); raw != "" {
			p, err := normalizePair(raw)
			if err != nil {
				return err
			}
			pair = p
		}
		h, err := intQuery(c, "horizon", 0, 1, maxHorizon)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		all, err := s.cfg.Registry.Series(ctx)
		if err != nil {
			return fmt.Errorf("list series: %w", err)
		}
		out := []seriesJSON{}
		for _, sr := range all {
			if (pair != "" && sr.Pair != pair) || (h != 0 && sr.Horizon != h) {
				continue
			}
			js, err := s.series(ctx, sr)
			if err != nil {
				return err
			}
			out = append(out, js)
		}
		return writeJSON(c, http.StatusOK, map[string]any{"models": out})
	}
}

func (s *Server) series(ctx context.Context, sr registry.Series) (seriesJSON, error) {
	a, err := s.cfg.Registry.Aliases(ctx, sr.Pair, sr.Horizon)
	if err != nil {
		return seriesJSON{}, fmt.Errorf("aliases of %s: %w", sr, err)
	}
	ms, err := s.cfg.Registry.List(ctx, sr.Pair, sr.Horizon)
	if err != nil {
		return seriesJSON{}, fmt.Errorf("versions of %s: %w", sr, err)
	}
	for i := range ms {
		ms[i] = metaJSON(ms[i])
	}
	js := seriesJSON{Pair: market.PairSlug(sr.Pair), Horizon: sr.Horizon, Versions: ms}
	if a.Champion != nil {
		js.Champion = &a.Champion.Version
	}
	if a.Challenger != nil {
		js.Challenger = &a.Challenger.Version
	}
	return js, nil
}

// metaJSON is m as the API shows it: the pair in URL spelling, like everywhere.
func metaJSON(m registry.Meta) registry.Meta {
	m.Pair = market.PairSlug(m.Pair)
	return m
}

// seriesQuery reads ?pair (required) and ?horizon (default 1) of the model routes.
func seriesQuery(c echo.Context) (string, int, error) {
	raw := c.QueryParam("pair")
	if raw == "" {
		return "", 0, market.Errorf(market.CodeInvalid, "pair is required, e.g. ?pair=ETH-USDT")
	}
	pair, err := normalizePair(raw)
	if err != nil {
		return "", 0, err
	}
	h, err := intQuery(c, "horizon", 1, 1, maxHorizon)
	return pair, h, err
}

// versionParam is the :version path parameter: a number (3, v3) or an
// alias (champion, challenger, latest).
func versionParam(c echo.Context) (string, error) {
	v, err := url.PathUnescape(c.Param("version"))
	if err != nil {
		return "", market.Errorf(market.CodeInvalid, "version: bad escape in %.40q", c.Param("version"))
	}
	return v, nil
}

// modelQuery is the series (?pair, ?horizon) and the :version of the
// /v1/models/:version routes.
func modelQuery(c echo.Context) (pair string, h int, ref string, err error) {
	if pair, h, err = seriesQuery(c); err != nil {
		return "", 0, "", err
	}
	ref, err = versionParam(c)
	return pair, h, ref, err
}

// handleModel answers GET /v1/models/:version (?pair, ?horizon).
func (s *Server) handleModel() echo.HandlerFunc {
	return func(c echo.Context) error {
		pair, h, ref, err := modelQuery(c)
		if err != nil {
			return err
		}
		m, err := s.cfg.Registry.Get(c.Request().Context(), pair, h, ref)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, metaJSON(m))
	}
}

// modelChange is the answer to promote and rollback.
type modelChange struct {
	Pair     string        `json:"pair"`
	Horizon  int           `json:"horizon"`
	Action   string        `json:"action"` // promote | rollback
	Previous int           `json:"previous"`
	Champion registry.Meta `json:"champion"`
}

// handlePromote answers POST /v1/models/:version/promote (admin): the
// version becomes champion and is served from the response on.
func (s *Server) handlePromote() echo.HandlerFunc {
	return func(c echo.Context) error {
		pair, h, ref, err := modelQuery(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		prev, err := s.cfg.Registry.Get(ctx, pair, h, registry.Champion)
		if err != nil {
			return err
		}
		m, err := s.cfg.Registry.Get(ctx, pair, h, ref)
		if err != nil {
			return err
		}
		if err := s.cfg.Registry.SetAlias(ctx, pair, h, registry.Champion, m.Version, promoteReason); err != nil {
			return err
		}
		s.log.Info("champion promoted", "pair", pair, "horizon", h, "from", prev.Version, "to", m.Version)
		return s.changed(c, "promote", pair, h, prev.Version)
	}
}

// handleRollback answers POST /v1/models/:version/rollback (admin): the
// champion, which must be :version (or :version is "champion"), goes back
// to the version that held the alias before it.
func (s *Server) handleRollback() echo.HandlerFunc {
	return func(c echo.Context) error {
		pair, h, ref, err := modelQuery(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		cur, err := s.cfg.Registry.Get(ctx, pair, h, registry.Champion)
		if err != nil {
			return err
		}
		if ref != registry.Champion {
			v, err := registry.ParseVersion(ref)
			if err != nil {
				return market.Errorf(market.CodeInvalid, "version %.40q: want champion or a version number such as v3", ref)
			}
			if v != cur.Version {
				return market.Errorf(market.CodeConflict, "v%d is not the champion of %s h%d (v%d is): nothing rolled back",
					v, market.PairSlug(pair), h, cur.Version)
			}
		}
		m, err := s.cfg.Registry.Rollback(ctx, pair, h, registry.Champion)
		if err != nil {
			return err
		}
		s.log.Info("champion rolled back", "pair", pair, "horizon", h, "from", cur.Version, "to", m.Version)
		return s.changed(c, "rollback", pair, h, cur.Version)
	}
}

// changed reloads the champions after an alias change and answers with the
// new champion.
func (s *Server) changed(c echo.Context, action, pair string, h, prev int) error {
	ctx := c.Request().Context()
	if err := s.cfg.Predictions.Refresh(ctx); err != nil {
		s.log.Error("reload champions after "+action, "pair", pair, "horizon", h, "err", err)
		return withReason(reasonReloadFailed, market.Errorf(market.CodeUnavailable,
			"the registry changed but the new champion could not be loaded yet: %v", err))
	}
	m, err := s.cfg.Registry.Get(ctx, pair, h, registry.Champion)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, modelChange{market.PairSlug(pair), h, action, prev, metaJSON(m)})
}
